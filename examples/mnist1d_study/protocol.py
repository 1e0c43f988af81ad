"""The fair protocol: tune every policy the same way on validation, re-run on fresh seeds.

1. Baselines at the full budget ``e_base``: constant and step (x0.1 at 50% and 75%), each
   tuned over the same log grid of rates x a small weight-decay grid, on selection seeds.
2. One-cycle (``onecycle_sgd``, momentum cycled) at ``e_base/10, /5, /3``: its rates are
   the LR range test's centre (half the rate at the smoothed-loss minimum, i.e. 5x the
   ``"minimum"`` suggestion) times ``2**k``, as many points as the baselines' grid.
3. Controls at the same short budgets: step and cosine, tuned like the baselines.
4. Every chosen configuration (highest mean validation accuracy over the selection seeds)
   is re-run on fresh seeds; their test accuracy is the result. The tuned step schedule is
   also re-run at 1/3, 1/2 and 2/3 of ``e_base`` with its full-budget rate.

Examples:
    >>> epochs_to_target({3: 0.95, 6: 0.97, 10: 0.98}, target=0.965, e_base=30)
    0.2
    >>> epochs_to_target({3: 0.95}, target=0.965, e_base=30) is None
    True
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import jax_onecycle as jo

from .data import augment
from .model import apply_cnn, init_cnn
from .train import _xent, make_trainer, train_runs

SELECT_SEED0, FINAL_SEED0 = 0, 1000


@dataclasses.dataclass(frozen=True)
class Size:
    """How big the study is: data, model, budget, grids, seeds."""

    n_train: int
    n_val: int
    n_test: int
    widths: tuple[int, ...]
    e_base: int
    lr_grid: tuple[float, ...]
    wd_grid: tuple[float, ...]
    select_seeds: int
    final_seeds: int
    chunk: int  # runs per compiled call (vmap width); selection and final runs share programs
    range_iters: int
    batch: int = 128
    shift: int = 4
    scale: float = 0.2


SIZES = {
    "quick": Size(
        n_train=512,
        n_val=256,
        n_test=1000,
        widths=(8, 16),
        e_base=3,
        lr_grid=(0.05, 0.5),
        wd_grid=(5e-4,),
        select_seeds=2,
        final_seeds=2,
        chunk=2,
        range_iters=30,
    ),
    "default": Size(  # the full data, model and budget; one weight decay, fewer seeds
        n_train=8000,
        n_val=2000,
        n_test=10000,
        widths=(16, 32),
        e_base=20,
        lr_grid=(0.01, 0.0316, 0.1, 0.316, 1.0),
        wd_grid=(5e-4,),
        select_seeds=2,
        final_seeds=5,
        chunk=5,
        range_iters=200,
    ),
    "full": Size(
        n_train=8000,
        n_val=2000,
        n_test=10000,
        widths=(16, 32),
        e_base=20,
        lr_grid=(0.01, 0.0316, 0.1, 0.316, 1.0),
        wd_grid=(5e-5, 5e-4),
        select_seeds=3,
        final_seeds=10,
        chunk=10,
        range_iters=200,
    ),
}


def short_budgets(e_base: int) -> list[int]:
    """One-cycle and control budgets: e_base/10, /5, /3 (rounded, at least 1, no repeats)."""
    return sorted({max(1, round(e_base / d)) for d in (10, 5, 3)})


def step_budgets(e_base: int) -> list[int]:
    """Shorter budgets of the tuned step baseline: 1/3, 1/2, 2/3 of e_base (below e_base)."""
    return sorted({max(1, round(e_base * f)) for f in (1 / 3, 1 / 2, 2 / 3)} - {e_base})


def epochs_to_target(means: dict[int, float], target: float, e_base: int) -> float | None:
    """Smallest budget whose held-out mean reaches ``target``, as a fraction of ``e_base``.

    ``means`` maps a budget in epochs to the mean test accuracy of that budget's run;
    None when no budget reaches the target.
    """
    hits = [epochs for epochs, mean in means.items() if mean >= target]
    return min(hits) / e_base if hits else None


def diff_with_se(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Difference of means ``mean(a) - mean(b)`` and its standard error (independent samples)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = (
        math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        if min(len(a), len(b)) > 1
        else float("nan")
    )
    return float(a.mean() - b.mean()), se


def onecycle_grid(center: float, n: int) -> tuple[float, ...]:
    """``n`` rates spaced by factors of 2 around ``center`` (geometric, centred)."""
    return tuple(float(center * 2.0 ** (k - (n - 1) / 2)) for k in range(n))


class Runner:
    """Trains runs in chunks of ``size.chunk``: one compiled program per budget (epochs)."""

    def __init__(self, size: Size, data: dict, n_classes: int, progress: Callable | None):
        self.size, self.n_classes, self.progress = size, n_classes, progress
        keys = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
        self.arrays = tuple(jnp.asarray(data[k]) for k in keys)
        self.trainers: dict = {}

    def n_chunks(self, n_runs: int) -> int:
        return -(-n_runs // self.size.chunk)

    def run(self, epochs: int, runs: list[tuple], with_test: bool) -> tuple[np.ndarray, ...]:
        """Train ``runs`` (``(policy, lr, wd, seed)`` tuples) for ``epochs``.

        Returns the history ``[runs, epochs, 2]`` (train loss, validation accuracy) and the
        test accuracy ``[runs]``.
        """
        s = self.size
        if epochs not in self.trainers:
            self.trainers[epochs] = make_trainer(
                epochs,
                n_train=len(self.arrays[0]),
                batch=s.batch,
                widths=s.widths,
                n_classes=self.n_classes,
                shift=s.shift,
                scale=s.scale,
            )
        histories, tests = [], []
        for start in range(0, len(runs), s.chunk):
            chunk = runs[start : start + s.chunk]
            padded = chunk + [chunk[-1]] * (s.chunk - len(chunk))  # keep one program shape
            policies, lrs, wds, seeds = zip(*padded)
            h, t = train_runs(
                self.trainers[epochs], seeds, lrs, wds, policies, self.arrays, with_test
            )
            histories.append(h[: len(chunk)])
            tests.append(t[: len(chunk)])
            if self.progress:
                self.progress()
        return np.concatenate(histories), np.concatenate(tests)

    def run_many(self, jobs: list[tuple[int, list]], with_test: bool) -> list[tuple]:
        """Run several ``(epochs, runs)`` jobs, those of one budget together; results in order."""
        out: list = [None] * len(jobs)
        for epochs in dict.fromkeys(e for e, _ in jobs):
            idx = [i for i, (e, _) in enumerate(jobs) if e == epochs]
            runs = [r for i in idx for r in jobs[i][1]]
            hist, test = self.run(epochs, runs, with_test)
            at = 0
            for i in idx:
                n = len(jobs[i][1])
                out[i] = (hist[at : at + n], test[at : at + n])
                at += n
        return out


def range_test(size: Size, data: dict, n_classes: int, progress: bool):
    """LR range test (1e-4 to 10) of the CNN, SGD momentum 0.9, augmented batches."""
    params, stats = init_cnn(jax.random.PRNGKey(0), size.widths, n_classes)

    def loss_fn(p, batch):
        x, y = batch
        return _xent(apply_cnn(p, stats, x, train=True)[0], y)

    rng = np.random.default_rng(0)
    keys = jax.random.split(jax.random.PRNGKey(1), size.range_iters)
    batches = []
    for key in keys:
        idx = rng.integers(0, len(data["x_train"]), size.batch)
        x = augment(key, jnp.asarray(data["x_train"][idx]), size.shift, size.scale)
        batches.append((x, jnp.asarray(data["y_train"][idx])))
    return jo.lr_range_test(
        loss_fn,
        params,
        batches,
        init_lr=1e-4,
        final_lr=10.0,
        num_iter=size.range_iters,
        progress=progress,
    )


def run_study(size: Size, data: dict, n_classes: int, progress: bool = True) -> dict:
    """Run the whole protocol; return a dict of plain Python values (see ``report``)."""
    start = time.perf_counter()
    finder = range_test(size, data, n_classes, progress)
    center = 5.0 * float(finder.suggestions["minimum"])
    oc_grid = onecycle_grid(center, len(size.lr_grid))
    e, budgets, step_short = size.e_base, short_budgets(size.e_base), step_budgets(size.e_base)

    select = [("baseline", "constant", e, size.lr_grid), ("baseline", "step", e, size.lr_grid)]
    for b in budgets:
        select += [
            ("onecycle", "onecycle", b, oc_grid),
            ("control", "step", b, size.lr_grid),
            ("control", "cosine", b, size.lr_grid),
        ]
    sel_seeds = range(SELECT_SEED0, SELECT_SEED0 + size.select_seeds)
    jobs = [
        (epochs, list(itertools.product([policy], grid, size.wd_grid, sel_seeds)))
        for _, policy, epochs, grid in select
    ]
    final_seeds = list(range(FINAL_SEED0, FINAL_SEED0 + size.final_seeds))
    bar = None
    if progress:
        from tqdm import tqdm

        n_sel = {e_: 0 for e_, _ in jobs}
        for e_, runs in jobs:
            n_sel[e_] += len(runs)
        n_fin = {e_: 0 for e_ in [*n_sel, *step_short]}
        for e_ in [e_ for e_, _ in jobs] + step_short:
            n_fin[e_] += size.final_seeds
        total = sum(-(-n // size.chunk) for n in [*n_sel.values(), *n_fin.values()])
        bar = tqdm(total=total, desc="training (chunks of runs)", unit="chunk")
    runner = Runner(size, data, n_classes, bar.update if bar else None)

    rows = []
    for (role, policy, epochs, grid), (hist, _) in zip(select, runner.run_many(jobs, False)):
        val = hist[:, -1, 1].reshape(len(grid), len(size.wd_grid), size.select_seeds).mean(-1)
        val = np.where(np.isfinite(val), val, -1.0)
        i, j = np.unravel_index(int(np.argmax(val)), val.shape)
        rows.append(
            {
                "role": role,
                "policy": policy,
                "epochs": epochs,
                "lr": float(grid[i]),
                "wd": float(size.wd_grid[j]),
                "lr_grid": [float(g) for g in grid],
                "wd_grid": list(size.wd_grid),
                "lr_at_grid_edge": i in (0, len(grid) - 1),
                "select_val_acc": val.tolist(),
                "select_val_mean": float(val[i, j]),
            }
        )
    step_row = next(r for r in rows if r["role"] == "baseline" and r["policy"] == "step")
    for b in step_short:
        rows.append(
            {
                **step_row,
                "role": "step_short",
                "epochs": b,
                "select_val_acc": None,
                "select_val_mean": None,
            }
        )

    final = runner.run_many(
        [(r["epochs"], [(r["policy"], r["lr"], r["wd"], s) for s in final_seeds]) for r in rows],
        True,
    )
    n = len(final_seeds)
    for row, (hist, test) in zip(rows, final):
        row.update(
            fraction=row["epochs"] / e,
            seeds=final_seeds,
            test_accs=test.tolist(),
            test_acc_mean=float(np.mean(test)),
            test_acc_sd=float(np.std(test, ddof=1)) if n > 1 else 0.0,
            val_curve=hist[:, :, 1].mean(0).tolist(),
            loss_curve=hist[:, :, 0].mean(0).tolist(),
        )
    if bar:
        bar.close()
    return summarise(rows, size, finder, center, oc_grid, time.perf_counter() - start)


def summarise(rows, size, finder, center, oc_grid, seconds) -> dict:
    """Targets, differences with standard errors, epochs-to-target, speed-ups."""
    e = size.e_base
    base = {r["policy"]: r for r in rows if r["role"] == "baseline"}
    target_policy = max(base, key=lambda p: base[p]["test_acc_mean"])
    target_accs = base[target_policy]["test_accs"]
    for r in rows:
        r["diff_to_target"], r["diff_se"] = diff_with_se(r["test_accs"], target_accs)
    oc = {r["epochs"]: r["test_acc_mean"] for r in rows if r["role"] == "onecycle"}
    to_target = {f"vs_{p}": epochs_to_target(oc, base[p]["test_acc_mean"], e) for p in base}
    step_target = base["step"]["test_acc_mean"]
    step_means = {r["epochs"]: r["test_acc_mean"] for r in rows if r["role"] == "step_short"}
    step_means[e] = step_target
    shortest_step = min(b for b, m in step_means.items() if m >= step_target)
    oc_step = to_target["vs_step"]
    return {
        "size": dataclasses.asdict(size),
        "e_base": e,
        "target_policy": target_policy,
        "target_accuracy": base[target_policy]["test_acc_mean"],
        "rows": rows,
        "range_test": {
            "suggestions": {k: float(v) for k, v in finder.suggestions.items()},
            "center": center,
            "onecycle_grid": list(oc_grid),
            "lrs": np.asarray(finder.lrs).tolist(),
            "smoothed_losses": np.asarray(finder.smoothed_losses).tolist(),
        },
        "epochs_to_target": to_target,
        "shortest_step_epochs_to_step_target": shortest_step,
        "speedup_vs_shortest_step": (shortest_step / (oc_step * e)) if oc_step else None,
        "wall_time_s": seconds,
        "finder": finder,
    }
