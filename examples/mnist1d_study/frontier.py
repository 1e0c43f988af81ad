"""The study's summary: the frontier, tuning counted, time to target, and the older keys.

``summarise`` turns the trained rows (one per policy and budget) into the result: the
frontier entries, the time to target of every policy (against the best full-budget policy
and against the tuned step schedule, each as its mean minus its standard error), and the
keys the first version of the study wrote (baselines, one-cycle, controls, epochs to
target), kept for their readers.

Examples:
    >>> rows = [
    ...     {"policy": "a", "epochs": 5, "fraction": 0.5, "test_accs": [0.90, 0.92]},
    ...     {"policy": "a", "epochs": 10, "fraction": 1.0, "test_accs": [0.95, 0.97]},
    ... ]
    >>> time_to(rows, "a", 0.91)
    0.5
    >>> time_to(rows, "a", 0.99) is None
    True
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .protocol import ALL_POLICIES, diff_with_se, epochs_to_target

FRONTIER_KEYS = (
    "policy",
    "epochs",
    "fraction",
    "lr",
    "wd",
    "test_acc_mean",
    "test_acc_sd",
    "seeds",
    "selection_epochs",
)


def mean_and_se(accs) -> tuple[float, float]:
    """Mean of ``accs`` and its standard error (0 for a single value)."""
    a = np.asarray(accs, float)
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else 0.0
    return float(a.mean()), se


def time_to(rows: list[dict], policy: str, target: float) -> float | None:
    """Smallest fraction of E_base at which ``policy``'s mean test accuracy reaches ``target``."""
    hits = [r["fraction"] for r in rows if r["policy"] == policy and _mean(r) >= target]
    return min(hits) if hits else None


def _mean(row: dict) -> float:
    return float(np.mean(row["test_accs"]))


def summarise(rows: list[dict], size, finder, recipe: dict, seconds: float) -> dict:
    """The whole result as plain Python values (and the finder, for its plot)."""
    e = size.e_base
    full = {r["policy"]: r for r in rows if r["epochs"] == e}
    best_policy = max(full, key=lambda p: full[p]["test_acc_mean"])
    best_mean, best_se = mean_and_se(full[best_policy]["test_accs"])
    step_mean, step_se = mean_and_se(full["step"]["test_accs"])
    time_to_target = {
        p: {
            "vs_best": time_to(rows, p, best_mean - best_se),
            "vs_step": time_to(rows, p, step_mean - step_se),
        }
        for p in ALL_POLICIES
    }
    # the keys of the first version: constant and step at E_base are the baselines
    target_policy = max(("constant", "step"), key=lambda p: full[p]["test_acc_mean"])
    target_accs = full[target_policy]["test_accs"]
    for r in rows:
        r["diff_to_target"], r["diff_se"] = diff_with_se(r["test_accs"], target_accs)
    oc = {r["epochs"]: r["test_acc_mean"] for r in rows if r["policy"] == "onecycle"}
    to_target = {
        f"vs_{p}": epochs_to_target(oc, full[p]["test_acc_mean"], e) for p in ("constant", "step")
    }
    step_means = {r["epochs"]: r["test_acc_mean"] for r in rows if r["policy"] == "step"}
    shortest_step = min(b for b, m in step_means.items() if m >= full["step"]["test_acc_mean"])
    oc_step = to_target["vs_step"]
    mean_curve = finder.mean_smoothed_losses
    return {
        "size": dataclasses.asdict(size),
        "e_base": e,
        "rows": rows,
        "frontier": [{k: r[k] for k in FRONTIER_KEYS} for r in rows],
        "best_full_budget": {"policy": best_policy, "mean": best_mean, "se": best_se},
        "step_full_budget": {"mean": step_mean, "se": step_se},
        "time_to_target": time_to_target,
        "recipe": recipe,
        "target_policy": target_policy,
        "target_accuracy": full[target_policy]["test_acc_mean"],
        "range_test": {
            "runs": int(finder.runs or 1),
            "suggestions": {k: float(v) for k, v in finder.suggestions.items()},
            "suggestion_ranges": {
                k: [float(a), float(b)] for k, (a, b) in finder.suggestion_ranges.items()
            },
            "center": recipe["max_lr"],
            "onecycle_grid": list(size.lr_grid),
            "lrs": np.asarray(finder.lrs).tolist(),
            "smoothed_losses": np.asarray(mean_curve).tolist(),
            "smoothed_losses_runs": np.asarray(finder.smoothed_losses).tolist(),
        },
        "epochs_to_target": to_target,
        "shortest_step_epochs_to_step_target": shortest_step,
        "speedup_vs_shortest_step": (shortest_step / (oc_step * e)) if oc_step else None,
        "wall_time_s": seconds,
        "finder": finder,
    }
