"""Throughput of the study's training loop against ``jnp.dot`` on the same shapes.

The study (``examples/mnist1d_superconvergence.py``) trains every seed and grid point of a
policy and budget in one compiled program. This measures that program, ``R`` runs wide,
for a few epochs of MNIST-1D at the study's sizes (8,000 signals, batch 128, CNN widths 16
and 32), as seed-epochs per second and as achieved GFLOP/s by XLA's own count
(``compiled.cost_analysis()``), against ``jnp.dot`` on the matmul shapes of the two
convolutions (the im2col matmul of the stem and of the first block, ``R`` runs batched).

    python benchmarks/bench_study_throughput.py                 # R = 10, 3 rounds
    python benchmarks/bench_study_throughput.py --runs 5 --rounds 5
    python benchmarks/bench_study_throughput.py --study-dir OTHER/examples   # another version

Rounds interleave the loop and the dots; medians over rounds, and the paired ratio
(loop GFLOP/s / dot GFLOP/s in the same round).
"""

from __future__ import annotations

import argparse
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="R, runs side by side (vmap width)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--policy", default="step")
    parser.add_argument(
        "--study-dir", default=os.path.join(os.path.dirname(__file__), "..", "examples")
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.study_dir))
    from mnist1d_study import data as data_mod, train

    print(
        f"study code: {os.path.abspath(args.study_dir)}; {os.cpu_count()} CPU cores, jax {jax.__version__}"
    )
    d = data_mod.make_mnist1d(8000, 2000, 10000)
    arrays = tuple(
        jnp.asarray(d[k]) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
    )
    R, E, batch = args.runs, args.epochs, 128
    trainer = train.make_trainer(
        E, n_train=8000, batch=batch, widths=(16, 32), n_classes=10, shift=4, scale=0.2
    )
    seeds, lrs, wds = (
        jnp.arange(R, dtype=jnp.int32),
        jnp.full(R, 0.1, jnp.float32),
        jnp.full(R, 5e-4, jnp.float32),
    )
    policies = train.POLICIES
    if isinstance(policies, tuple) and len(policies) > 4:  # this version: one policy per call
        policy = jnp.asarray(policies.index(args.policy), jnp.int32)
    else:  # the first version: one policy per run
        policy = jnp.full(R, policies.index(args.policy), jnp.int32)
    call = (seeds, lrs, wds, policy, arrays, jnp.asarray(False))
    start = time.perf_counter()
    jax.block_until_ready(trainer(*call))
    compile_s = time.perf_counter() - start
    steps = 8000 // batch
    # XLA's count of the work: one training step (forward + backward of R runs on their
    # batches) and one validation pass, compiled alone; the loop runs steps x epochs of
    # the first and epochs of the second (the optimizer's few thousand parameters are
    # left out: under 1% of the count)
    from mnist1d_study.model import apply_cnn, init_cnn

    params, stats = jax.vmap(lambda k: init_cnn(k, (16, 32), 10))(
        jax.random.split(jax.random.PRNGKey(0), R)
    )
    xb, yb = jnp.zeros((R, batch, 40)), jnp.zeros((R, batch), jnp.int32)

    def loss(p, s, x, y):
        logits, new = apply_cnn(p, s, x, True)
        return train._xent(logits, y), new

    step = jax.jit(jax.vmap(jax.value_and_grad(loss, has_aux=True)))
    val = jax.jit(jax.vmap(lambda p, s, x: apply_cnn(p, s, x, False)[0], in_axes=(0, 0, None)))
    work = (
        flops_of(step, params, stats, xb, yb) * steps * E
        + flops_of(val, params, stats, arrays[2]) * E
    )
    print(
        f"compile + first call {compile_s:.1f} s; XLA's count of the work: {work / 1e9:.3g} GFLOP "
        f"({R} runs x {E} epochs x {steps} steps, and validation)"
    )
    key = jax.random.PRNGKey(0)
    shapes = {
        "stem (R, 128*20, 5) @ (R, 5, 16)": ((R, 128 * 20, 5), (R, 5, 16)),
        "block 1 (R, 128*20, 48) @ (R, 48, 16)": ((R, 128 * 20, 48), (R, 48, 16)),
    }
    dots = {}
    for name, (a_shape, b_shape) in shapes.items():
        a, b = jax.random.normal(key, a_shape), jax.random.normal(key, b_shape)

        def repeat(a, b):  # 50 dots in a loop, each depending on the last (no hoisting)
            def body(i, c):
                return c + jnp.matmul(a * c, b)[0, 0, 0] * 1e-30

            return jax.lax.fori_loop(0, 50, body, jnp.float32(1.0))

        dots[name] = (jax.jit(repeat), (a, b), 2.0 * np.prod(a_shape) * b_shape[-1] * 50)
    for fn, a, _ in dots.values():
        jax.block_until_ready(fn(*a))
    loop_times, dot_rates, ratios = [], {n: [] for n in dots}, []
    for _ in range(args.rounds):
        t = timed(trainer, *call)
        loop_times.append(t)
        for name, (fn, a, fl) in dots.items():
            dot_rates[name].append(fl / timed(fn, *a) / 1e9)
        ratios.append((work / t / 1e9) / statistics.mean(v[-1] for v in dot_rates.values()))
    t = statistics.median(loop_times)
    print(
        f"loop: {R} runs x {E} epochs in {t:.2f} s (median of {args.rounds}): "
        f"{R * E / t:.2f} seed-epochs/s, {1000 * t / (R * E):.0f} ms per seed-epoch, "
        f"{work / t / 1e9:.1f} GFLOP/s achieved (XLA's count)"
    )
    for name, rates in dot_rates.items():
        print(f"jnp.dot {name}: {statistics.median(rates):.1f} GFLOP/s")
    print(f"loop / mean of the two dots, paired per round: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
