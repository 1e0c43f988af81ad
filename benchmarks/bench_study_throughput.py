"""Throughput of the study's training loop against ``jnp.dot`` on the same shapes.

The study (``examples/mnist1d_superconvergence.py``) trains every seed and grid point of a
policy and budget in one compiled program. This measures that program, ``R`` runs wide,
for a few epochs of MNIST-1D at the study's sizes (8,000 signals, batch 128, CNN widths 16
and 32), as seed-epochs per second and as achieved GFLOP/s by XLA's own count
(``compiled.cost_analysis()``), against ``jnp.dot`` on the matmul shapes of the two
convolutions (the im2col matmul of the stem and of the first block, ``R`` runs batched).

    python benchmarks/bench_study_throughput.py                 # R = 10, 3 rounds
    python benchmarks/bench_study_throughput.py --runs 5 --rounds 5
    python benchmarks/bench_study_throughput.py --compare OLD/examples   # against another version

Rounds interleave the loops (this version, and with ``--compare`` another version's
``examples/`` folder) and the dots; medians over rounds, the paired ratio of each loop's
GFLOP/s to the dots' in the same round, and the paired ratio of the two loops' times.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np


def flops_of(fn, *args) -> float:
    cost = fn.lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost.get("flops", float("nan")))


def timed(fn, *args) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def load_study(folder: str, alias: str):
    """The ``mnist1d_study`` package under ``folder``, imported as ``alias`` (two can coexist)."""
    init = os.path.join(os.path.abspath(folder), "mnist1d_study", "__init__.py")
    spec = importlib.util.spec_from_file_location(
        alias, init, submodule_search_locations=[os.path.dirname(init)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return (
        importlib.import_module(f"{alias}.data"),
        importlib.import_module(f"{alias}.model"),
        importlib.import_module(f"{alias}.train"),
    )


def contender(folder: str, alias: str, R: int, E: int, policy: str, arrays) -> dict:
    """The compiled loop of one version of the study, its call, and XLA's count of its work."""
    _, model, train = load_study(folder, alias)
    batch, steps = 128, 8000 // 128
    trainer = train.make_trainer(
        E, n_train=8000, batch=batch, widths=(16, 32), n_classes=10, shift=4, scale=0.2
    )
    seeds = jnp.arange(R, dtype=jnp.int32)
    lrs, wds = jnp.full(R, 0.1, jnp.float32), jnp.full(R, 5e-4, jnp.float32)
    if len(train.POLICIES) > 4:  # this version: one policy per call
        code = jnp.asarray(train.POLICIES.index(policy), jnp.int32)
    else:  # the first version: one policy per run
        code = jnp.full(R, train.POLICIES.index(policy), jnp.int32)
    call = (seeds, lrs, wds, code, arrays, jnp.asarray(False))
    start = time.perf_counter()
    jax.block_until_ready(trainer(*call))
    compile_s = time.perf_counter() - start
    # XLA's count of the work: one training step (forward + backward of R runs) and one
    # validation pass, compiled alone; the loop runs steps x epochs of the first, and the
    # second after every epoch (the first version) or after the last one only (this one);
    # the optimizers' few thousand parameters are left out (under 1%)
    keys = jax.random.split(jax.random.PRNGKey(0), R)
    params, stats = jax.vmap(lambda k: model.init_cnn(k, (16, 32), 10))(keys)
    xb, yb = jnp.zeros((R, batch, 40)), jnp.zeros((R, batch), jnp.int32)

    def loss(p, s, x, y):
        logits, new = model.apply_cnn(p, s, x, True)
        return train._xent(logits, y), new

    step = jax.jit(jax.vmap(jax.value_and_grad(loss, has_aux=True)))
    val = jax.jit(
        jax.vmap(lambda p, s, x: model.apply_cnn(p, s, x, False)[0], in_axes=(0, 0, None))
    )
    work = flops_of(step, params, stats, xb, yb) * steps * E
    val_passes = 1 if len(train.POLICIES) > 4 else E
    work += flops_of(val, params, stats, arrays[2]) * val_passes
    return {"fn": trainer, "call": call, "work": work, "compile_s": compile_s}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="R, runs side by side (vmap width)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--policy", default="step")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
    parser.add_argument("--compare", metavar="DIR", help="another version's examples/ folder")
    args = parser.parse_args(argv)
    R, E = args.runs, args.epochs
    print(f"{os.cpu_count()} CPU cores, jax {jax.__version__}; R = {R} runs x {E} epochs")
    data_mod, _, _ = load_study(here, "study_now")
    d = data_mod.make_mnist1d(8000, 2000, 10000)
    keys = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
    arrays = tuple(jnp.asarray(d[k]) for k in keys)
    loops = {"this version": contender(here, "study_now", R, E, args.policy, arrays)}
    if args.compare:
        loops["--compare"] = contender(args.compare, "study_then", R, E, args.policy, arrays)
    for name, c in loops.items():
        print(
            f"{name}: compile + first call {c['compile_s']:.1f} s; XLA's count of the work "
            f"{c['work'] / 1e9:.3g} GFLOP"
        )
    shapes = {  # the im2col matmuls of the stem and of the first block, R runs batched
        "stem (R, 128*20, 5) @ (R, 5, 16)": ((R, 128 * 20, 5), (R, 5, 16)),
        "block 1 (R, 128*20, 48) @ (R, 48, 16)": ((R, 128 * 20, 48), (R, 48, 16)),
    }
    dots = {}
    for name, (a_shape, b_shape) in shapes.items():
        a = jax.random.normal(jax.random.PRNGKey(1), a_shape)
        b = jax.random.normal(jax.random.PRNGKey(2), b_shape)

        def repeat(a, b):  # 50 dots in a loop, each depending on the last (no hoisting)
            def body(i, c):
                return c + jnp.matmul(a, b * c).sum() * 1e-30  # b is small: c costs nothing

            return jax.lax.fori_loop(0, 50, body, jnp.float32(1.0))

        dots[name] = (jax.jit(repeat), (a, b), 2.0 * np.prod(a_shape) * b_shape[-1] * 50)
        jax.block_until_ready(dots[name][0](a, b))
    times = {n: [] for n in loops}
    rates = {n: [] for n in dots}
    ratios = {n: [] for n in loops}
    for k in range(args.rounds):
        order = list(loops)[k % len(loops) :] + list(loops)[: k % len(loops)]
        for name in order:
            times[name].append(timed(loops[name]["fn"], *loops[name]["call"]))
        for name, (fn, a, fl) in dots.items():
            rates[name].append(fl / timed(fn, *a) / 1e9)
        dot_now = statistics.mean(v[-1] for v in rates.values())
        for name in loops:
            ratios[name].append(loops[name]["work"] / times[name][-1] / 1e9 / dot_now)
    for name, ts in times.items():
        t = statistics.median(ts)
        print(
            f"{name}: {R * E / t:.2f} seed-epochs/s ({1000 * t / (R * E):.0f} ms per "
            f"seed-epoch), {loops[name]['work'] / t / 1e9:.1f} GFLOP/s by XLA's count; "
            f"that / the dots' mean, paired per round: {statistics.median(ratios[name]):.3f}"
        )
    for name, r in rates.items():
        print(f"jnp.dot {name}: {statistics.median(r):.1f} GFLOP/s")
    if args.compare:
        paired = [b / a for a, b in zip(times["this version"], times["--compare"])]
        print(
            f"--compare / this version, time per seed-epoch, paired per round: "
            f"{statistics.median(paired):.2f}x (rounds: "
            + ", ".join(f"{p:.2f}" for p in paired)
            + ")"
        )


if __name__ == "__main__":
    main()
