"""What a compiled ``SGD(lr=OneCycleLR(cycle_momentum=True))`` update reads and traces.

Prints, for this tree's package and (with ``--compare OLD``) another version's, imported
from OLD/jax_onecycle under another name as `bench_onecycle.py --compare` does: the States
the compiled update reads from the scheduler, the leaves of every State it touches, the
equations and inputs of its jaxpr (also with two parameter groups on the one scheduler), and
``scheduler.step()`` alone (median of 30 x 1,000 calls). Structural figures, not timings of
a training step:

    python benchmarks/inspect_sgd_update.py --compare OLD
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import brainstate
import jax
import jax.numpy as jnp
from bench_onecycle import load_version

import jax_onecycle as jo


def inspect(name: str, package) -> None:
    sched = package.OneCycleLR(max_lr=0.1, total_steps=100_000, cycle_momentum=True)
    opt = package.SGD(lr=sched, momentum=0.9)
    opt.register_trainable_weights({"w": brainstate.ParamState(jnp.ones(3))})
    update = brainstate.transform.StatefulFunction(lambda g: opt.update({"w": g}))
    jaxpr = update.get_jaxpr(jnp.ones(3))
    states = update.get_states(jnp.ones(3))
    rates = brainstate.transform.StatefulFunction(
        lambda: (sched.group_lr(0), sched.current_momentum())
    )
    # two parameter groups, both driven by one scheduler
    sched2 = package.OneCycleLR(max_lr=[0.1, 0.2], total_steps=100_000, cycle_momentum=True)
    two = package.SGD(lr=sched2, momentum=0.9)
    two.register_trainable_weights({"a": brainstate.ParamState(jnp.ones(3))})
    two.add_param_group({"b": brainstate.ParamState(jnp.ones(3))}, lr=sched2)
    both = brainstate.transform.StatefulFunction(lambda g: two.update({"a": g, "b": g}))
    two_eqns = len(both.get_jaxpr(jnp.ones(3)).eqns)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        for _ in range(1000):
            sched.step()
        times.append((time.perf_counter() - t0) / 1000)
    print(
        f"{name}: scheduler States read {len(rates.get_read_states())}, "
        f"States of the update {len(states)} with "
        f"{sum(len(jax.tree.leaves(s.value)) for s in states)} leaves, "
        f"jaxpr {len(jaxpr.eqns)} equations and {len(jaxpr.invars)} inputs "
        f"({two_eqns} equations with two groups), "
        f"step() alone {statistics.median(times) * 1e6:.2f} us"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", metavar="OLD", default=None, help="another version's tree")
    args = parser.parse_args(argv)
    inspect("this tree", jo)
    if args.compare is not None:
        inspect(f"--compare {args.compare}", load_version(args.compare))
    return 0


if __name__ == "__main__":
    sys.exit(main())
