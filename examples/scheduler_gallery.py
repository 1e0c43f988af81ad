"""Every learning-rate schedule of jax_onecycle on one grid, with the reference dotted over it.

One panel per member of the family: one-cycle, StepLR, MultiStepLR, CosineAnnealingLR,
CosineAnnealingWarmRestarts, Hugging Face's linear / cosine / constant schedules with
warmup and its warmup-stable-decay (WSD), DeepSpeed's OneCycle, and ReduceLROnPlateau
(when ``jax_onecycle.ReduceLROnPlateau`` exists). The x axis is the optimizer step (the
``count`` optax passes to a schedule); epoch-based schedules take ``steps_per_epoch`` so
they are driven per batch. Where torch, transformers or deepspeed are importable, the
reference library's learning rate, read from its optimizer before every step, is drawn
dotted over ours and the largest relative difference is printed.

    python examples/scheduler_gallery.py            # 10 steps per epoch
    python examples/scheduler_gallery.py --quick    # 2 steps per epoch
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import warnings
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

import jax_onecycle as jo


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# ---- reference traces: the lr each update of the reference optimizer used ---------------
def torch_trace(make: Callable, steps: int, *, lr: float = 0.1, every: int = 1,
                fractional: int | None = None) -> list[float]:
    """Record ``param_groups[0]["lr"]`` before each ``opt.step()``.

    ``make(opt)`` builds the scheduler; it is stepped after every ``every`` updates
    (``every=steps_per_epoch`` for a per-epoch scheduler), or, with ``fractional=S``,
    called as ``sched.step(b / S)`` before update ``b`` (warm restarts' per-batch form).
    """
    import torch

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
        values = []
        for b in range(steps):
            if fractional:
                sched.step(b / fractional)
            values.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            if not fractional and (b + 1) % every == 0:
                sched.step()
    return values


def deepspeed_trace(steps: int, **kwargs: Any) -> list[float]:
    import torch
    from deepspeed.runtime.lr_schedules import OneCycle

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=kwargs["cycle_max_lr"])
    sched = OneCycle(opt, **kwargs)
    values = []
    for _ in range(steps):
        values.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    return values


# ---- the panels -------------------------------------------------------------------------
def panels(spe: int) -> list[dict[str, Any]]:
    """Title, our schedule, the reference (a thunk, or None) and the steps to draw."""
    torch_ok, hf_ok = _available("torch"), _available("transformers")
    ds_ok = torch_ok and _available("deepspeed")
    epochs = 30
    n = epochs * spe
    out = []

    def add(title, ours, reference, steps=n, label="PyTorch"):
        out.append({"title": title, "ours": ours, "reference": reference, "steps": steps,
                    "label": label})

    def torch_ref(name, *args, every=spe, fractional=None, **kw):
        if not torch_ok:
            return None
        import torch

        cls = getattr(torch.optim.lr_scheduler, name)
        return lambda steps: torch_trace(lambda opt: cls(opt, *args, **kw), steps,
                                         every=every, fractional=fractional)

    def hf_ref(name, *args, **kw):
        if not hf_ok:
            return None

        def trace(steps):
            import transformers

            return torch_trace(lambda opt: getattr(transformers, name)(opt, *args, **kw), steps)

        return trace

    add("onecycle_schedule (torch)\nOneCycleLR",
        jo.onecycle_schedule(0.1, n, convention="torch"),
        torch_ref("OneCycleLR", max_lr=0.1, total_steps=n, every=1))
    add("step_schedule\nStepLR(step_size=8, gamma=0.5)",
        jo.step_schedule(0.1, 8, 0.5, steps_per_epoch=spe),
        torch_ref("StepLR", step_size=8, gamma=0.5))
    add("multistep_schedule\nMultiStepLR([10, 20, 25], 0.3)",
        jo.multistep_schedule(0.1, [10, 20, 25], 0.3, steps_per_epoch=spe),
        torch_ref("MultiStepLR", milestones=[10, 20, 25], gamma=0.3))
    add("cosine_annealing_schedule\nCosineAnnealingLR(T_max=12)",
        jo.cosine_annealing_schedule(0.1, 12, 0.01, steps_per_epoch=spe),
        torch_ref("CosineAnnealingLR", T_max=12, eta_min=0.01))
    add("cosine_warm_restarts_schedule\nCosineAnnealingWarmRestarts(4, 2)",
        jo.cosine_warm_restarts_schedule(0.1, 4, 2, 0.005, steps_per_epoch=spe),
        torch_ref("CosineAnnealingWarmRestarts", T_0=4, T_mult=2, eta_min=0.005,
                  fractional=spe))
    w, t = 3 * spe, 25 * spe
    add("linear_schedule_with_warmup",
        jo.linear_schedule_with_warmup(0.1, w, t),
        hf_ref("get_linear_schedule_with_warmup", w, t), label="Hugging Face")
    add("cosine_schedule_with_warmup\n(past num_training_steps)",
        jo.cosine_schedule_with_warmup(0.1, w, t),
        hf_ref("get_cosine_schedule_with_warmup", w, t), label="Hugging Face")
    add("constant_schedule_with_warmup",
        jo.constant_schedule_with_warmup(0.1, 5 * spe),
        hf_ref("get_constant_schedule_with_warmup", 5 * spe), label="Hugging Face")
    stable, decay = 15 * spe, 10 * spe
    add("wsd_schedule (min_lr_ratio=0.1)",
        jo.wsd_schedule(0.1, w, stable, decay, min_lr_ratio=0.1),
        hf_ref("get_wsd_schedule", w, decay, num_stable_steps=stable, min_lr_ratio=0.1),
        label="Hugging Face")
    ds = dict(cycle_min_lr=0.01, cycle_max_lr=0.1, cycle_first_step_size=10 * spe,
              cycle_second_step_size=12 * spe, decay_step_size=spe, decay_lr_rate=0.1)
    add("deepspeed_onecycle_schedule",
        jo.deepspeed_onecycle_schedule(**ds),
        (lambda steps: deepspeed_trace(steps, **ds)) if ds_ok else None, label="DeepSpeed")
    return out


def plateau_panel(epochs: int = 40) -> dict[str, Any] | None:
    """ReduceLROnPlateau stepped once per epoch with a loss that stalls; None if absent."""
    plateau = getattr(jo, "ReduceLROnPlateau", None)
    if plateau is None:
        return None
    rng = np.random.default_rng(0)
    metrics = np.maximum(1.0 / (1.0 + 0.4 * np.arange(epochs)), 0.25)
    metrics = (metrics + 0.01 * rng.standard_normal(epochs)).tolist()
    kwargs = dict(factor=0.5, patience=3, cooldown=1)
    sched = plateau(0.1, **kwargs)
    ours = []
    for m in metrics:
        sched.step(m)
        ours.append(float(sched.get_last_lr()[0]))
    reference = None
    if _available("torch"):
        import torch

        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        reference = []
        for m in metrics:
            ref.step(m)
            reference.append(float(opt.param_groups[0]["lr"]))
    return {"title": "ReduceLROnPlateau\n(factor=0.5, patience=3, cooldown=1)",
            "ours": np.asarray(ours), "reference": reference, "steps": epochs,
            "label": "PyTorch", "xlabel": "epoch (one step(metric) each)", "metrics": metrics}


def make_figure(path: str, spe: int, *, dpi: int = 80, verbose: bool = True) -> dict[str, float]:
    """Draw the grid into ``path``; return the largest relative difference per panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = panels(spe)
    extra = plateau_panel()
    if extra is None:
        if verbose:
            print("jax_onecycle.ReduceLROnPlateau not found: its panel is skipped")
    else:
        items.append(extra)
    cols = 4
    rows = -(-len(items) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.9 * rows))
    diffs = {}
    for ax, item in zip(axes.flat, items):
        steps = np.arange(item["steps"])
        ours = item["ours"]
        ours = np.asarray(ours(jnp.asarray(steps)) if callable(ours) else ours, np.float64)
        ax.plot(steps, ours, lw=2.2, color="C0", label="jax_onecycle")
        name = item["title"].split("\n")[0]
        ref = item["reference"]
        if callable(ref):
            ref = ref(item["steps"])
        if ref is not None:
            ref = np.asarray(ref, np.float64)
            ax.plot(steps, ref, ":", lw=2, color="C1", label=item["label"])
            diffs[name] = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-12)))
            if verbose:
                print(f"{name:<32} max relative difference to {item['label']}: "
                      f"{diffs[name]:.1e}")
        elif verbose:
            print(f"{name:<32} (no reference library importable)")
        if "metrics" in item:
            twin = ax.twinx()
            twin.plot(steps, item["metrics"], color="0.7", lw=1)
            twin.set_ylabel("metric", color="0.5", fontsize=8)
            twin.tick_params(labelsize=7, colors="0.5")
        ax.set_title(item["title"], fontsize=9)
        ax.set_xlabel(item.get("xlabel", "step"), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(items):]:
        ax.axis("off")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 steps per epoch")
    parser.add_argument("--steps-per-epoch", type=int, default=10)
    parser.add_argument("--out", default="examples/out")
    args = parser.parse_args()
    spe = 2 if args.quick else args.steps_per_epoch
    path = os.path.join(args.out, "scheduler_gallery.png")
    make_figure(path, spe)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
