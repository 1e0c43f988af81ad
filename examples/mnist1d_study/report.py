"""The study's outputs: Markdown tables, the JSON result, and the figures drawn from the JSON.

One colour per policy in every figure (``COLORS``). Accuracies are fractions in [0, 1].
The figures are drawn from the JSON payload alone, so ``docs/make_study_results.py``
redraws them from the committed files.

Examples:
    >>> fmt_fraction(None), fmt_fraction(0.2)
    ('not reached', '0.20')
    >>> sorted(COLORS) == sorted(LABELS)
    True
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from .frontier import FRONTIER_KEYS

COLORS = {
    "constant": "tab:gray",
    "step": "tab:blue",
    "cosine": "tab:green",
    "linear": "tab:orange",
    "wsd": "tab:purple",
    "onecycle": "tab:red",
    "schedule_free": "tab:brown",
    "recipe": "black",
}
LABELS = {
    "constant": "constant",
    "step": "step (x0.1 at 50%, 75%)",
    "cosine": "cosine to 0",
    "linear": "linear to 0",
    "wsd": "WSD (1-sqrt cooldown 20%)",
    "onecycle": "one-cycle (grid)",
    "schedule_free": "schedule-free SGD",
    "recipe": "recipe (range test + one-cycle)",
}


def fmt_fraction(x: float | None) -> str:
    return "not reached" if x is None else f"{x:.2f}"


def _by_policy(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["policy"], []).append(r)
    return {p: sorted(out[p], key=lambda r: r["epochs"]) for p in COLORS if p in out}


def tables(result: dict, header: str) -> str:
    """The result tables as Markdown (printed as they are, and written by ``--markdown``)."""
    size, rows, e = result["size"], result["rows"], result["e_base"]
    budgets = sorted({r["epochs"] for r in rows})
    by = _by_policy(rows)
    rec, best, tt = result["recipe"], result["best_full_budget"], result["time_to_target"]
    step = result["step_full_budget"]
    n_grid = len(size["lr_grid"]) * len(size["wd_grid"])
    lines = [
        header,
        "",
        f"E_base = {e} epochs; budgets {', '.join(str(b) for b in budgets)} epochs. Each grid "
        f"policy is tuned at each budget over {len(size['lr_grid'])} rates "
        f"({', '.join(f'{v:g}' for v in size['lr_grid'])}) x {len(size['wd_grid'])} weight "
        f"decays ({', '.join(f'{v:g}' for v in size['wd_grid'])}) = {n_grid} grid points, on "
        f"{size['select_seeds']} selection seed(s) (highest mean validation accuracy); "
        f"results: test accuracy of {size['final_seeds']} fresh seeds, mean (sd). "
        f"Recipe: one stacked LR range test of {rec['range_test_runs']} runs "
        f"({rec['range_test_steps']} steps each), {rec['max_lr_rule']}: max_lr "
        f"{rec['max_lr']:.3g} (the runs' own: {rec['max_lr_range'][0]:.3g} to "
        f"{rec['max_lr_range'][1]:.3g}).",
        "",
        "Test accuracy, mean (sd) over the fresh seeds; `*`: the chosen rate is at the edge "
        "of the grid:",
        "",
        "| policy | " + " | ".join(f"{b} ep ({b / e:.2f})" for b in budgets) + " |",
        "|---|" + "---:|" * len(budgets),
    ]
    for p, rs in by.items():
        cells = {r["epochs"]: f"{r['test_acc_mean']:.4f} ({r['test_acc_sd']:.4f})" for r in rs}
        edge = {r["epochs"]: "*" if r["lr_at_grid_edge"] else "" for r in rs}
        lines.append(
            f"| {LABELS[p]} | "
            + " | ".join(cells.get(b, "") + edge.get(b, "") for b in budgets)
            + " |"
        )
    lines += [
        "",
        "Chosen rate (peak) / weight decay, and the seed-epochs spent on selection:",
        "",
        "| policy | " + " | ".join(f"{b} ep" for b in budgets) + " | selection, all budgets |",
        "|---|" + "---:|" * (len(budgets) + 1),
    ]
    for p, rs in by.items():
        cells = {r["epochs"]: f"{r['lr']:.3g} / {r['wd']:g}" for r in rs}
        spent = sum(r["selection_epochs"] for r in rs)
        if p == "recipe":
            spent = rec["selection_epochs"]  # one range test serves every budget
        lines.append(
            f"| {LABELS[p]} | "
            + " | ".join(cells.get(b, "") for b in budgets)
            + f" | {spent:.0f} |"
        )
    lines += [
        "",
        f"Time to target: the smallest budget (fraction of E_base) whose mean test accuracy "
        f"reaches the best full-budget policy's mean minus its standard error "
        f"({LABELS[best['policy']]}: {best['mean']:.4f} - {best['se']:.4f}), and the tuned "
        f"step schedule's ({step['mean']:.4f} - {step['se']:.4f}):",
        "",
        "| policy | vs best | vs step |",
        "|---|---:|---:|",
    ]
    for p in by:
        lines.append(
            f"| {LABELS[p]} | {fmt_fraction(tt[p]['vs_best'])} | {fmt_fraction(tt[p]['vs_step'])} |"
        )
    lines += ["", f"Wall time of the study: {result['wall_time_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def json_result(result: dict, dataset: str) -> dict:
    """The machine-readable result: the frontier keys, and the first version's keys."""
    rows, e = result["rows"], result["e_base"]
    # the frontier's keys of a run (its policy is the entry's name), and the first version's
    keys = (*FRONTIER_KEYS[1:-1], "test_accs", "diff_to_target", "diff_se", "lr_grid", "wd_grid")
    entry = lambda r: {k: r[k] for k in keys}  # noqa: E731
    short = [r for r in rows if r["epochs"] < e]
    out = {"dataset": dataset}
    out.update({k: v for k, v in result.items() if k not in ("finder",)})
    out.update(
        baselines={
            r["policy"]: entry(r)
            for r in rows
            if r["epochs"] == e and r["policy"] in ("constant", "step")
        },
        onecycle=[{**entry(r), "max_lr": r["lr"]} for r in short if r["policy"] == "onecycle"],
        controls=[
            {**entry(r), "policy": r["policy"]} for r in short if r["policy"] in ("step", "cosine")
        ],
        step_shorter_budgets=[entry(r) for r in short if r["policy"] == "step"],
    )
    return out


def write_json(path: str, payload: dict) -> None:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)


def _errorbars(ax, payload: dict, x_of) -> None:
    for p, rs in _by_policy(payload["rows"]).items():
        x = [x_of(r) for r in rs]
        m = [r["test_acc_mean"] for r in rs]
        se = [r["test_acc_sd"] / math.sqrt(len(r["test_accs"])) for r in rs]
        ls = "--" if p == "recipe" else "-"
        ax.errorbar(
            x, m, yerr=se, marker="o", ms=4, ls=ls, capsize=3, color=COLORS[p], label=LABELS[p]
        )


def _ylim(ax, payload: dict) -> None:
    means = [r["test_acc_mean"] for r in payload["rows"]]
    ax.set_ylim(max(0.0, min(means) - 0.03), min(1.0, max(means) + 0.02))


def plot_budgets(payload: dict, ax) -> None:
    """Test accuracy against the budget, every policy (mean of the fresh seeds, bars: SE)."""
    e, n = payload["e_base"], payload["size"]["final_seeds"]
    _errorbars(ax, payload, lambda r: r["fraction"])
    best = payload["best_full_budget"]
    ax.axhline(
        best["mean"] - best["se"], color="0.3", lw=0.8, ls=":", label="target: best at E_base - SE"
    )
    ax.set(
        xlabel=f"training budget (fraction of E_base = {e} epochs)",
        ylabel="test accuracy (fraction)",
        title=f"{payload['dataset']}: test accuracy against budget ({n} fresh seeds, bars: SE)",
    )
    _ylim(ax, payload)
    ax.legend(fontsize=7, loc="lower right")


def plot_total_epochs(payload: dict, ax) -> None:
    """Test accuracy against the total seed-epochs spent: selection plus the final run."""
    _errorbars(ax, payload, lambda r: r["selection_epochs"] + r["epochs"])
    ax.set_xscale("log")
    ax.set(
        xlabel="epochs spent: tuning (selection runs, or the range test) + the final run (log)",
        ylabel="test accuracy (fraction)",
        title=f"{payload['dataset']}: what the tuning costs (each point: one budget)",
    )
    _ylim(ax, payload)
    ax.legend(fontsize=7, loc="lower right")


def plot_range_test(payload: dict, ax) -> None:
    """The stacked range test: the runs' mean smoothed loss, their band, the recipe's max_lr."""
    rt, rec = payload["range_test"], payload["recipe"]
    lrs, runs = np.asarray(rt["lrs"]), np.asarray(rt["smoothed_losses_runs"])
    mean = runs.mean(0)
    lowest = int(np.argmin(mean))
    top = float(runs[:, : lowest + 1].max()) * 1.05
    ax.fill_between(
        lrs,
        np.minimum(runs.min(0), top),
        np.minimum(runs.max(0), top),
        color="C0",
        alpha=0.2,
        label=f"lowest to highest of {len(runs)} runs (smoothed)",
    )
    ax.plot(lrs, mean, color="C0", lw=2, label=f"mean over {len(runs)} runs of the smoothed loss")
    lo, hi = rec["max_lr_range"]
    ax.axvspan(lo, hi, color=COLORS["recipe"], alpha=0.08, label="max_lr of each run by the rule")
    ax.axvline(
        rec["max_lr"], color=COLORS["recipe"], ls="--", label=f"recipe max_lr {rec['max_lr']:.3g}"
    )
    ax.set_xscale("log")
    ax.set_ylim(float(runs.min()) * 0.95, top)
    ax.set(
        xlabel="learning rate (log scale)",
        ylabel="training loss (cross-entropy, smoothed)",
        title=f"{payload['dataset']}: stacked LR range test, SGD momentum 0.9",
    )
    ax.legend(fontsize=7, loc="lower left")


def plot_all(payload: dict, out: str, prefix: str) -> list[str]:
    """The three figures of ``payload`` as PNGs under ``out``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    paths = []
    for name, draw, size in (
        ("frontier", plot_budgets, (7.0, 4.6)),
        ("tuning_cost", plot_total_epochs, (7.0, 4.6)),
        ("range_test", plot_range_test, (6.4, 4.2)),
    ):
        fig, ax = plt.subplots(figsize=size)
        draw(payload, ax)
        fig.tight_layout()
        path = os.path.join(out, f"{prefix}_{name}.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
