"""Draw ``docs/img/compose_gallery.png``: PyTorch's compositions beside ``jax_onecycle``'s.

    python docs/make_compose_plot.py

Our curves are computed here; PyTorch's numbers are read from ``tests/golden/compose.json``
(written by ``tests/make_golden_compose.py`` from torch 2.13), so torch is not needed. Each
panel is one case of that file: the solid line is ``jax_onecycle``, the dots PyTorch's
``SequentialLR`` / ``LambdaLR``; the two bottom-left panels are where PyTorch departs from
the restart rule. Written at 80 dpi so that it can be committed.
"""

from __future__ import annotations

import json
import math
import os

import jax.numpy as jnp
import matplotlib
import numpy as np

import jax_onecycle as jo

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden", "compose.json")
OUT = os.path.join(ROOT, "docs", "img", "compose_gallery.png")


def _guide_rule(epoch):
    """The guide's warmup-cosine ``lr_lambda`` (warmup 5, total 30), as the docs show it."""
    if epoch < 5:
        return float(epoch) / float(max(1, 5))
    progress = float(epoch - 5) / float(max(1, 30 - 5))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _ours(case_id: str):
    """Our schedule for a case of the golden file, built as the porting page writes it."""
    return {
        "linear_to_cosine": lambda: jo.sequential_schedule(
            [jo.linear_lr_schedule(0.1, 0.1, 1.0, 5), jo.cosine_annealing_schedule(0.1, 12, 0.001)],
            [5],
        ),
        "constant_exponential_step": lambda: jo.sequential_schedule(
            [
                jo.constant_lr_schedule(0.1, 0.25, 3),
                jo.exponential_schedule(0.1, 0.8),
                jo.step_schedule(0.1, 3, 0.5),
            ],
            [4, 9],
        ),
        "multistep_to_polynomial": lambda: jo.sequential_schedule(
            [jo.multistep_schedule(0.1, [2, 5], 0.3), jo.polynomial_schedule(0.1, 6, 2.0)], [7]
        ),
        "warmup_into_onecycle": lambda: jo.sequential_schedule(
            [
                jo.linear_lr_schedule(0.1, 0.1, 1.0, 5),
                jo.onecycle_schedule(1.0, total_steps=20, convention="torch"),
            ],
            [4],
        ),
        "exponential_to_multiplicative": lambda: jo.sequential_schedule(
            [jo.exponential_schedule(0.1, 0.8), jo.multiplicative_schedule(0.1, lambda e: 0.9)],
            [4],
        ),
    }[case_id]()


def main() -> None:
    with open(GOLDEN) as f:
        cases = {c["id"]: c for c in json.load(f)["cases"]}
    panels = [
        ("linear_to_cosine", "LinearLR -> CosineAnnealingLR"),
        ("constant_exponential_step", "ConstantLR -> ExponentialLR -> StepLR"),
        ("multistep_to_polynomial", "MultiStepLR -> PolynomialLR"),
        ("warmup_into_onecycle", "LinearLR -> OneCycleLR (PyTorch departs)"),
        ("exponential_to_multiplicative", "ExponentialLR -> MultiplicativeLR (departs)"),
        ("lambda_warmup_cosine_5_30", "LambdaLR: the guide's warmup-cosine"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    for ax, (case_id, title) in zip(axes.flat, panels, strict=True):
        case = cases[case_id]
        steps = np.asarray(case["steps"])
        if case["kind"] == "lambda":
            host = jo.LambdaLR(0.1, _guide_rule)
            ours = []
            for _ in steps:
                ours.append(host.get_last_lr()[0])
                host.step()
            torch_values = case["values"]
        else:
            ours = np.asarray(_ours(case_id)(jnp.asarray(steps)))
            torch_values = case["torch_sequential"]
            for m in case["milestones"]:
                ax.axvline(m, color="0.8", lw=1, zorder=0)
        ax.plot(steps, ours, "-", color="C0", lw=2, label="jax_onecycle")
        ax.plot(steps, torch_values, "o", color="C3", ms=3.5, label="PyTorch 2.13")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Composed schedules: jax_onecycle (line) and PyTorch (dots); grey: milestones")
    fig.tight_layout()
    fig.savefig(OUT, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
