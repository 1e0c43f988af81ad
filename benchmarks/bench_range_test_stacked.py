"""The stacked LR range test against the same runs swept one by one.

``lr_range_test(..., stacked=True)`` trains ``R`` runs (here: ``R`` initialisations, each
on its own batches) side by side in one compiled sweep. This times it for ``R = 8``
against 8 one-run sweeps of the same runs, on the study's residual 1D CNN (widths 16 and
32, BatchNorm, batch 128 of MNIST-1D signals), SGD momentum 0.9, 100 steps from 1e-4 to
10, the divergence stop switched off so that both do the same steps.

Each call is timed as a user meets it: ``lr_range_test`` compiles its sweep on every call,
so the one-by-one contender compiles 8 times and the stacked one once. Rounds interleave
the two (the order alternates); medians over rounds and the paired ratio (one-by-one /
stacked, both from the same round) are printed.

    python benchmarks/bench_range_test_stacked.py             # R = 8, 3 rounds
    python benchmarks/bench_range_test_stacked.py --runs 4 --rounds 5 --steps 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import jax
import numpy as np

import jax_onecycle as jo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))

from mnist1d_study import data as data_mod  # noqa: E402
from mnist1d_study.model import apply_cnn, init_cnn  # noqa: E402
from mnist1d_study.train import xent  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    R, n, batch = args.runs, args.steps, 128
    print(f"{os.cpu_count()} CPU cores, jax {jax.__version__}; R = {R} runs, {n} steps each")
    d = data_mod.make_mnist1d(4000, 10, 10)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(d["x_train"]), (n, R, batch))
    batches = [(d["x_train"][idx[i]], d["y_train"][idx[i]]) for i in range(n)]
    keys = jax.random.split(jax.random.PRNGKey(0), R)
    params, stats = jax.vmap(lambda k: init_cnn(k, (16, 32), 10))(keys)
    stat0 = jax.tree.map(lambda s: s[0], stats)

    def loss_fn(p, b):
        return xent(apply_cnn(p, stat0, b[0], True)[0], b[1])

    kw = dict(init_lr=1e-4, final_lr=10.0, num_iter=n, diverge_threshold=1e30, progress=False)

    def stacked():
        return jo.lr_range_test(loss_fn, params, batches, stacked=True, **kw)

    def one_by_one():
        return [
            jo.lr_range_test(
                loss_fn,
                jax.tree.map(lambda x: x[r], params),
                [(x[r], y[r]) for x, y in batches],
                **kw,
            )
            for r in range(R)
        ]

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    a, b = stacked(), one_by_one()  # warm-up; the results agree
    # up to the mean's smoothed minimum: past it the runs diverge, and float noise there
    # grows without bound (both forms are then equally right)
    steps = int(np.argmin(a.mean_smoothed_losses)) + 1
    gap = max(
        float(np.max(np.abs(a.losses[r, :steps] / b[r].losses[:steps] - 1.0))) for r in range(R)
    )
    print(
        f"both ran {a.lrs.size} steps; up to the smoothed minimum (step {steps}) the runs' "
        f"losses agree to a relative {gap:.1e}"
    )
    t_stacked, t_apart, ratios = [], [], []
    for k in range(args.rounds):
        if k % 2:
            t_a, t_s = timed(one_by_one), timed(stacked)
        else:
            t_s, t_a = timed(stacked), timed(one_by_one)
        t_stacked.append(t_s)
        t_apart.append(t_a)
        ratios.append(t_a / t_s)
    print(
        f"stacked, R = {R} in one sweep: median {statistics.median(t_stacked):.2f} s "
        f"(rounds: {', '.join(f'{t:.2f}' for t in t_stacked)})"
    )
    print(
        f"{R} one-run sweeps, one by one: median {statistics.median(t_apart):.2f} s "
        f"(rounds: {', '.join(f'{t:.2f}' for t in t_apart)})"
    )
    print(
        f"paired ratio one-by-one / stacked: median {statistics.median(ratios):.2f}x "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
