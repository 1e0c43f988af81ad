"""Generate golden values for ReduceLROnPlateau, both forms, by running PyTorch.

Writes ``tests/golden/plateau.json`` with two lists:

* ``plateau_cases``: a metric sequence fed to ``torch.optim.lr_scheduler.ReduceLROnPlateau``
  once per epoch; ``values[k]`` is the lr right after ``sched.step(metrics[k])``. The
  brainstate facade and the pure rule (``jax_onecycle.optim._plateau.update``) must reproduce it.
* ``training_cases``: ``torch.optim.SGD(lr, momentum, nesterov)`` on one float32 parameter
  vector, fed the stored gradient ``grads[k]`` at batch ``k``; after every
  ``accumulation_size`` batches the mean (in float64) of their ``metrics`` is one
  ``sched.step(mean)``. ``lrs[k]`` is the lr batch ``k`` used, ``lrs_after[k]`` the lr after
  the scheduler saw batch ``k``, ``params[k]`` the parameter after batch ``k``.
  ``optax.chain(optax.sgd(1.0, momentum=m, nesterov=n), reduce_lr_on_plateau(lr=lr, ...))``
  must reproduce it.

Metrics and gradients are rounded to float32 before use, so that both sides see the same
numbers. NaN metrics are written as JSON ``NaN`` (Python's ``json`` reads it back).
Deterministic (fixed numpy seeds): ``python tests/make_golden_plateau.py``.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import torch
from torch.optim import lr_scheduler as tls

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "plateau.json")
NAN = math.nan


def _plateau_kwargs(**over) -> dict:
    kw = {
        "lr": 0.1,
        "mode": "min",
        "factor": 0.1,
        "patience": 10,
        "threshold": 1e-4,
        "threshold_mode": "rel",
        "cooldown": 0,
        "min_lr": 0.0,
        "eps": 1e-8,
    }
    for k, v in over.items():
        assert k in kw, k
        kw[k] = v
    return kw


def _scheduler(opt: torch.optim.Optimizer, kw: dict) -> tls.ReduceLROnPlateau:
    return tls.ReduceLROnPlateau(opt, **{k: v for k, v in kw.items() if k != "lr"})


def _run_plateau(kw: dict, metrics: list[float]) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=kw["lr"])
    sched = _scheduler(opt, kw)
    values = []
    for m in metrics:
        opt.step()  # no gradient: a no-op, kept for PyTorch's order
        sched.step(m)
        values.append(float(opt.param_groups[0]["lr"]))
    return values


def _noisy_decay(seed, n, start=1.0, rate=0.08, floor=0.3, noise=0.05):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return [
        float(v)
        for v in floor + (start - floor) * np.exp(-rate * t) + noise * rng.standard_normal(n)
    ]


def _noisy_rise(seed, n):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return [float(v) for v in 0.9 - 0.6 * np.exp(-0.1 * t) + 0.03 * rng.standard_normal(n)]


def _f32(values: list[float]) -> list[float]:
    return [float(np.float32(v)) for v in values]


def plateau_cases() -> list[dict]:
    flat_after = [1.0 - 0.1 * k for k in range(5)] + [0.6] * 35  # improves 5 epochs then flat
    kw = _plateau_kwargs
    specs = [
        ("min_rel_basic", kw(patience=3), flat_after),
        ("min_rel_constant", kw(patience=2, factor=0.5), [1.0] * 40),
        (
            "min_abs_constant",
            kw(patience=2, factor=0.5, threshold=0.0, threshold_mode="abs"),
            [0.7] * 30,
        ),
        (
            "min_patience0",
            kw(patience=0, factor=0.5),
            [1.0, 0.9, 0.95, 0.8, 0.8, 0.85, 0.7] + [0.7] * 25,
        ),
        ("min_rel_noisy", kw(patience=4, factor=0.5, threshold=1e-2), _noisy_decay(0, 60)),
        (
            "min_abs_noisy",
            kw(patience=3, factor=0.3, threshold=0.02, threshold_mode="abs"),
            _noisy_decay(1, 60),
        ),
        (
            "max_rel_noisy",
            kw(mode="max", patience=3, factor=0.5, threshold=1e-2),
            _noisy_rise(2, 50),
        ),
        (
            "max_abs_noisy",
            kw(mode="max", patience=2, factor=0.5, threshold=0.01, threshold_mode="abs"),
            _noisy_rise(3, 50),
        ),
        ("max_rel_constant", kw(mode="max", patience=1, factor=0.5), [0.5] * 30),
        # cooldown: best keeps improving during cooldown, then stalls
        (
            "min_cooldown_best_improves",
            kw(patience=2, factor=0.5, cooldown=3),
            [1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.6] + [0.65] * 27,
        ),
        ("min_cooldown_constant", kw(patience=1, factor=0.5, cooldown=2), [1.0] * 40),
        (
            "max_cooldown_noisy",
            kw(mode="max", patience=2, factor=0.5, cooldown=4, threshold=1e-3),
            _noisy_rise(4, 50),
        ),
        # floor: min_lr reached and held
        ("min_lr_floor", kw(patience=1, factor=0.1, min_lr=1e-4), [1.0] * 30),
        # eps: last reduction towards min_lr is smaller than eps -> skipped
        # (lr never snaps to min_lr)
        # (0.1 -> 0.05 -> 0.025 -> 0.0125, then max(0.00625, min_lr) is only 5e-9 below 0.0125)
        ("eps_skip_near_min_lr", kw(patience=1, factor=0.5, min_lr=0.012499995), [1.0] * 30),
        # eps: geometric decay stops once lr*(1-factor) <= eps
        ("eps_skip_small_lr", kw(lr=1e-6, patience=0, factor=0.5, eps=1e-7), [1.0] * 30),
        (
            "min_rel_negative_metrics",
            kw(patience=2, factor=0.5, threshold=0.1),
            [-1.0, -1.05, -1.08, -1.2, -1.25, -1.3, -1.3] + [-1.35 - 0.01 * k for k in range(25)],
        ),
        # rel mode with negative metrics: best * (1 - threshold) is *above* best,
        # so a constant counts as better
        ("min_rel_negative_constant", kw(patience=1, factor=0.5), [-1.0] * 30),
        (
            "min_patience0_cooldown2_noisy",
            kw(patience=0, factor=0.5, cooldown=2, threshold=1e-3),
            _noisy_decay(6, 40),
        ),
        ("min_lr3e-4_noisy", kw(lr=3e-4, patience=5, factor=0.2, min_lr=1e-6), _noisy_decay(5, 60)),
        # NaN: never better, always a bad epoch; a NaN first leaves best at +-inf
        (
            "min_rel_nan_metrics",
            kw(patience=1, factor=0.5),
            [1.0, 0.9, NAN, NAN, 0.8, NAN, 0.7, 0.7, NAN, 0.6] + [NAN] * 10,
        ),
        (
            "max_abs_nan_first",
            kw(mode="max", patience=0, factor=0.5, threshold=0.05, threshold_mode="abs"),
            [NAN, NAN, 0.1, 0.12, 0.2, NAN, 0.3, 0.3, 0.4],
        ),
        (
            "min_abs_negative_cooldown",
            kw(patience=1, factor=0.5, threshold=0.05, threshold_mode="abs", cooldown=2),
            [-0.5, -0.6, -0.62, -0.6, -0.7, -0.71, -0.72, -0.9, -0.9, -0.9, -0.91, -0.93, -0.95],
        ),
    ]
    cases = []
    for case_id, kwargs, metrics in specs:
        metrics = _f32(metrics)
        cases.append(
            {
                "id": case_id,
                "kwargs": kwargs,
                "metrics": metrics,
                "values": _run_plateau(kwargs, metrics),
            }
        )
    return cases


def _run_training(kw: dict, momentum: float, nesterov: bool, size: int, p0, grads, metrics) -> dict:
    param = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float32))
    opt = torch.optim.SGD([param], lr=kw["lr"], momentum=momentum, nesterov=nesterov)
    sched = _scheduler(opt, kw)
    lrs, lrs_after, params, window = [], [], [], []
    for g, m in zip(grads, metrics, strict=True):
        lrs.append(float(opt.param_groups[0]["lr"]))
        param.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        params.append([float(x) for x in param.detach().numpy()])
        window.append(m)
        if len(window) == size:
            sched.step(sum(window) / size)
            window = []
        lrs_after.append(float(opt.param_groups[0]["lr"]))
    return {"lrs": lrs, "lrs_after": lrs_after, "params": params}


def training_cases() -> list[dict]:
    kw = _plateau_kwargs
    specs = [
        # (id, kwargs, momentum, nesterov, accumulation_size, metrics of every batch)
        (
            "sgd_m0.9_acc1_noisy",
            kw(lr=0.1, patience=2, factor=0.5),
            0.9,
            False,
            1,
            _noisy_decay(10, 40),
        ),
        (
            "sgd_m0.9_acc4_noisy",
            kw(lr=0.1, patience=1, factor=0.5, threshold=1e-2),
            0.9,
            False,
            4,
            _noisy_decay(11, 80, noise=0.1),
        ),
        (
            "sgd_m0.5_acc3_negative_abs",
            kw(lr=0.05, patience=1, factor=0.5, threshold=0.05, threshold_mode="abs"),
            0.5,
            False,
            3,
            [-1.0 - 0.5 * (1 - math.exp(-0.2 * k)) for k in range(45)],
        ),
        (
            "sgd_m0.9_acc2_nan",
            kw(lr=0.2, patience=0, factor=0.5, cooldown=1),
            0.9,
            False,
            2,
            [1.0, 0.9, 0.8, NAN, 0.7, 0.7, 0.6, 0.6, NAN, NAN, 0.5, 0.5, 0.7, 0.7, 0.4, 0.4]
            + [0.4] * 8,
        ),
        (
            "nesterov_max_abs_cooldown_acc5",
            kw(
                lr=0.3,
                mode="max",
                patience=1,
                factor=0.3,
                threshold=0.01,
                threshold_mode="abs",
                cooldown=2,
            ),
            0.9,
            True,
            5,
            _noisy_rise(12, 100),
        ),
        (
            "sgd_m0_acc2_floor_eps",
            kw(lr=0.1, patience=0, factor=0.1, min_lr=1e-4, eps=1e-6),
            0.0,
            False,
            2,
            [1.0] * 24,
        ),
    ]
    cases = []
    for n, (case_id, kwargs, momentum, nesterov, size, metrics) in enumerate(specs):
        rng = np.random.default_rng(100 + n)
        metrics = _f32(metrics)
        grads = [_f32(g) for g in rng.standard_normal((len(metrics), 3))]
        p0 = _f32(rng.standard_normal(3))
        run = _run_training(kwargs, momentum, nesterov, size, p0, grads, metrics)
        cases.append(
            {
                "id": case_id,
                "kwargs": kwargs,
                "momentum": momentum,
                "nesterov": nesterov,
                "accumulation_size": size,
                "p0": p0,
                "grads": grads,
                "metrics": metrics,
                **run,
            }
        )
    return cases


def main() -> None:
    plateau, training = plateau_cases(), training_cases()
    ids = [c["id"] for c in plateau + training]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for c in plateau:
        assert all(math.isfinite(v) for v in c["values"]), c["id"]
    for c in training:
        assert len(set(c["lrs"])) > 1, f"{c['id']}: the rate never changes"
    doc = {
        "generated_by": "tests/make_golden_plateau.py",
        "versions": {"torch": torch.__version__},
        "plateau_cases": plateau,
        "training_cases": training,
    }
    with open(OUT_PATH, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT_PATH}: {len(plateau)} plateau cases, {len(training)} training cases")


if __name__ == "__main__":
    main()
