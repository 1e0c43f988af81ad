"""What the LR range test measured: the result, its suggestion rules and its plot.

`lr_range_test` (``finder.py``) runs the sweep; this module turns its losses into
suggestions and draws them. A stacked sweep (``R`` runs side by side) keeps every run's
curve; its suggestions come from the mean over runs of the smoothed losses, by the same
rules as one run, and each suggestion's range is the least and greatest of the runs' own.

Examples:
    >>> import numpy as np
    >>> lrs = np.geomspace(1e-3, 1.0, 20)
    >>> smoothed = np.concatenate([np.linspace(2.0, 1.0, 15), np.linspace(1.2, 4.0, 5)])
    >>> res = make_result(lrs, smoothed.copy(), smoothed, num_iter=20)
    >>> ratio = float(res.suggestions["minimum"] / lrs[14])
    >>> round(ratio, 6), res.suggestion_ranges["valley"][0] > 0
    (0.1, True)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["LRRangeTestResult", "make_result", "suggest", "valley_index"]

DESCRIBED = {
    "minimum": "minimum (smoothed-minimum LR / 10)",
    "steepest": "steepest (fastest fall)",
    "valley": "valley (fastai's rule)",
}


@dataclasses.dataclass(frozen=True, eq=False)
class LRRangeTestResult:
    """What `lr_range_test` measured, one entry per step run.

    Attributes:
      lrs: the learning rate of each step, shape ``(n,)``.
      losses: the raw loss of each step, computed before its update: ``(n,)``, or
        ``(R, n)`` for a stacked sweep of ``R`` runs.
      smoothed_losses: bias-corrected exponential moving average of ``losses`` (per run),
        the shape of ``losses``.
      suggestions: learning rates in the swept range: ``"minimum"``, the one at the smoothed
        minimum / 10 (never below the first); ``"steepest"``, where the smoothed loss falls
        fastest per ``log(lr)``; ``"valley"``, fastai's longest-valley rule. The last two
        ignore the first ``num_iter // 10`` steps, as fastai does. A stacked sweep applies
        them to the mean over runs of ``smoothed_losses``.
      suggestion_ranges: ``name -> (low, high)``, the least and greatest of the runs' own
        suggestions (``(v, v)`` for one run).
    """

    __module__ = "jax_onecycle"

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestions: dict[str, float]
    suggestion_ranges: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)

    @property
    def runs(self) -> int | None:
        """``R`` for a stacked sweep, None for one run."""
        return int(self.losses.shape[0]) if self.losses.ndim == 2 else None

    @property
    def mean_smoothed_losses(self) -> np.ndarray:
        """The curve the suggestions come from: the mean over runs of ``smoothed_losses``."""
        return self.smoothed_losses.mean(0) if self.losses.ndim == 2 else self.smoothed_losses

    def __repr__(self) -> str:
        found = ", ".join(f"{k}={v:.3g}" for k, v in self.suggestions.items())
        runs = "" if self.runs is None else f"runs={self.runs}, "
        return f"LRRangeTestResult({runs}steps={self.lrs.size}, {found})"

    def plot(self, ax: Any = None) -> Any:
        """Draw the loss against the learning rate (log axis), suggestions marked.

        One run: the raw and the smoothed loss. A stacked sweep: the mean over runs of the
        smoothed losses, and the band between the lowest and the highest run's smoothed loss.
        The y-range frames the sweep up to the smoothed minimum; raw losses above it (the
        divergence) are drawn clipped at the top edge. ``"minimum"`` is marked where it is,
        a tenth of the learning rate at the smoothed minimum (fastai's ``lr_min``), and the
        smoothed minimum itself by a dotted line.

        Args:
          ax: a matplotlib ``Axes`` to draw on; a new figure is made when None.

        Returns:
          The matplotlib ``Axes``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        curve = self.mean_smoothed_losses
        lowest = int(np.argmin(curve))
        if self.runs is None:
            head = np.concatenate([self.losses[: lowest + 1], curve[: lowest + 1]])
        else:
            head = self.smoothed_losses[:, : lowest + 1].ravel()
        bottom, top = float(np.min(head)), float(np.max(head))
        pad = 0.08 * max(top - bottom, 1e-12 + 0.05 * abs(bottom))
        ymin, ymax = bottom - pad, top + pad
        if self.runs is None:
            clipped = self.losses > ymax
            raw_label = "loss (raw, clipped at the top)" if clipped.any() else "loss (raw)"
            ax.plot(self.lrs, np.minimum(self.losses, ymax), color="0.6", lw=1, label=raw_label)
            ax.plot(self.lrs, curve, color="C0", lw=2, label="smoothed loss")
        else:
            low = np.minimum(self.smoothed_losses.min(0), ymax)
            high = np.minimum(self.smoothed_losses.max(0), ymax)
            ax.fill_between(
                self.lrs,
                low,
                high,
                color="C0",
                alpha=0.2,
                label=f"lowest to highest of the {self.runs} runs (smoothed, clipped at the top)",
            )
            label = f"mean over {self.runs} runs of the smoothed loss"
            ax.plot(self.lrs, curve, color="C0", lw=2, label=label)
        ax.axvline(
            self.lrs[lowest],
            color="C0",
            ls=":",
            lw=1,
            label=f"smoothed minimum: {self.lrs[lowest]:.2e}",
        )
        log_lrs = np.log(self.lrs)
        for i, (name, lr) in enumerate(self.suggestions.items()):
            y = np.interp(np.log(lr), log_lrs, curve)
            label = f"{DESCRIBED.get(name, name)}: {lr:.2e}"
            low_lr, high_lr = self.suggestion_ranges.get(name, (lr, lr))
            if self.runs is not None:
                label += f" (runs: {low_lr:.2e} to {high_lr:.2e})"
                ax.plot([low_lr, high_lr], [y, y], color=f"C{i + 1}", lw=3, alpha=0.5)
            ax.plot([lr], [y], "o", color=f"C{i + 1}", ms=7, zorder=3, label=label)
        ax.set_ylim(ymin, ymax)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss (per batch)")
        ax.legend(loc="lower left", fontsize=8)
        return ax


def valley_index(smoothed: np.ndarray) -> int:
    """fastai's ``valley``: the longest decreasing run of points, then ~1/2 of the way in.

    As fastai (``fastai/callback/schedule.py``), except that an index fastai would make
    negative (and so wrap to the last step) is clamped to the first step.
    """
    lds = np.ones(smoothed.size, dtype=int)
    for i in range(1, smoothed.size):
        higher = smoothed[:i] > smoothed[i]
        if higher.any():
            lds[i] = lds[:i][higher].max() + 1
    end = int(np.argmax(lds))
    length = int(lds[end])
    return max(end - length + int(length / 3) + int(length / 6), 0)


def suggest(lrs: np.ndarray, smoothed: np.ndarray, num_iter: int) -> dict[str, float]:
    """The three suggestions of one smoothed curve (see `LRRangeTestResult`)."""
    # "steepest" and "valley" skip the first num_iter // 10 steps, as fastai's lr_find does:
    # the moving average there has seen few losses and its noise fakes steep drops.
    skip = num_iter // 10 if smoothed.size > num_iter // 10 + 1 else 0
    tail_lrs, tail = lrs[skip:], smoothed[skip:]
    if tail.size > 1:
        steepest = float(tail_lrs[int(np.argmin(np.diff(tail) / np.diff(np.log(tail_lrs))))])
    else:
        steepest = float(tail_lrs[0])
    return {
        "minimum": max(float(lrs[int(np.argmin(smoothed))]) / 10.0, float(lrs[0])),
        "steepest": steepest,
        "valley": float(tail_lrs[valley_index(tail)]),
    }


def make_result(
    lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, num_iter: int
) -> LRRangeTestResult:
    """The read-only result of a sweep; ``losses``/``smoothed`` are ``(n,)`` or ``(R, n)``."""
    if smoothed.ndim == 2:
        suggestions = suggest(lrs, smoothed.mean(0), num_iter)
        per_run = [suggest(lrs, run, num_iter) for run in smoothed]
        ranges = {k: (min(s[k] for s in per_run), max(s[k] for s in per_run)) for k in suggestions}
    else:
        suggestions = suggest(lrs, smoothed, num_iter)
        ranges = {k: (v, v) for k, v in suggestions.items()}
    for array in (lrs, losses, smoothed):
        array.setflags(write=False)
    return LRRangeTestResult(lrs, losses, smoothed, suggestions, ranges)
