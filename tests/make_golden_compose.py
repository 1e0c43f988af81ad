"""Generate golden values for composed schedules: SequentialLR, LambdaLR, MultiplicativeLR.

Runs the real PyTorch schedulers (``torch.optim.lr_scheduler``, and Hugging Face's warmup
factories, which are ``LambdaLR`` objects) and writes ``tests/golden/compose.json``.

Conventions:

* ``values[k]`` is the learning rate update ``k`` uses: ``opt.param_groups[0]["lr"]`` read
  before the k-th ``opt.step()``; the scheduler steps once per epoch of ``steps_per_epoch``
  batches (read lr, ``opt.step()``), or once per batch for per-batch parts (CyclicLR,
  OneCycleLR, Hugging Face's warmups).
* ``sequential`` cases: ``parts`` are the ``jax_onecycle`` schedules (``function`` and
  ``kwargs``) and ``milestones`` their milestones in batches (PyTorch's ``torch_milestones``
  times ``steps_per_epoch``). ``values`` is SPEC's restart rule computed from PyTorch: each
  part run alone, on its own optimizer, spliced at the milestones (``part_i(k - m_i)``).
  ``torch_sequential`` is what ``SequentialLR`` over the same parts gives; where the two
  differ (``departs``), PyTorch does not restart the later part (a ``MultiplicativeLR``
  carries on from the previous rate; ``OneCycleLR`` overwrites ``initial_lr``).
* ``lambda`` and ``multiplicative`` cases: ``lr_lambda`` names a rule of ``LAMBDAS`` (the
  test module has the same rules written with ``jnp``); ``values`` are PyTorch's
  ``LambdaLR`` / ``MultiplicativeLR``.

Deterministic; re-run with ``python tests/make_golden_compose.py``.
"""

from __future__ import annotations

import json
import math
import os

import torch
import transformers
from torch.optim import lr_scheduler as tls
from transformers import optimization as hfo

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "compose.json")
TOLERANCE = dict(rel=1e-9, abs=1e-15)


def _warmup_cosine(warmup: int, total: int):
    """The guide's ``get_warmup_cosine_scheduler`` rule (plain Python: float, max, math.cos)."""

    def lr_lambda(epoch):
        if epoch < warmup:
            return float(epoch) / float(max(1, warmup))
        progress = float(epoch - warmup) / float(max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return lr_lambda


# The rules given to LambdaLR / MultiplicativeLR, by name (the tests hold jnp versions).
LAMBDAS = {
    "pow_0.95": lambda e: 0.95**e,
    "inverse_1_plus_e": lambda e: 1.0 / (1.0 + e),
    "warmup_cosine_5_30": _warmup_cosine(5, 30),
    "const_0.9": lambda e: 0.9,
    "one_minus_0.02e": lambda e: 1.0 - 0.02 * e,
    "halve_every_3": lambda e: 0.5 if e % 3 == 0 else 1.0,
}


def _opt(lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)


def _lr(opt: torch.optim.Optimizer) -> float:
    return float(opt.param_groups[0]["lr"])


def _run(sched, opt, epochs: int, spe: int) -> list[float]:
    values = []
    for _ in range(epochs):
        for _ in range(spe):
            values.append(_lr(opt))
            opt.step()
        sched.step()
    return values


# Each part: (jax_onecycle function, its kwargs without base_lr, torch constructor).
def _parts(lr: float) -> dict[str, tuple]:
    return {
        "linear": ("linear_lr_schedule", dict(start_factor=0.1, end_factor=1.0, total_iters=5),
                   lambda o: tls.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5)),
        "cosine": ("cosine_annealing_schedule", dict(t_max=12, eta_min=0.001),
                   lambda o: tls.CosineAnnealingLR(o, T_max=12, eta_min=0.001)),
        "constant": ("constant_lr_schedule", dict(factor=0.25, total_iters=3),
                     lambda o: tls.ConstantLR(o, factor=0.25, total_iters=3)),
        "exponential": ("exponential_schedule", dict(gamma=0.8),
                        lambda o: tls.ExponentialLR(o, gamma=0.8)),
        "step": ("step_schedule", dict(step_size=3, gamma=0.5),
                 lambda o: tls.StepLR(o, step_size=3, gamma=0.5)),
        "multistep": ("multistep_schedule", dict(milestones=[2, 5], gamma=0.3),
                      lambda o: tls.MultiStepLR(o, milestones=[2, 5], gamma=0.3)),
        "polynomial": ("polynomial_schedule", dict(total_iters=6, power=2.0),
                       lambda o: tls.PolynomialLR(o, total_iters=6, power=2.0)),
        "warm_restarts": ("cosine_warm_restarts_schedule", dict(t_0=3, t_mult=2, eta_min=0.002),
                          lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                    eta_min=0.002)),
        "cyclic": ("cyclic_schedule", dict(max_lr=lr * 4, step_size_up=3, step_size_down=2),
                   lambda o: tls.CyclicLR(o, base_lr=lr, max_lr=lr * 4, step_size_up=3,
                                          step_size_down=2, cycle_momentum=False)),
        "hf_linear": ("linear_schedule_with_warmup",
                      dict(num_warmup_steps=3, num_training_steps=10),
                      lambda o: hfo.get_linear_schedule_with_warmup(o, 3, 10)),
        "hf_cosine": ("cosine_schedule_with_warmup",
                      dict(num_warmup_steps=2, num_training_steps=12, num_cycles=0.5),
                      lambda o: hfo.get_cosine_schedule_with_warmup(o, 2, 12, 0.5)),
        "hf_constant": ("constant_schedule_with_warmup", dict(num_warmup_steps=4),
                        lambda o: hfo.get_constant_schedule_with_warmup(o, 4)),
        "wsd": ("wsd_schedule", dict(num_warmup_steps=2, num_stable_steps=3, num_decay_steps=4,
                                     min_lr_ratio=0.1),
                lambda o: hfo.get_wsd_schedule(o, 2, 4, num_stable_steps=3, min_lr_ratio=0.1)),
        "onecycle": ("onecycle_schedule", dict(max_lr=lr * 10, total_steps=20,
                                               convention="torch"),
                     lambda o: tls.OneCycleLR(o, max_lr=lr * 10, total_steps=20,
                                              cycle_momentum=False)),
        "multiplicative": ("multiplicative_schedule", dict(lr_lambda="const_0.9"),
                           lambda o: tls.MultiplicativeLR(o, LAMBDAS["const_0.9"])),
        "lambda": ("lambda_schedule", dict(lr_lambda="pow_0.95"),
                   lambda o: tls.LambdaLR(o, LAMBDAS["pow_0.95"])),
    }  # fmt: skip


def _kwargs(function: str, kwargs: dict, lr: float, spe: int) -> dict:
    """The jax_onecycle keyword arguments of a part (its own rate, its per-epoch driving)."""
    if "max_lr" not in kwargs or function == "cyclic_schedule":
        kwargs = {"base_lr": lr, **kwargs}
    per_batch = function in ("cyclic_schedule", "onecycle_schedule") or "warmup" in function
    if spe != 1 and not per_batch and function != "wsd_schedule":
        kwargs["steps_per_epoch"] = spe
    return kwargs


def sequential_case(case_id: str, names: list[str], torch_milestones: list[int], epochs: int,
                    lr: float = 0.1, spe: int = 1) -> dict:  # fmt: skip
    table = _parts(lr)
    # What SequentialLR gives (every part built on the one optimizer, as PyTorch code does).
    opt = _opt(lr)
    scheds = [table[n][2](opt) for n in names]
    seq = tls.SequentialLR(opt, scheds, milestones=torch_milestones)
    torch_values = _run(seq, opt, epochs, spe)
    # SPEC's restart rule, from PyTorch: each part alone on its own optimizer, spliced.
    alone, ends = [], [0, *torch_milestones, epochs]
    for i, n in enumerate(names):  # each part only as long as it runs (OneCycleLR stops)
        o = _opt(lr)
        alone.append(_run(table[n][2](o), o, ends[i + 1] - ends[i], spe))
    marks = [m * spe for m in torch_milestones]
    values = []
    for k in range(epochs * spe):
        i = sum(k >= m for m in marks)
        values.append(alone[i][k - (marks[i - 1] if i else 0)])
    departs = any(
        not math.isclose(a, b, rel_tol=TOLERANCE["rel"], abs_tol=TOLERANCE["abs"])
        for a, b in zip(values, torch_values, strict=True)
    )
    parts = [{"function": table[n][0], "kwargs": _kwargs(table[n][0], table[n][1], lr, spe)}
             for n in names]  # fmt: skip
    return {
        "id": case_id,
        "kind": "sequential",
        "reference": "SequentialLR([" + ", ".join(names) + f"], milestones={torch_milestones})",
        "parts": parts,
        "milestones": marks,
        "torch_milestones": torch_milestones,
        "steps_per_epoch": spe,
        "steps": list(range(epochs * spe)),
        "values": values,
        "torch_sequential": torch_values,
        "departs": departs,
    }


def lambda_case(kind: str, name: str, epochs: int, lr: float = 0.1) -> dict:
    opt = _opt(lr)
    make = tls.LambdaLR if kind == "lambda" else tls.MultiplicativeLR
    values = _run(make(opt, LAMBDAS[name]), opt, epochs, 1)
    return {
        "id": f"{kind}_{name}",
        "kind": kind,
        "reference": f"{make.__name__}(optimizer(lr={lr}), lr_lambda={name})",
        "base_lr": lr,
        "lr_lambda": name,
        "steps": list(range(epochs)),
        "values": values,
    }


def main() -> None:
    every = [n for n in _parts(0.1) if n not in ("linear", "multiplicative", "lambda")]
    cases = [
        sequential_case("linear_to_cosine", ["linear", "cosine"], [5], 40),
        sequential_case("linear_to_cosine_spe3", ["linear", "cosine"], [5], 20, spe=3),
        sequential_case("constant_exponential_step", ["constant", "exponential", "step"],
                        [4, 9], 24),
        sequential_case("multistep_to_polynomial", ["multistep", "polynomial"], [7], 20),
        sequential_case("one_part", ["cosine"], [], 16),
        # every family schedule as a part: a LinearLR warmup into it
        *[sequential_case(f"warmup_into_{n}", ["linear", n], [4], 22) for n in every],
        # ... and as the first part, into a cosine anneal
        *[sequential_case(f"{n}_then_cosine", [n, "cosine"], [6], 22)
          for n in every if n != "onecycle"],
        sequential_case("linear_to_lambda", ["linear", "lambda"], [4], 16),
        sequential_case("exponential_to_multiplicative", ["exponential", "multiplicative"],
                        [4], 14),
        sequential_case("multiplicative_to_step", ["multiplicative", "step"], [5], 14),
        *[lambda_case("lambda", n, 40) for n in ("pow_0.95", "inverse_1_plus_e",
                                                 "warmup_cosine_5_30", "halve_every_3")],
        *[lambda_case("multiplicative", n, 40) for n in ("const_0.9", "one_minus_0.02e",
                                                         "pow_0.95", "halve_every_3")],
    ]  # fmt: skip
    golden = {
        "generated_by": "tests/make_golden_compose.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "cases": cases,
    }
    with open(OUT_PATH, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    for c in cases:
        if c.get("departs"):
            print("departs:", c["id"])


if __name__ == "__main__":
    main()
