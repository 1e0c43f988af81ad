"""Generate golden reference values for the jax_onecycle "scheduler family".

Runs the real PyTorch learning-rate schedulers (``torch.optim.lr_scheduler``)
and the real Hugging Face ``transformers.optimization`` schedule factories,
records the learning rate each optimizer update uses, and writes
``tests/golden/family.json``.

Conventions (see ``tests/golden/FAMILY_NOTES.md`` for the observed quirks):

* ``cases[*].values[k]`` is ``opt.param_groups[0]["lr"]`` read just before the
  k-th ``opt.step()`` (k = 0 is the first update).  ``function``/``kwargs``
  name the jax_onecycle pure function that must reproduce it, called as
  ``getattr(jax_onecycle, function)(**kwargs)(step)`` for ``step`` in
  ``steps``.
* Epoch-based torch schedulers with ``steps_per_epoch=S``: each epoch runs S
  batches (read lr, ``opt.step()``) and then one ``sched.step()``.
* ``CosineAnnealingWarmRestarts`` with ``S > 1`` records the un-lagged per-batch form
  the SPEC specifies: batch ``b = epoch * S + i`` uses the lr set by
  ``scheduler.step(epoch + i / S)`` called *before* it, i.e. ``f(b / S)``.  (The loop
  in PyTorch's docstring calls ``scheduler.step(epoch + i / iters)`` *after*
  ``optimizer.step()``, so there batch ``b`` uses ``f((b - 1) / S)``: one batch late.)
  Where PyTorch's float path misplaces a restart (``int(math.log(...))``), the step is
  listed in the case's ``known_reference_bug_steps`` with the exact SGDR value in
  ``exact_values_at_bug_steps``; ``values`` keeps what PyTorch gives.

* ReduceLROnPlateau's golden values come from ``tests/make_golden_plateau.py``
  (``tests/golden/plateau.json``).

The script is deterministic (no randomness) and
can be re-run at any time:  ``python tests/make_golden_family.py``.
"""

from __future__ import annotations

import json
import math
import os
from fractions import Fraction

import torch
import transformers
from torch.optim import lr_scheduler as tls
from transformers import optimization as hfo

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "family.json")


# --------------------------------------------------------------------------- helpers


def _make_opt(lr: float) -> torch.optim.Optimizer:
    """A one-parameter SGD optimizer; ``step()`` is a no-op (no grads)."""
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _lr(opt: torch.optim.Optimizer) -> float:
    return float(opt.param_groups[0]["lr"])


def _run_epoch_based(
    make_sched, base_lr: float, num_epochs: int, steps_per_epoch: int
) -> list[float]:
    """Per-epoch stepping: S batches (read lr, opt.step()), then sched.step()."""
    opt = _make_opt(base_lr)
    sched = make_sched(opt)
    values = []
    for _ in range(num_epochs):
        for _ in range(steps_per_epoch):
            values.append(_lr(opt))
            opt.step()
        sched.step()
    return values


def _run_per_step(make_sched, base_lr: float, num_steps: int) -> list[float]:
    """Per-update stepping (HF style): read lr, opt.step(), sched.step()."""
    opt = _make_opt(base_lr)
    sched = make_sched(opt)
    values = []
    for _ in range(num_steps):
        values.append(_lr(opt))
        opt.step()
        sched.step()
    return values


def _case(case_id: str, reference: str, function: str, kwargs: dict, values: list[float]) -> dict:
    return {
        "id": case_id,
        "reference": reference,
        "function": function,
        "kwargs": kwargs,
        "steps": list(range(len(values))),
        "values": [float(v) for v in values],
    }


# --------------------------------------------------------------------------- torch: StepLR


def step_lr_cases() -> list[dict]:
    cases = []
    grid = [(ss, g, spe, 0.1) for ss in (1, 3, 30) for g in (0.1, 0.5) for spe in (1, 4)]
    grid.append((3, 0.5, 1, 3e-4))
    for step_size, gamma, spe, base_lr in grid:
        epochs = {1: 20, 3: 20, 30: 65}[step_size]
        values = _run_epoch_based(
            lambda opt: tls.StepLR(opt, step_size=step_size, gamma=gamma), base_lr, epochs, spe
        )
        kwargs = {
            "base_lr": base_lr,
            "step_size": step_size,
            "gamma": gamma,
            "steps_per_epoch": spe,
        }
        cases.append(
            _case(
                f"steplr_ss{step_size}_g{gamma}_spe{spe}_lr{base_lr}",
                "torch.optim.lr_scheduler.StepLR",
                "step_schedule",
                kwargs,
                values,
            )
        )
    return cases


# --------------------------------------------------------------------------- torch: MultiStepLR


def multistep_lr_cases() -> list[dict]:
    cases = []
    grid = [
        (ms, g, spe, 0.1)
        for ms in ([0, 1], [1], [3, 5, 9], [2, 2, 5])
        for g in (0.1, 0.5)
        for spe in (1, 3)
    ]
    grid.append(([3, 5, 9], 0.5, 1, 3e-4))
    for milestones, gamma, spe, base_lr in grid:
        epochs = 12
        values = _run_epoch_based(
            lambda opt: tls.MultiStepLR(opt, milestones=list(milestones), gamma=gamma),
            base_lr,
            epochs,
            spe,
        )
        kwargs = {
            "base_lr": base_lr,
            "milestones": list(milestones),
            "gamma": gamma,
            "steps_per_epoch": spe,
        }
        ms_id = "-".join(str(m) for m in milestones)
        cases.append(
            _case(
                f"multisteplr_m{ms_id}_g{gamma}_spe{spe}_lr{base_lr}",
                "torch.optim.lr_scheduler.MultiStepLR",
                "multistep_schedule",
                kwargs,
                values,
            )
        )
    return cases


# ---- torch: CosineAnnealingLR


def cosine_annealing_lr_cases() -> list[dict]:
    cases = []
    grid = [(t, e, spe, 0.1) for t in (1, 10, 50) for e in (0.0, 0.01) for spe in (1, 2)]
    grid.append((10, 0.0, 1, 3e-4))
    for t_max, eta_min, spe, base_lr in grid:
        epochs = 3 * t_max + 1  # epochs 0 .. 3*t_max inclusive
        values = _run_epoch_based(
            lambda opt: tls.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min),
            base_lr,
            epochs,
            spe,
        )
        kwargs = {"base_lr": base_lr, "t_max": t_max, "eta_min": eta_min, "steps_per_epoch": spe}
        cases.append(
            _case(
                f"cosineannealinglr_t{t_max}_emin{eta_min}_spe{spe}_lr{base_lr}",
                "torch.optim.lr_scheduler.CosineAnnealingLR",
                "cosine_annealing_schedule",
                kwargs,
                values,
            )
        )
    return cases


# ---- torch: CosineAnnealingWarmRestarts


def _run_warm_restarts(base_lr, t_0, t_mult, eta_min, num_epochs, spe) -> list[float]:
    opt = _make_opt(base_lr)
    sched = tls.CosineAnnealingWarmRestarts(opt, T_0=t_0, T_mult=t_mult, eta_min=eta_min)
    values = []
    if spe == 1:
        for _ in range(num_epochs):
            values.append(_lr(opt))
            opt.step()
            sched.step()
        return values
    # Per-batch form, un-lagged: step(epoch + i / S) *before* batch i reads its lr.
    for epoch in range(num_epochs):
        for i in range(spe):
            sched.step(epoch + i / spe)
            values.append(_lr(opt))
            opt.step()
    return values


def _sgdr_exact(base_lr, t_0, t_mult, eta_min, epoch) -> float:
    """SGDR at a real epoch with the cycle located in exact integer/fraction arithmetic."""
    epoch = Fraction(epoch)
    start, length = Fraction(0), Fraction(t_0)
    while epoch >= start + length:
        start, length = start + length, length * t_mult
    cosine = math.cos(math.pi * float((epoch - start) / length))
    return eta_min + (base_lr - eta_min) * (1 + cosine) / 2


def _torch_float_restart_bugs(t_0, t_mult, num_epochs, spe) -> list[int]:
    """Batches whose epoch PyTorch's float path puts in the wrong cycle.

    Mirrors ``CosineAnnealingWarmRestarts.step(epoch)``: the cycle index is
    ``int(math.log(epoch / T_0 * (T_mult - 1) + 1, T_mult))``; compare it with the exact one.
    """
    bugs = []
    if spe == 1 or t_mult == 1:
        return bugs  # integer path / ``epoch % T_0``: exact
    for epoch in range(num_epochs):
        for i in range(spe):
            e = epoch + i / spe
            if e < t_0:
                continue
            n_torch = int(math.log((e / t_0 * (t_mult - 1) + 1), t_mult))
            n, start = 0, 0
            while Fraction(epoch * spe + i, spe) >= start + t_0 * t_mult**n:
                start, n = start + t_0 * t_mult**n, n + 1
            if n_torch != n:
                bugs.append(epoch * spe + i)
    return bugs


def warm_restarts_cases() -> list[dict]:
    cases = []
    grid = [
        (t0, tm, e, spe, 0.1, 45)
        for t0 in (1, 5, 10)
        for tm in (1, 2, 3)
        for e in (0.0, 0.01)
        for spe in (1, 5)
    ]
    grid.append((5, 2, 0.0, 1, 3e-4, 45))
    # Float edge: math.log(243, 3) == 4.999999999999999 -> the float-epoch
    # branch mis-locates the restart at epoch 121 (T_0=1, T_mult=3).
    grid.append((1, 3, 0.0, 2, 0.1, 125))
    grid.append((1, 3, 0.0, 1, 0.1, 125))
    for t_0, t_mult, eta_min, spe, base_lr, epochs in grid:
        values = _run_warm_restarts(base_lr, t_0, t_mult, eta_min, epochs, spe)
        kwargs = {
            "base_lr": base_lr,
            "t_0": t_0,
            "t_mult": t_mult,
            "eta_min": eta_min,
            "steps_per_epoch": spe,
        }
        case = _case(
            f"warmrestarts_t0{t_0}_tm{t_mult}_emin{eta_min}_spe{spe}_lr{base_lr}_ep{epochs}",
            "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts",
            "cosine_warm_restarts_schedule",
            kwargs,
            values,
        )
        bugs = _torch_float_restart_bugs(t_0, t_mult, epochs, spe)
        if bugs:
            case["known_reference_bug_steps"] = bugs
            case["exact_values_at_bug_steps"] = [
                _sgdr_exact(base_lr, t_0, t_mult, eta_min, Fraction(b, spe)) for b in bugs
            ]
        cases.append(case)
    return cases


# --------------------------------------------------------------------------- HF: linear


def hf_linear_cases() -> list[dict]:
    cases = []
    grid = [
        (0.1, 0, 100),
        (0.1, 10, 100),
        (0.1, 100, 100),
        (0.1, 5, 20),
        (0.1, 0, 1),
        (3e-4, 10, 100),
    ]
    for base_lr, warm, total in grid:
        values = _run_per_step(
            lambda opt: hfo.get_linear_schedule_with_warmup(
                opt, num_warmup_steps=warm, num_training_steps=total
            ),
            base_lr,
            total + 11,
        )
        kwargs = {"base_lr": base_lr, "num_warmup_steps": warm, "num_training_steps": total}
        cases.append(
            _case(
                f"hf_linear_w{warm}_n{total}_lr{base_lr}",
                "transformers.get_linear_schedule_with_warmup",
                "linear_schedule_with_warmup",
                kwargs,
                values,
            )
        )
    return cases


# --------------------------------------------------------------------------- HF: cosine


def hf_cosine_cases() -> list[dict]:
    cases = []
    grid = [(0.1, w, 100, c) for w in (0, 10) for c in (0.5, 1.0, 2.5)]
    grid += [(0.1, 100, 100, 0.5), (0.1, 20, 20, 1.0), (3e-4, 10, 100, 0.5)]
    for base_lr, warm, total, cycles in grid:
        values = _run_per_step(
            lambda opt: hfo.get_cosine_schedule_with_warmup(
                opt, num_warmup_steps=warm, num_training_steps=total, num_cycles=cycles
            ),
            base_lr,
            total + 11,
        )
        kwargs = {
            "base_lr": base_lr,
            "num_warmup_steps": warm,
            "num_training_steps": total,
            "num_cycles": cycles,
        }
        cases.append(
            _case(
                f"hf_cosine_w{warm}_n{total}_c{cycles}_lr{base_lr}",
                "transformers.get_cosine_schedule_with_warmup",
                "cosine_schedule_with_warmup",
                kwargs,
                values,
            )
        )
    return cases


# --------------------------------------------------------------------------- HF: constant


def hf_constant_cases() -> list[dict]:
    cases = []
    # (base_lr, num_warmup_steps, number of recorded steps)
    grid = [(0.1, 0, 30), (0.1, 10, 40), (0.1, 1, 10), (0.1, 100, 111), (3e-4, 10, 40)]
    for base_lr, warm, n in grid:
        values = _run_per_step(
            lambda opt: hfo.get_constant_schedule_with_warmup(opt, num_warmup_steps=warm),
            base_lr,
            n,
        )
        kwargs = {"base_lr": base_lr, "num_warmup_steps": warm}
        cases.append(
            _case(
                f"hf_constant_w{warm}_lr{base_lr}",
                "transformers.get_constant_schedule_with_warmup",
                "constant_schedule_with_warmup",
                kwargs,
                values,
            )
        )
    return cases


# --------------------------------------------------------------------------- HF: WSD


def hf_wsd_cases() -> list[dict]:
    cases = []
    # (base_lr, warmup, stable, decay, min_lr_ratio, decay_type, warmup_type, num_cycles)
    grid = []
    for ratio in (0.0, 0.1):
        for dt in ("cosine", "linear", "1-sqrt"):
            for wt in ("linear", "cosine", "1-sqrt"):
                grid.append((0.1, 10, 20, 30, ratio, dt, wt, 0.5))
    grid += [
        (0.1, 0, 20, 30, 0.0, "cosine", "linear", 0.5),  # zero warmup
        (0.1, 0, 20, 30, 0.1, "linear", "linear", 0.5),
        (0.1, 10, 0, 30, 0.0, "cosine", "linear", 0.5),  # zero stable
        (0.1, 10, 0, 30, 0.1, "1-sqrt", "cosine", 0.5),
        (0.1, 10, 20, 0, 0.0, "cosine", "linear", 0.5),  # zero decay
        (0.1, 10, 20, 0, 0.1, "linear", "1-sqrt", 0.5),
        (0.1, 0, 0, 30, 0.1, "cosine", "linear", 0.5),  # decay only
        (0.1, 10, 20, 30, 0.0, "cosine", "linear", 1.0),  # num_cycles
        (0.1, 10, 20, 30, 0.1, "cosine", "linear", 2.5),
        (0.1, 10, 20, 30, 0.1, "linear", "linear", 2.5),  # num_cycles ignored by linear
        (3e-4, 10, 20, 30, 0.1, "cosine", "linear", 0.5),
    ]
    for base_lr, warm, stable, decay, ratio, dt, wt, cycles in grid:
        total = warm + stable + decay
        values = _run_per_step(
            lambda opt: hfo.get_wsd_schedule(
                opt,
                num_warmup_steps=warm,
                num_decay_steps=decay,
                num_stable_steps=stable,
                warmup_type=wt,
                decay_type=dt,
                min_lr_ratio=ratio,
                num_cycles=cycles,
            ),
            base_lr,
            total + 11,
        )
        kwargs = {
            "base_lr": base_lr,
            "num_warmup_steps": warm,
            "num_stable_steps": stable,
            "num_decay_steps": decay,
            "min_lr_ratio": ratio,
            "decay_type": dt,
            "warmup_type": wt,
            "num_cycles": cycles,
        }
        cases.append(
            _case(
                f"hf_wsd_w{warm}_s{stable}_d{decay}_r{ratio}_dec-{dt}_wu-{wt}_c{cycles}_lr{base_lr}",
                "transformers.get_wsd_schedule",
                "wsd_schedule",
                kwargs,
                values,
            )
        )
    return cases


# --------------------------------------------------------------------------- main


def main() -> None:
    cases = (
        step_lr_cases()
        + multistep_lr_cases()
        + cosine_annealing_lr_cases()
        + warm_restarts_cases()
        + hf_linear_cases()
        + hf_cosine_cases()
        + hf_constant_cases()
        + hf_wsd_cases()
    )
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for c in cases:
        assert all(math.isfinite(v) for v in c["values"]), c["id"]
    doc = {
        "generated_by": "tests/make_golden_family.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT_PATH}: {len(cases)} cases")


if __name__ == "__main__":
    main()
