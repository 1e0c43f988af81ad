"""The study's outputs: Markdown tables (printed and written), the JSON result, the plots.

One colour per policy everywhere (``COLORS``). Accuracies are fractions in [0, 1];
differences to the target are in percentage points.

Examples:
    >>> fmt_fraction(None), fmt_fraction(0.2)
    ('not reached', '0.20')
"""

from __future__ import annotations

import json
import os

import numpy as np

COLORS = {"constant": "tab:gray", "step": "tab:blue", "cosine": "tab:green", "onecycle": "tab:red"}
ROLE_NAMES = {
    "baseline": "baseline (tuned at E_base)",
    "onecycle": "one-cycle",
    "control": "control (tuned at its budget)",
    "step_short": "step, E_base-tuned rate, shorter budget",
}


def fmt_fraction(x: float | None) -> str:
    return "not reached" if x is None else f"{x:.2f}"


def tables(result: dict, header: str) -> str:
    """The result tables as Markdown (printed as they are, and included unedited in the docs)."""
    size, rows, e = result["size"], result["rows"], result["e_base"]
    rt = result["range_test"]
    n_final = size["final_seeds"]
    lines = [
        header,
        "",
        f"E_base = {e} epochs. Selection: highest mean validation accuracy over "
        f"{size['select_seeds']} seeds; results: test accuracy of {n_final} fresh seeds "
        f"(mean, sd). Target = tuned {result['target_policy']} baseline's mean test accuracy "
        f"{result['target_accuracy']:.4f}; diff = policy minus target in percentage points, "
        "with its standard error.",
        "",
        "LR range test (1e-4 to 10): "
        + ", ".join(f"{k} {v:.3g}" for k, v in rt["suggestions"].items())
        + f' ("minimum" is a tenth of the LR at the smoothed minimum). One-cycle grid: '
        f"centre {rt['center']:.3g} (5x minimum), max_lr in "
        + ", ".join(f"{v:.3g}" for v in rt["onecycle_grid"])
        + ". Baseline and control grid: "
        + ", ".join(f"{v:.3g}" for v in size["lr_grid"])
        + ". Weight decay grid: "
        + ", ".join(f"{v:g}" for v in size["wd_grid"])
        + ".",
        "",
        "| policy | role | epochs | fraction of E_base | lr (peak) | wd | val acc (selection) "
        "| test acc mean | test acc sd | diff to target (points) | SE (points) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        edge = " (grid edge)" if r["lr_at_grid_edge"] else ""
        val = "" if r["select_val_mean"] is None else f"{r['select_val_mean']:.4f}"
        lines.append(
            f"| {r['policy']} | {ROLE_NAMES[r['role']]} | {r['epochs']} | {r['fraction']:.2f} "
            f"| {r['lr']:.3g}{edge} | {r['wd']:g} | {val} | {r['test_acc_mean']:.4f} "
            f"| {r['test_acc_sd']:.4f} | {100 * r['diff_to_target']:+.2f} "
            f"| {100 * r['diff_se']:.2f} |"
        )
    to = result["epochs_to_target"]
    base = {r["policy"]: r for r in rows if r["role"] == "baseline"}
    speed = result["speedup_vs_shortest_step"]
    lines += [
        "",
        "Epochs to target (smallest one-cycle budget whose mean test accuracy over the fresh "
        "seeds reaches the baseline's, as a fraction of E_base):",
        "",
        f"- vs tuned constant ({base['constant']['test_acc_mean']:.4f}): "
        f"{fmt_fraction(to['vs_constant'])}",
        f"- vs tuned step ({base['step']['test_acc_mean']:.4f}): {fmt_fraction(to['vs_step'])}",
        f"- shortest step budget (E_base-tuned rate) reaching the step target: "
        f"{result['shortest_step_epochs_to_step_target']} epochs; one-cycle speed-up against it: "
        + ("none (one-cycle never reaches the step target)" if speed is None else f"{speed:.2f}x"),
        "",
        f"Wall time of the study: {result['wall_time_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def json_result(result: dict, dataset: str) -> dict:
    """The machine-readable result (the keys issue 14 asks for, and the full rows)."""
    rows = result["rows"]

    def entry(r):
        keys = (
            "epochs",
            "fraction",
            "lr",
            "wd",
            "test_acc_mean",
            "test_acc_sd",
            "seeds",
            "test_accs",
            "diff_to_target",
            "diff_se",
            "lr_grid",
            "wd_grid",
        )
        return {k: r[k] for k in keys}

    baselines = {r["policy"]: entry(r) for r in rows if r["role"] == "baseline"}
    onecycle = [{**entry(r), "max_lr": r["lr"]} for r in rows if r["role"] == "onecycle"]
    controls = [{**entry(r), "policy": r["policy"]} for r in rows if r["role"] == "control"]
    step_short = [entry(r) for r in rows if r["role"] == "step_short"]
    return {
        "dataset": dataset,
        "e_base": result["e_base"],
        "target_accuracy": result["target_accuracy"],
        "target_policy": result["target_policy"],
        "baselines": baselines,
        "onecycle": onecycle,
        "controls": controls,
        "step_shorter_budgets": step_short,
        "epochs_to_target": result["epochs_to_target"],
        "shortest_step_epochs_to_step_target": result["shortest_step_epochs_to_step_target"],
        "speedup_vs_shortest_step": result["speedup_vs_shortest_step"],
        "range_test": result["range_test"],
        "size": result["size"],
        "wall_time_s": result["wall_time_s"],
    }


def write_json(path: str, payload: dict) -> None:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)


def plot_all(result: dict, out: str, prefix: str, steps_per_epoch: int) -> list[str]:
    """Accuracy vs epoch, test accuracy vs budget, schedules, range test; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    rows, e, n = result["rows"], result["e_base"], result["size"]["final_seeds"]
    paths = []

    # 1. validation accuracy against epoch, one panel per budget
    budgets = sorted({r["epochs"] for r in rows if r["role"] in ("onecycle", "control")})
    fig, axes = plt.subplots(
        1, len(budgets) + 1, figsize=(4.2 * (len(budgets) + 1), 3.8), sharey=True
    )
    panels = [(e, [r for r in rows if r["role"] in ("baseline", "step_short")])]
    panels += [
        (b, [r for r in rows if r["role"] in ("onecycle", "control") and r["epochs"] == b])
        for b in budgets
    ]
    for ax, (b, group) in zip(axes, panels):
        for r in group:
            x = np.arange(1, r["epochs"] + 1)
            style = ":" if r["role"] == "step_short" else "-"
            ax.plot(
                x,
                r["val_curve"],
                style,
                marker="o",
                ms=3,
                color=COLORS[r["policy"]],
                label=f"{r['policy']}, {r['epochs']} ep" + (" (E_base lr)" if style == ":" else ""),
            )
        ax.axhline(result["target_accuracy"], color="black", lw=0.8, ls="--", label="target (test)")
        ax.set(title=f"budget {b} epochs ({b / e:.2f} E_base)", xlabel="epoch")
        ax.legend(fontsize=7, title=f"mean of {n} seeds", title_fontsize=7)
    axes[0].set_ylabel("validation accuracy (fraction)")
    lo = min(min(min(r["val_curve"]) for r in rows), result["target_accuracy"]) - 0.05
    axes[0].set_ylim(max(0.0, lo), 1.0)
    fig.suptitle("Validation accuracy after each epoch, chosen configurations")
    fig.tight_layout()
    paths.append(_save(fig, out, f"{prefix}_accuracy.png"))

    # 2. test accuracy against budget
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    series = [  # (policy, label, linestyle, roles)
        ("constant", "constant (tuned at E_base)", "-", ("baseline",)),
        ("step", "step (tuned at each budget)", "-", ("baseline", "control")),
        ("step", "step (rate tuned at E_base)", ":", ("baseline", "step_short")),
        ("cosine", "cosine (tuned at each budget)", "-", ("control",)),
        ("onecycle", "one-cycle (tuned at each budget)", "-", ("onecycle",)),
    ]
    for policy, label, ls, roles in series:
        pts = sorted(
            (r["fraction"], r["test_acc_mean"], r["test_acc_sd"] / np.sqrt(n))
            for r in rows
            if r["policy"] == policy and r["role"] in roles
        )
        if pts:
            f, m, se = map(np.asarray, zip(*pts))
            ax.errorbar(
                f, m, yerr=se, marker="o", ls=ls, capsize=3, color=COLORS[policy], label=label
            )
    ax.axhline(result["target_accuracy"], color="black", lw=0.8, ls="--", label="target")
    ax.set(
        xlabel=f"training budget (fraction of E_base = {e} epochs)",
        ylabel="test accuracy (fraction)",
        title=f"Test accuracy against budget (mean of {n} fresh seeds, bars: SE)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, out, f"{prefix}_budgets.png"))

    # 3. schedules of the chosen configurations at the E_base/3 budget and at E_base
    import jax.numpy as jnp

    from .train import make_policy

    fig, (ax_lr, ax_mom) = plt.subplots(1, 2, figsize=(11, 3.8))
    third = max(budgets)
    for r in rows:
        if r["role"] == "step_short" or r["epochs"] not in (e, third):
            continue
        _, lr_fn, mom_fn = make_policy(r["policy"], r["lr"], r["epochs"], steps_per_epoch)
        steps = jnp.arange(r["epochs"] * steps_per_epoch)
        x = np.asarray(steps) / steps_per_epoch
        ls = "-" if r["epochs"] == third else "--"
        label = f"{r['policy']}, {r['epochs']} ep"
        ax_lr.plot(x, np.asarray(lr_fn(steps)), ls, color=COLORS[r["policy"]], label=label)
        ax_mom.plot(x, np.asarray(mom_fn(steps)), ls, color=COLORS[r["policy"]], label=label)
    ax_lr.set(
        title="learning rate of the chosen configurations",
        xlabel="epoch",
        ylabel="learning rate",
        yscale="log",
    )
    ax_mom.set(title="momentum", xlabel="epoch", ylabel="momentum (SGD beta)")
    ax_lr.legend(fontsize=7)
    fig.tight_layout()
    paths.append(_save(fig, out, f"{prefix}_schedules.png"))

    # 4. the range test
    finder = result["finder"]
    ax = finder.plot()
    grid = result["range_test"]["onecycle_grid"]
    ax.axvspan(
        min(grid), max(grid), color=COLORS["onecycle"], alpha=0.08, label="one-cycle max_lr grid"
    )
    chosen = sorted({r["lr"] for r in rows if r["role"] == "onecycle"})
    for k, lr in enumerate(chosen):
        ax.axvline(
            lr,
            color=COLORS["onecycle"],
            ls="--",
            lw=1,
            label="one-cycle max_lr chosen" if k == 0 else None,
        )
    ax.set(
        xlabel="learning rate (log scale)",
        ylabel="training loss (cross-entropy)",
        title="LR range test, SGD momentum 0.9, batch 128\n"
        '"minimum" = a tenth of the LR at the smoothed minimum',
    )
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    paths.append(_save(ax.figure, out, f"{prefix}_range_test.png"))
    return paths


def _save(fig, out: str, name: str) -> str:
    import matplotlib.pyplot as plt

    path = os.path.join(out, name)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
