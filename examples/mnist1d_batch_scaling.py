"""DeepSpeed's batch-scaling experiment on MNIST-1D: 8 data-parallel devices, 8x the batch.

DeepSpeed's 1-Cycle tutorial reports that with 8x the batch on 8 GPUs, 1-Cycle converges as
fast in samples as the tuned 1-GPU run, while the 1-GPU fixed rate needs far more samples and
the linearly scaled fixed rate (8x) diverges. This script runs the same four curves on
MNIST-1D with the residual CNN of ``mnist1d_study``:

  reference    batch B, fixed rate lr (the constant baseline's tuned rate);
  Fixed        batch 8B, rate lr;
  LinearScale  batch 8B, rate 8 lr;
  1-Cycle      batch 8B, ``onecycle_sgd`` with max_lr from an LR range test at batch 8B.

Data parallelism: a ``Mesh`` over the devices, each batch sharded along it, weights and
optimizer state replicated; each policy's update is one jitted function, compiled once and
reused for every seed (BatchNorm statistics are over the whole sharded batch). On a CPU
the 8 devices are simulated:
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` is set below before jax is imported;
on 8 accelerators the same code runs unchanged.

Run:  python examples/mnist1d_batch_scaling.py [--quick] [--json PATH] [--out DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P  # noqa: E402
from mnist1d_study import data as data_mod  # noqa: E402
from mnist1d_study.model import apply_cnn, init_cnn  # noqa: E402
from mnist1d_study.train import _xent  # noqa: E402

import jax_onecycle as jo  # noqa: E402

COLORS = {
    "reference": "black",
    "Fixed": "tab:gray",
    "LinearScale": "tab:purple",
    "1-Cycle": "tab:red",
}
WIDTHS, SHIFT, SCALE, WD = (16, 32), 4, 0.2, 5e-5


def make_step(mesh: Mesh, tx: optax.GradientTransformation):
    """One jitted update: batch sharded over ``mesh``'s "data" axis, the rest replicated."""
    rep, shard = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

    def loss_fn(params, stats, x, y):
        logits, new_stats = apply_cnn(params, stats, x, train=True)
        return _xent(logits, y), new_stats

    def step(params, stats, opt, x, y, key):
        x = data_mod.augment(key, x, SHIFT, SCALE)
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, stats, x, y)
        grads = jax.tree.map(lambda g, p: g + WD * p, grads, params)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), stats, opt, loss

    return jax.jit(
        step, in_shardings=(rep, rep, rep, shard, shard, rep), out_shardings=(rep, rep, rep, rep)
    )


def train_curve(mesh, tx, step, d, batch, samples, eval_every, seed):
    """Test accuracy after every ``eval_every`` samples; NaN once the loss is not finite."""
    rep = NamedSharding(mesh, P())
    shard = NamedSharding(mesh, P("data"))
    params, stats = init_cnn(jax.random.PRNGKey(seed), WIDTHS, 10)
    params, stats = jax.device_put((params, stats), rep)
    opt = jax.device_put(tx.init(params), rep)
    x_te, y_te = jnp.asarray(d["x_test"]), jnp.asarray(d["y_test"])
    evaluate = jax.jit(
        lambda p, s: jnp.mean(jnp.argmax(apply_cnn(p, s, x_te, False)[0], -1) == y_te)
    )
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed + 10_000)
    n, seen, curve, order = len(d["x_train"]), 0, [], np.array([], int)
    while seen < samples:
        if len(order) < batch:
            order = np.concatenate([order, rng.permutation(n)])
        idx, order = order[:batch], order[batch:]
        x = jax.device_put(d["x_train"][idx], shard)
        y = jax.device_put(d["y_train"][idx], shard)
        key, sub = jax.random.split(key)
        params, stats, opt, loss = step(params, stats, opt, x, y, sub)
        seen += batch
        if seen % eval_every == 0:
            ok = bool(jnp.isfinite(loss))
            curve.append(float(evaluate(params, stats)) if ok else float("nan"))
    return np.asarray(curve)


def samples_to_target(curve: np.ndarray, eval_every: int, target: float) -> int | None:
    """Samples seen at the first evaluation whose accuracy reaches ``target``; None if none."""
    hits = np.nonzero(np.nan_to_num(curve, nan=0.0) >= target)[0]
    return int((hits[0] + 1) * eval_every) if len(hits) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--lr",
        type=float,
        default=0.1,
        help="the 1x-batch fixed rate (default: the study's tuned constant)",
    )
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--out", default="examples/out")
    args = parser.parse_args()
    start = time.perf_counter()
    n_dev = len(jax.devices())
    mesh = Mesh(np.array(jax.devices()), ("data",))
    small = 128
    big = small * n_dev
    n_train, samples, seeds = (2048, 8 * big, 1) if args.quick else (16000, 96 * big, 3)
    eval_every = big
    d = data_mod.make_mnist1d(n_train, 0, 4000)
    print(
        f"{n_dev} {jax.devices()[0].platform} devices; batch {small} and {big}; "
        f"{n_train} training signals, {samples} samples per run, {seeds} seeds"
    )

    def range_batches(k):
        rng = np.random.default_rng(0)
        keys = jax.random.split(jax.random.PRNGKey(1), k)
        out = []
        for key in keys:
            idx = rng.integers(0, n_train, big)
            out.append(
                (
                    data_mod.augment(key, jnp.asarray(d["x_train"][idx]), SHIFT, SCALE),
                    jnp.asarray(d["y_train"][idx]),
                )
            )
        return out

    params, stats = init_cnn(jax.random.PRNGKey(0), WIDTHS, 10)
    finder = jo.lr_range_test(
        lambda p, b: _xent(apply_cnn(p, stats, b[0], True)[0], b[1]),
        params,
        range_batches(40 if args.quick else 100),
        init_lr=1e-4,
        final_lr=10.0,
        num_iter=40 if args.quick else 100,
        progress=False,
    )
    max_lr = 5.0 * float(finder.suggestions["minimum"])
    big_steps = samples // big
    policies = {
        "reference": (small, optax.sgd(args.lr, momentum=0.9)),
        "Fixed": (big, optax.sgd(args.lr, momentum=0.9)),
        "LinearScale": (big, optax.sgd(n_dev * args.lr, momentum=0.9)),
        "1-Cycle": (big, jo.onecycle_sgd(max_lr, big_steps)),
    }
    curves = {}
    for name, (batch, tx) in policies.items():
        step = make_step(mesh, tx)  # compiled on its first call, reused for every seed
        runs = [train_curve(mesh, tx, step, d, batch, samples, eval_every, s) for s in range(seeds)]
        curves[name] = np.stack(runs)
    means = {k: np.nanmean(v, 0) if np.isfinite(v).any() else v.mean(0) for k, v in curves.items()}
    target = float(means["reference"][-1]) - 0.01
    result = {
        "devices": n_dev,
        "batch_small": small,
        "batch_big": big,
        "lr": args.lr,
        "onecycle_max_lr": max_lr,
        "range_test": {k: float(v) for k, v in finder.suggestions.items()},
        "target": target,
        "samples_per_run": samples,
        "eval_every": eval_every,
        "seeds": seeds,
        "curves": {k: v.tolist() for k, v in curves.items()},
        "samples_to_target": {k: samples_to_target(means[k], eval_every, target) for k in curves},
    }
    print(
        f"LR range test at batch {big}: minimum {finder.suggestions['minimum']:.3g}; "
        f"1-Cycle max_lr {max_lr:.3g}; target = reference's final accuracy - 1 point "
        f"= {target:.4f}"
    )
    print(f"{'policy':>12} {'batch':>6} {'final acc':>10} {'samples to target':>18}")
    for k in curves:
        s2t = result["samples_to_target"][k]
        print(
            f"{k:>12} {policies[k][0]:>6} {means[k][-1]:>10.4f} "
            f"{s2t if s2t is not None else 'not reached':>18}"
        )
    if args.json:
        if os.path.dirname(args.json):
            os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    x = eval_every * np.arange(1, len(means["reference"]) + 1)
    for k, m in means.items():
        ax.plot(x, m, color=COLORS[k], label=f"{k}, batch {policies[k][0]}")
    ax.axhline(target, color="black", ls="--", lw=0.8, label="target")
    ax.set(
        xlabel="training samples seen",
        ylabel="test accuracy (fraction)",
        title=f"Batch scaling on {n_dev} devices (mean of {seeds} seeds)",
        ylim=(0, 1),
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(args.out, "mnist1d_batch_scaling.png")
    fig.savefig(path, dpi=100)
    print(f"wrote {path}  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
