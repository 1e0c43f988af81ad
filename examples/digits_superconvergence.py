"""Super-convergence on real data: constant LR vs cosine annealing vs one-cycle.

Trains the same MLP on scikit-learn's handwritten digits (1,797 8x8 images, shipped with
scikit-learn) with three learning-rate policies, SGD with momentum 0.9 and weight decay
5e-4 throughout. The LR range test picks the rates: ``lr_min`` (a tenth of the rate at
the smoothed loss minimum, fastai's choice for a fixed rate) and, for one-cycle, a peak
five times higher (half the rate at the minimum), which its warm-up keeps stable:

  constant   lr_min, held;
  cosine     cosine annealing from lr_min to 0 (PyTorch's CosineAnnealingLR, per epoch);
  one-cycle  jax_onecycle.onecycle_sgd: warm-up to the peak and anneal,
             momentum cycled 0.95 -> 0.85 -> 0.95.

It first runs the LR range test to pick the rates, prints a fastai-style table per policy
(epoch, train loss, valid loss, accuracy) at equal epochs, then measures the
super-convergence claim: for each policy, the number of epochs it needs to reach the
constant-rate run's final validation accuracy (a policy with a schedule is re-run with
each budget of epochs up to a third of the constant run's, since its curve depends on
the budget), over several seeds.
Writes PNG plots of the learning-rate and momentum curves and of the loss curves, and the
data they are drawn from (``digits_plot_data.npz``: ``docs/make_plots.py --demo`` redraws
the docs' copies from it).

Every seed run is one compiled program (jax.lax.scan over epochs and batches, jax.vmap
over seeds). Run:  python examples/digits_superconvergence.py  [--data file.npz] [--quick]
where the optional .npz holds x_train, y_train, x_test, y_test (any sizes, flat features).
``--markdown PATH`` also writes the printed tables as Markdown (the docs' results page).
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo

MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
PEAK_OVER_LR_MIN = 5.0


# ---- data and model ---------------------------------------------------------------------
def load_data(path: str | None, seed: int = 0) -> dict[str, np.ndarray]:
    if path:
        with np.load(path) as f:
            data = {k: np.asarray(f[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    else:
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        order = np.random.default_rng(seed).permutation(len(x))
        x, y = x[order], y[order]
        cut = int(0.75 * len(x))
        data = {"x_train": x[:cut], "y_train": y[:cut], "x_test": x[cut:], "y_test": y[cut:]}
    flat = {k: v.reshape(len(v), -1).astype(np.float32) for k, v in data.items() if k[0] == "x"}
    mean, std = flat["x_train"].mean(0), flat["x_train"].std(0) + 1e-6
    return {
        "x_train": (flat["x_train"] - mean) / std, "x_test": (flat["x_test"] - mean) / std,
        "y_train": data["y_train"].astype(np.int32), "y_test": data["y_test"].astype(np.int32),
    }


def init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> list[dict[str, jax.Array]]:
    params = []
    for k, (fan_in, fan_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes, sizes[1:])):
        w = jax.random.normal(k, (fan_in, fan_out)) * jnp.sqrt(2.0 / fan_in)
        params.append({"w": w, "b": jnp.zeros(fan_out)})
    return params


def logits_fn(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, batch):
    x, y = batch
    logp = jax.nn.log_softmax(logits_fn(params, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


# ---- training: one compiled program per (policy, budget), vmapped over seeds -------------
def make_trainer(tx: optax.GradientTransformation, data, epochs: int, batch: int, sizes):
    x_tr, y_tr = jnp.asarray(data["x_train"]), jnp.asarray(data["y_train"])
    x_te, y_te = jnp.asarray(data["x_test"]), jnp.asarray(data["y_test"])
    n_batches = len(x_tr) // batch

    def run(seed):
        key_init, key_data = jax.random.split(jax.random.PRNGKey(seed))
        params = init_mlp(key_init, sizes)

        def epoch(carry, key):
            def step(carry, idx):
                params, state = carry
                loss, grads = jax.value_and_grad(loss_fn)(params, (x_tr[idx], y_tr[idx]))
                updates, state = tx.update(grads, state, params)
                return (optax.apply_updates(params, updates), state), loss

            order = jax.random.permutation(key, len(x_tr))[: n_batches * batch]
            carry, losses = jax.lax.scan(step, carry, order.reshape(n_batches, batch))
            params = carry[0]
            valid = loss_fn(params, (x_te, y_te))
            acc = jnp.mean(jnp.argmax(logits_fn(params, x_te), -1) == y_te)
            return carry, jnp.stack([jnp.mean(losses), valid, acc])

        keys = jax.random.split(key_data, epochs)
        _, history = jax.lax.scan(epoch, (params, tx.init(params)), keys)
        return history  # [epochs, 3]: train loss, valid loss, accuracy

    return jax.jit(jax.vmap(run)), n_batches


def policies(lr: float, epochs: int, steps_per_epoch: int):
    """The three optimizers, plus their learning-rate and momentum schedules (for plots)."""
    total, peak = epochs * steps_per_epoch, PEAK_OVER_LR_MIN * lr
    cosine = jo.cosine_annealing_schedule(lr, epochs, steps_per_epoch=steps_per_epoch)
    decay = optax.add_decayed_weights(WEIGHT_DECAY)

    def flat(value):
        return lambda s: jnp.full(jnp.shape(s), value, dtype=jnp.float32)

    return {
        "constant": (optax.chain(decay, optax.sgd(lr, momentum=MOMENTUM)), flat(lr),
                     flat(MOMENTUM)),
        "cosine": (optax.chain(decay, optax.sgd(cosine, momentum=MOMENTUM)), cosine,
                   flat(MOMENTUM)),
        "one-cycle": (jo.onecycle_sgd(peak, total, weight_decay=WEIGHT_DECAY),
                      jo.onecycle_schedule(peak, total), jo.onecycle_momentum_schedule(total)),
    }


# ---- the LR range test picks the rates ---------------------------------------------------
def pick_learning_rate(data, batch: int, sizes, num_iter: int, progress: bool = True):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(data["x_train"]), size=(num_iter, batch))
    batches = [(data["x_train"][i], data["y_train"][i]) for i in idx]
    result = jo.lr_range_test(loss_fn, init_mlp(jax.random.PRNGKey(0), sizes), batches,
                              init_lr=1e-4, final_lr=10.0, num_iter=num_iter, progress=progress)
    return result.suggestions["minimum"], result


def epochs_to_target(history: np.ndarray, target: float) -> float:
    """First epoch (1-based) whose accuracy reaches ``target``; inf if none."""
    hits = np.nonzero(history >= target - 1e-9)[0]
    return float(hits[0] + 1) if len(hits) else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help=".npz with x_train, y_train, x_test, y_test")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of the equal-epochs table")
    parser.add_argument("--baseline-epochs", type=int, default=18,
                        help="epochs of the constant-rate run that sets the target accuracy")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--out", default="examples/out")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke-test sizes (seconds): 1 epoch, a 3-epoch baseline, 1 seed, "
                        "hidden 64, a 30-step range test")
    parser.add_argument("--markdown", metavar="PATH",
                        help="also write the printed tables as Markdown to PATH")
    args = parser.parse_args()
    range_steps = 100
    if args.quick:
        args.epochs, args.baseline_epochs, args.seeds, args.hidden = 1, 3, 1, 64
        range_steps = 30
    start = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)

    data = load_data(args.data)
    n_classes = int(max(data["y_train"].max(), data["y_test"].max())) + 1
    sizes = (data["x_train"].shape[1], args.hidden, n_classes)
    print(f"data: {len(data['x_train'])} train / {len(data['x_test'])} test, "
          f"{sizes[0]} features, {n_classes} classes; MLP {sizes}; batch {args.batch}; "
          f"{jax.devices()[0].platform}")

    lr, finder = pick_learning_rate(data, args.batch, sizes, num_iter=range_steps,
                                    progress=not args.no_progress)
    print("LR range test: " + ", ".join(f"{k} {v:.3g}" for k, v in finder.suggestions.items())
          + f"; constant and cosine use {lr:.3g}, one-cycle peaks at {PEAK_OVER_LR_MIN * lr:.3g}")

    seeds = jnp.arange(args.seeds)
    steps_per_epoch = len(data["x_train"]) // args.batch
    most = max(args.epochs, args.baseline_epochs // 3)
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        progress = tqdm(total=2 + 2 * most, desc="training runs", unit="run")

    def train(name: str, epochs: int) -> np.ndarray:
        tx = policies(lr, epochs, steps_per_epoch)[name][0]
        history = np.asarray(make_trainer(tx, data, epochs, args.batch, sizes)[0](seeds))
        if progress:
            progress.update()
        return history  # [seeds, epochs, 3]

    # the constant run sets the target: each seed's final accuracy
    baseline = train("constant", args.baseline_epochs)
    targets = baseline[:, -1, 2]
    runs = {"constant": {args.epochs: train("constant", args.epochs)}}
    for name in ("cosine", "one-cycle"):  # each budget of epochs is its own schedule
        runs[name] = {budget: train(name, budget) for budget in range(1, most + 1)}
    if progress:
        progress.close()
    histories = {name: runs[name][args.epochs] for name in runs}
    to_target = {"constant": [epochs_to_target(baseline[s, :, 2], targets[s])
                              for s in range(args.seeds)]}
    for name in ("cosine", "one-cycle"):
        to_target[name] = [
            next((float(b) for b in sorted(runs[name])
                  if runs[name][b][s, -1, 2] >= targets[s] - 1e-9), float("inf"))
            for s in range(args.seeds)
        ]

    # ---- report ---------------------------------------------------------------------
    print(f"\nEqual epochs ({args.epochs}), mean over {args.seeds} seeds, lr {lr:.3g}:")
    for name, hist in histories.items():
        print(f"\n{name}\n{'epoch':>5} {'train_loss':>11} {'valid_loss':>11} {'accuracy':>9}")
        for e, (tl, vl, acc) in enumerate(hist.mean(0)):
            print(f"{e + 1:>5} {tl:>11.4f} {vl:>11.4f} {acc:>9.4f}")
    print(f"\nEpochs to reach the constant rate's final accuracy after {args.baseline_epochs} "
          f"epochs (per seed; mean target {targets.mean():.4f} +- {targets.std():.4f}; "
          f"'>{most}': not reached within {most} epochs):")
    print(f"{'policy':>10} {'mean':>6} {'std':>6}  per seed")
    for name, values in to_target.items():
        v = np.asarray(values, dtype=float)
        shown = [f"{x:g}" if np.isfinite(x) else f">{most}" for x in v]
        if np.isfinite(v).all():
            print(f"{name:>10} {v.mean():>6.2f} {v.std():>6.2f}  {shown}")
        else:
            print(f"{name:>10} {'>' + str(most):>6} {'':>6}  {shown}")
    one, const = np.asarray(to_target["one-cycle"]), np.asarray(to_target["constant"])
    if np.isfinite(one).all():
        ratio = one.mean() / const.mean()
        verdict = "met" if ratio <= 1 / 3 + 1e-9 else "not met"
        print(f"one-cycle needs {ratio:.2f}x the constant rate's epochs (goal <= 0.33: {verdict})")
    else:
        print(f"one-cycle did not reach the target within {most} epochs on every seed "
              f"(goal: a third of the constant rate's {const.mean():.1f} epochs: not met)")

    if args.markdown:
        write_markdown(args, data, sizes, finder, lr, histories, targets, to_target, most)
        print(f"wrote {args.markdown}")
    data_path = os.path.join(args.out, "digits_plot_data.npz")
    save_plot_data(data_path, lr, histories, steps_per_epoch, args.epochs, finder)
    paths = plot(args.out, lr, histories, steps_per_epoch, args.epochs, finder)
    print(f"wrote {', '.join(paths)} and {data_path}  ({time.perf_counter() - start:.0f} s)")


def write_markdown(args, data, sizes, finder, lr, histories, targets, to_target, most) -> None:
    """The tables printed above, as Markdown (same numbers, same rounding)."""
    flags = [f"--{k.replace('_', '-')} {v}" for k, v in sorted(vars(args).items())
             if k not in ("markdown", "no_progress", "out", "quick") and v is not None]
    lines = [
        f"<!-- written by examples/digits_superconvergence.py {' '.join(flags)} -->",
        f"Data: {len(data['x_train'])} train / {len(data['x_test'])} test images, "
        f"{sizes[0]} features; MLP {sizes}; batch {args.batch}; SGD momentum {MOMENTUM}, "
        f"weight decay {WEIGHT_DECAY:g}; {args.seeds} seeds; {jax.devices()[0].platform}.",
        "",
        "LR range test suggestions: "
        + ", ".join(f"{k} {v:.3g}" for k, v in finder.suggestions.items())
        + f". Constant and cosine use {lr:.3g}; one-cycle peaks at {PEAK_OVER_LR_MIN * lr:.3g}.",
        "",
        f"### Equal epochs ({args.epochs}), mean over {args.seeds} seeds",
    ]
    for name, hist in histories.items():
        lines += ["", f"**{name}**", "", "| epoch | train_loss | valid_loss | accuracy |",
                  "|---:|---:|---:|---:|"]
        lines += [f"| {e + 1} | {tl:.4f} | {vl:.4f} | {acc:.4f} |"
                  for e, (tl, vl, acc) in enumerate(hist.mean(0))]
    lines += [
        "",
        f"### Epochs to reach the constant rate's final accuracy after {args.baseline_epochs} "
        "epochs",
        "",
        f"Target (per seed): mean {targets.mean():.4f} +- {targets.std():.4f}; "
        f"`>{most}`: not reached within {most} epochs.",
        "",
        "| policy | mean | std | per seed |",
        "|---|---:|---:|---|",
    ]
    for name, values in to_target.items():
        v = np.asarray(values, dtype=float)
        shown = ", ".join(f"{x:g}" if np.isfinite(x) else f">{most}" for x in v)
        if np.isfinite(v).all():
            lines.append(f"| {name} | {v.mean():.2f} | {v.std():.2f} | {shown} |")
        else:
            lines.append(f"| {name} | >{most} | | {shown} |")
    one, const = np.asarray(to_target["one-cycle"]), np.asarray(to_target["constant"])
    lines.append("")
    if np.isfinite(one).all():
        ratio = one.mean() / const.mean()
        verdict = "met" if ratio <= 1 / 3 + 1e-9 else "not met"
        lines.append(f"One-cycle needs {ratio:.2f}x the constant rate's epochs "
                     f"(goal <= 0.33: {verdict}).")
    else:
        lines.append(f"One-cycle did not reach the target within {most} epochs on every seed "
                     f"(goal: a third of the constant rate's {const.mean():.1f} epochs: not met).")
    folder = os.path.dirname(args.markdown)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(args.markdown, "w") as f:
        f.write("\n".join(lines) + "\n")


# one colour per policy, in every figure (and in docs/img/, drawn by the same function)
COLORS = {"constant": "C0", "cosine": "C1", "one-cycle": "C2"}


def save_plot_data(path: str, lr: float, histories, steps_per_epoch: int, epochs: int,
                   finder) -> None:
    """Everything :func:`plot` draws, as one small ``.npz`` (docs/make_plots.py redraws it)."""
    np.savez(path, lr=lr, steps_per_epoch=steps_per_epoch, epochs=epochs,
             policies=np.array(list(histories)),
             histories=np.stack([histories[name] for name in histories]),
             finder_lrs=finder.lrs, finder_losses=finder.losses,
             finder_smoothed=finder.smoothed_losses,
             suggestion_names=np.array(list(finder.suggestions)),
             suggestion_values=np.array(list(finder.suggestions.values())))


def load_plot_data(path: str) -> dict:
    """The keyword arguments of :func:`plot` (all but ``out``), from :func:`save_plot_data`."""
    with np.load(path) as f:
        suggestions = dict(zip(f["suggestion_names"].tolist(),
                               f["suggestion_values"].tolist()))
        finder = jo.LRRangeTestResult(f["finder_lrs"], f["finder_losses"],
                                      f["finder_smoothed"], suggestions)
        return dict(lr=float(f["lr"]), histories=dict(zip(f["policies"].tolist(), f["histories"])),
                    steps_per_epoch=int(f["steps_per_epoch"]), epochs=int(f["epochs"]),
                    finder=finder)


def plot(out, lr, histories, steps_per_epoch, epochs, finder, dpi=100) -> list[str]:
    """Draw digits_schedules.png, digits_losses.png and digits_lr_range_test.png into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = [os.path.join(out, f"digits_{name}.png")
             for name in ("schedules", "losses", "lr_range_test")]
    steps = jnp.arange(epochs * steps_per_epoch)
    fig, (ax_lr, ax_mom) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, (_, lr_fn, mom_fn) in policies(lr, epochs, steps_per_epoch).items():
        # constant and cosine share momentum 0.9: constant is dashed on top, so both show
        style = dict(ls="--", lw=2, zorder=3) if name == "constant" else dict(lw=2.5)
        ax_lr.plot(steps, lr_fn(steps), color=COLORS[name], label=name, **style)
        ax_mom.plot(steps, mom_fn(steps), color=COLORS[name], label=name, **style)
    ax_lr.set(title=f"learning rate ({epochs} epochs of {steps_per_epoch} steps)",
              xlabel="step (update)", ylabel="learning rate")
    ax_mom.set(title="momentum (SGD)", xlabel="step (update)", ylabel="momentum")
    ax_mom.set_ylim(0.83, 0.97)
    ax_lr.legend()
    ax_mom.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(paths[0], dpi=dpi)
    plt.close(fig)

    n_seeds = next(iter(histories.values())).shape[0]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, hist in histories.items():
        epochs_axis = np.arange(1, hist.shape[1] + 1)
        mean = hist.mean(0)
        ax_loss.plot(epochs_axis, mean[:, 0], "--", color=COLORS[name], label=f"{name} (train)")
        ax_loss.plot(epochs_axis, mean[:, 1], "-", color=COLORS[name], marker="o", ms=4,
                     label=f"{name} (validation)")
        ax_acc.plot(epochs_axis, mean[:, 2], "-", color=COLORS[name], marker="o", ms=4,
                    label=name)
    ax_loss.set(title=f"loss, mean over {n_seeds} seeds", xlabel="epoch",
                ylabel="cross-entropy (log scale)", yscale="log")
    ax_acc.set(title=f"validation accuracy, mean over {n_seeds} seeds", xlabel="epoch",
               ylabel="accuracy (fraction correct)")
    ax_loss.legend(fontsize=9, ncol=2)
    ax_acc.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=dpi)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.2))
    finder.plot(ax=ax)
    ax.set_title("LR range test (MLP on digits, SGD momentum 0.9)")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=dpi)
    plt.close(fig)
    return paths


if __name__ == "__main__":
    main()
