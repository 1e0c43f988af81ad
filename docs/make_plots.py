"""Draw the documentation's figures into ``docs/img/`` (run from the repository root).

    python docs/make_plots.py                         # all figures
    python docs/make_plots.py --only digits lr_range_test   # some of them
    python docs/make_plots.py --demo examples/out     # take the digits demo's new run first

The digits figures are drawn by the demo's own ``plot`` function from the data of its last
run, kept in ``docs/img/digits_plot_data.npz`` (``--demo DIR`` copies it from the run's
``DIR/digits_plot_data.npz``); ``tests/test_examples.py`` checks that every committed
``digits_*.png`` and ``lr_range_test.png`` is what this script draws today.

Each reference library (torch, braintools, fastai, DeepSpeed, transformers) is drawn
dotted over our curve when it is importable, and skipped otherwise; the figures say which.
The PNGs are written at 80 dpi so that they can be committed. Nothing in ``docs/img/`` is
drawn by hand: re-run this script after changing a schedule. The study's figures
(``study_*``) are drawn by ``docs/make_study_results.py`` from the committed JSON of its runs,
``mnist1d_batch_scaling.png`` by ``examples/mnist1d_batch_scaling.py``, the composition
gallery by ``docs/make_compose_plot.py`` (``docs/results.md`` gives the commands).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import warnings

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax

import jax_onecycle as jo

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMG = os.path.join(ROOT, "docs", "img")
DPI = 80
CONVENTIONS = ("braintools", "torch", "fastai", "optax")


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _save(fig, name: str, folder: str = IMG) -> None:
    fig.tight_layout()
    path = os.path.join(folder, name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"wrote {os.path.relpath(path, ROOT)}")


# ---- the references, at the same parameters as ours ----------------------------------------
# Each returns (learning rates, momenta or None) used by updates 0..T-1, or None if the
# library is not importable.
def torch_reference(max_lr, total, pct, anneal="cos"):
    if not _available("torch"):
        return None
    import torch

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=max_lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total,
                                                pct_start=pct, anneal_strategy=anneal)
    lrs, moms = [], []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    return lrs, moms


def braintools_reference(max_lr, total, pct, anneal="cos"):
    if not _available("braintools"):
        return None
    import braintools

    sched = braintools.optim.OneCycleLR(max_lr, total, pct_start=pct, anneal_strategy=anneal)
    lrs = []
    for _ in range(total):
        lrs.append(float(sched.get_lr()[0]))
        sched.step()
    return lrs, None  # braintools does not cycle the momentum


def fastai_reference(max_lr, total, pct, anneal="cos"):
    if not _available("fastai"):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastai.callback.schedule import combined_cos

    # Learner.fit_one_cycle(lr_max, div=25, div_final=1e4 here, pct_start, moms=(.95,.85,.95))
    # evaluates its schedules at pos = i / T before batch i (ParamScheduler.before_batch).
    lr = combined_cos(pct, max_lr / 25.0, max_lr, max_lr / 1e4)
    mom = combined_cos(pct, 0.95, 0.85, 0.95)
    return [float(lr(i / total)) for i in range(total)], [float(mom(i / total))
                                                          for i in range(total)]


def optax_reference(max_lr, total, pct, anneal="cos"):
    sched = optax.cosine_onecycle_schedule(total, max_lr, pct, 25.0, 1e4)
    return [float(v) for v in jax.vmap(sched)(jnp.arange(total))], None


REFERENCES = {
    "braintools": ("braintools.optim.OneCycleLR", braintools_reference),
    "torch": ("torch OneCycleLR", torch_reference),
    "fastai": ("fastai fit_one_cycle", fastai_reference),
    "optax": ("optax.cosine_onecycle_schedule", optax_reference),
}


def convention_figures() -> None:
    """One figure per convention: T=100 (pct_start 0.3) and T=10 (pct_start 0.25)."""
    for convention in CONVENTIONS:
        label, reference = REFERENCES[convention]
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
        for ax, (total, pct) in zip(axes, ((100, 0.3), (10, 0.25))):
            steps = np.arange(total + 3)
            ours = jo.onecycle_schedule(0.1, total, pct_start=pct, convention=convention)
            marker = "o" if total <= 20 else None
            ax.plot(steps, ours(jnp.asarray(steps)), lw=2.2, marker=marker, ms=5,
                    label=f'onecycle_schedule(convention="{convention}")')
            ref = reference(0.1, total, pct)
            if ref is not None:
                ax.plot(np.arange(total), ref[0], ":", lw=2, color="C1",
                        marker="x" if marker else None, ms=7, label=label)
            else:
                ax.text(0.5, 0.5, f"{label}: not importable", transform=ax.transAxes,
                        ha="center")
            ax.axvline(total - 1, color="0.8", lw=1)
            ax.set(title=f"T={total}, pct_start={pct}, max_lr=0.1", xlabel="step (update)",
                   ylabel="learning rate")
            ax.legend(fontsize=8)
        _save(fig, f"convention_{convention}.png")

    # all conventions together, where they differ most: a short cycle
    fig, ax = plt.subplots(figsize=(7, 3.5))
    steps = np.arange(13)
    for convention in CONVENTIONS:
        sched = jo.onecycle_schedule(0.1, 10, pct_start=0.25, convention=convention)
        ax.plot(steps, sched(jnp.asarray(steps)), marker="o", ms=4, label=convention)
    ax.axvline(9, color="0.8", lw=1)
    ax.set(title="onecycle_schedule(0.1, total_steps=10, pct_start=0.25, convention=...)",
           xlabel="step (update)", ylabel="learning rate")
    ax.legend()
    _save(fig, "conventions_compared.png")


def momentum_figure() -> None:
    """onecycle_momentum_schedule per convention, with torch's and fastai's momenta."""
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2), sharey=True)
    total, pct = 100, 0.3
    steps = np.arange(total + 3)
    for ax, convention in zip(axes, CONVENTIONS):
        mom = jo.onecycle_momentum_schedule(total, pct_start=pct, convention=convention)
        ax.plot(steps, mom(jnp.asarray(steps)), lw=2.2, label="jax_onecycle")
        label, reference = REFERENCES[convention]
        ref = reference(0.1, total, pct)
        if ref is not None and ref[1] is not None:
            ax.plot(np.arange(total), ref[1], ":", lw=2, color="C1", label=label)
        else:
            ax.text(0.5, 0.55, f"{label}\nhas no momentum cycle:\nours only",
                    transform=ax.transAxes, ha="center", fontsize=8, color="0.4")
        ax.set(title=f'convention="{convention}"', xlabel="step (update)")
        ax.legend(fontsize=8, loc="upper right")
    axes[0].set_ylabel("momentum")
    _save(fig, "momentum.png")


def deepspeed_figure() -> None:
    """deepspeed_onecycle_schedule / _momentum_schedule against DeepSpeed's OneCycle."""
    configs = [
        ("continuous, decay", dict(cycle_first_step_size=40, cycle_second_step_size=60,
                                   decay_step_size=10, decay_lr_rate=0.2,
                                   decay_mom_rate=0.002)),
        ("stairs 4 / 3, no decay", dict(cycle_first_step_size=40, cycle_second_step_size=60,
                                        cycle_first_stair_count=4,
                                        cycle_second_stair_count=3)),
    ]
    have_ds = _available("torch") and _available("deepspeed")
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.3))
    n = 140
    steps = np.arange(n)
    for i, (name, kw) in enumerate(configs):
        lr_kw = {k: v for k, v in kw.items() if k != "decay_mom_rate"}
        mom_kw = {k: v for k, v in kw.items() if k != "decay_lr_rate"}
        lr = jo.deepspeed_onecycle_schedule(0.01, 0.1, **lr_kw)
        axes[i].plot(steps, lr(jnp.asarray(steps)), lw=2.2, label="jax_onecycle")
        if i == 0:
            mom = jo.deepspeed_onecycle_momentum_schedule(**mom_kw)
            axes[2].plot(steps, mom(jnp.asarray(steps)), lw=2.2, label="jax_onecycle")
        if have_ds:
            lrs, moms = _deepspeed_run(n, cycle_min_lr=0.01, cycle_max_lr=0.1, **kw)
            axes[i].plot(steps, lrs, ":", lw=2, color="C1", label="DeepSpeed OneCycle")
            if i == 0:
                axes[2].plot(steps, moms, ":", lw=2, color="C1", label="DeepSpeed OneCycle")
        axes[i].set(title=f"learning rate ({name})", xlabel="step (update)")
    axes[2].set(title="momentum (continuous, decay_mom_rate=0.002)", xlabel="step (update)")
    for ax in axes:
        ax.legend(fontsize=8)
    _save(fig, "deepspeed.png")


def _deepspeed_run(n, **kwargs):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from deepspeed.runtime.lr_schedules import OneCycle

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=kwargs["cycle_max_lr"])
    sched = OneCycle(opt, cycle_momentum=True, **kwargs)
    lrs, moms = [], []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["betas"][0])
        param.grad = torch.zeros(1)
        opt.step()
        sched.step()
    return lrs, moms


def family_figure() -> None:
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import scheduler_gallery

    scheduler_gallery.make_figure(os.path.join(IMG, "family_gallery.png"), 10, dpi=DPI,
                                  verbose=False)
    print("wrote docs/img/family_gallery.png")


def porting_figure() -> None:
    """The curves of docs/porting.md: the rest of PyTorch's family, DeepSpeed and HF names."""
    tls = torch = lr_schedules = transformers = None
    if _available("torch"):
        import torch
        from torch.optim import lr_scheduler as tls
    if torch is not None and _available("deepspeed"):
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
        from deepspeed.runtime import lr_schedules
    if torch is not None and _available("transformers"):
        import transformers

    def run(make, n, every=1):  # the lr each update uses; an epoch scheduler steps every `every`
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        sched, out = make(opt), []
        for k in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if (k + 1) % every == 0:
                sched.step()
        return out

    def ds(kind, **params):  # a DeepSpeed config and the reference scheduler it builds
        config = {"optimizer": {"params": {"lr": 0.1}},
                  "scheduler": {"type": kind, "params": params}}
        ref = lr_schedules and (lambda o: getattr(lr_schedules, kind)(o, **params))
        return jo.from_deepspeed_config(config).learning_rate, "DeepSpeed", ref

    def hf(name, **extra):  # a transformers name, 10 warmup steps of 80
        steps = dict(num_warmup_steps=10, num_training_steps=80)
        ref = transformers and (lambda o: transformers.get_scheduler(
            name, o, **steps, scheduler_specific_kwargs=extra))
        return jo.get_schedule(name, 0.1, **steps, scheduler_specific_kwargs=extra), \
            "transformers", ref

    def pt(cls, ours, *args):  # a torch class stepped per epoch of 10 batches (CyclicLR: 1)
        ref = tls and (lambda o: getattr(tls, cls)(o, *args))
        return ours, "PyTorch", ref

    spe = dict(steps_per_epoch=10)
    panels = [  # (title, (ours, reference label, torch optimizer -> reference scheduler))
        ("ExponentialLR(gamma=0.8), 10 steps/epoch",
         pt("ExponentialLR", jo.exponential_schedule(0.1, 0.8, **spe), 0.8)),
        ("PolynomialLR(total_iters=6, power=2)",
         pt("PolynomialLR", jo.polynomial_schedule(0.1, 6, 2.0, **spe), 6, 2.0)),
        ("LinearLR(0.25 -> 1, 4 epochs)",
         pt("LinearLR", jo.linear_lr_schedule(0.1, 0.25, 1.0, 4, **spe), 0.25, 1.0, 4)),
        ("ConstantLR(factor=1/3, 3 epochs)",
         pt("ConstantLR", jo.constant_lr_schedule(0.1, 1 / 3, 3, **spe), 1 / 3, 3)),
        ("CyclicLR triangular2 (up 10, down 20)",
         pt("CyclicLR", jo.cyclic_schedule(0.01, 0.1, 10, 20, "triangular2"), 0.01, 0.1, 10,
            20, "triangular2")),
        ("DeepSpeed WarmupDecayLR (log warmup)",
         ds("WarmupDecayLR", total_num_steps=70, warmup_num_steps=15, warmup_max_lr=0.1)),
        ("DeepSpeed WarmupCosineLR (linear warmup)",
         ds("WarmupCosineLR", total_num_steps=70, warmup_num_steps=15, warmup_type="linear",
            cos_min_ratio=0.1)),
        ("HF 'cosine_with_restarts' (3 cycles)", hf("cosine_with_restarts", num_cycles=3)),
        ("HF 'polynomial' (power 2)", hf("polynomial", power=2.0, lr_end=0.01)),
        ("HF 'inverse_sqrt'", hf("inverse_sqrt")),
    ]
    n = 90
    fig, axes = plt.subplots(2, 5, figsize=(17, 6.4), sharex=True)
    for ax, (title, (ours, label, make)) in zip(axes.flat, panels):
        ax.plot(np.arange(n), ours(jnp.arange(n)), lw=2.2, color="C0", label="jax_onecycle")
        every = 10 if label == "PyTorch" and "CyclicLR" not in title else 1
        if make:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax.plot(np.arange(n), run(make, n, every), ":", lw=2, color="C1", label=label)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("step (optimizer update)")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    fig.suptitle("Porting: the rest of the family, DeepSpeed configs, Hugging Face names "
                 "(dotted: the reference, where importable)")
    _save(fig, "porting_gallery.png")


def lr_range_test_figure(folder: str = IMG) -> None:
    """The LR range test of the digits demo's MLP (optax form)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    idx = np.random.default_rng(0).integers(0, len(x), size=(100, 32))
    batches = [(x[i], y[i]) for i in idx]
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    params = [{"w": jax.random.normal(k1, (64, 256)) * jnp.sqrt(2 / 64), "b": jnp.zeros(256)},
              {"w": jax.random.normal(k2, (256, 10)) * jnp.sqrt(2 / 256), "b": jnp.zeros(10)}]

    def loss_fn(params, batch):
        xb, yb = batch
        h = jax.nn.relu(xb @ params[0]["w"] + params[0]["b"])
        logits = h @ params[1]["w"] + params[1]["b"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    result = jo.lr_range_test(loss_fn, params, batches, init_lr=1e-4, final_lr=10.0,
                              num_iter=100, progress=False)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    result.plot(ax=ax)  # frames the sweep up to the smoothed minimum, the divergence clipped
    ax.set_title("lr_range_test on digits (MLP 64-256-10, SGD momentum 0.9)")
    _save(fig, "lr_range_test.png", folder)
    print("  suggestions: " + ", ".join(f"{k} {v:.3g}" for k, v in result.suggestions.items()))


DIGITS_DATA = os.path.join(IMG, "digits_plot_data.npz")


def copy_demo(folder: str) -> None:
    """Take the plot data of the digits demo's run in ``folder`` (its ``--out``)."""
    data = os.path.join(folder, "digits_plot_data.npz")
    if not os.path.isfile(data):
        raise SystemExit(f"no {data}: run examples/digits_superconvergence.py --out {folder}")
    shutil.copy(data, DIGITS_DATA)
    print(f"copied {os.path.relpath(data, ROOT)} -> docs/img/")


def digits_figures(folder: str = IMG) -> None:
    """digits_{schedules,losses,lr_range_test}.png, drawn by the demo from its last run's data."""
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import digits_superconvergence as demo

    for path in demo.plot(folder, dpi=DPI, **demo.load_plot_data(DIGITS_DATA)):
        print(f"wrote {os.path.relpath(path, ROOT)}")


FIGURES = {
    "conventions": convention_figures,
    "momentum": momentum_figure,
    "deepspeed": deepspeed_figure,
    "family": family_figure,
    "porting": porting_figure,
    "lr_range_test": lr_range_test_figure,
    "digits": digits_figures,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo", metavar="DIR",
                        help="first copy DIR/digits_plot_data.npz (the digits demo's last run, "
                        "its --out) into docs/img/")
    parser.add_argument("--only", nargs="+", choices=sorted(FIGURES), metavar="NAME",
                        help=f"draw only these figures ({', '.join(FIGURES)})")
    args = parser.parse_args()
    os.makedirs(IMG, exist_ok=True)
    if args.demo:
        copy_demo(args.demo)
    for name in args.only or FIGURES:
        FIGURES[name]()


if __name__ == "__main__":
    main()
