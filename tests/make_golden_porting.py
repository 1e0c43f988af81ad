"""Generate golden values for porting: DeepSpeed configs, Hugging Face names, more of the family.

Writes ``tests/golden/porting.json``. Run from the repository root::

    python tests/make_golden_porting.py

Every value comes from running the reference itself; nothing is re-derived here:

* DeepSpeed 0.19.8 (``deepspeed.runtime.lr_schedules``): each config's scheduler is built the
  way DeepSpeed's engine builds it (``getattr(lr_schedules, type)(optimizer, **params)``, see
  ``DeepSpeedEngine._scheduler_from_config``) on a ``torch.optim.Adam`` whose ``lr`` is the
  config's ``optimizer.params.lr``. ``values[k]`` (and ``momentum[k]``, ``betas[0]``) is the
  optimizer's value after ``k`` calls of ``scheduler.step()``: the value update ``k`` uses,
  since the engine steps the scheduler after each optimizer step. Installing DeepSpeed::

      pip download --no-deps deepspeed==0.19.8
      DS_BUILD_OPS=0 pip install --no-deps --no-build-isolation deepspeed-0.19.8.tar.gz
      pip install --no-deps hjson einops   # psutil, pydantic, msgpack already present

* transformers (``transformers.get_scheduler``): ``values[k]`` is ``get_last_lr()[0]`` after
  ``k`` calls of ``scheduler.step()`` (each after an ``optimizer.step()``).
* torch (``ExponentialLR``, ``PolynomialLR``, ``LinearLR``, ``ConstantLR``: per epoch, each
  epoch ``steps_per_epoch`` batches then one ``scheduler.step()``; ``CyclicLR``: per batch, the
  lr and the SGD momentum read before each ``optimizer.step()``).
* braintools 0.3 (the same five classes): ``get_lr()[0]`` after ``k`` calls of ``step()``,
  computed in float64 (x64 switched on through brainstate, as in ``tests/make_golden.py``).

Each case names the public function (or facade) that must reproduce it:
``getattr(jax_onecycle, case["function"])(**case["kwargs"])``; a DeepSpeed case's result is a
``DeepSpeedSchedules`` pair and its ``momentum`` is ``None`` where DeepSpeed cycles none.
The output is deterministic.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import warnings

os.environ.setdefault("DS_ACCELERATOR", "cpu")

import brainstate  # noqa: E402
import braintools  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from torch.optim import lr_scheduler as tls  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "porting.json")


def _case(cid, reference, function, kwargs, values, momentum=None):
    case = {
        "id": cid,
        "reference": reference,
        "function": function,
        "kwargs": kwargs,
        "steps": list(range(len(values))),
        "values": [float(v) for v in values],
    }
    if momentum is not None:
        case["momentum"] = [float(m) for m in momentum]
    return case


# ---------------------------------------------------------------------------- DeepSpeed
# The 1-Cycle tutorial's config, verbatim (docs/_tutorials/one-cycle.md).
TUTORIAL_ONECYCLE = {
    "scheduler": {
        "type": "OneCycle",
        "params": {
            "cycle_first_step_size": 1000,
            "cycle_first_stair_count": 500,
            "cycle_second_step_size": 1000,
            "cycle_second_stair_count": 500,
            "decay_step_size": 1000,
            "cycle_min_lr": 0.0001,
            "cycle_max_lr": 0.0010,
            "decay_lr_rate": 0.001,
            "cycle_min_mom": 0.85,
            "cycle_max_mom": 0.99,
            "decay_mom_rate": 0.0,
        },
    },
}


def deepspeed_cases():
    from deepspeed.runtime import lr_schedules

    cases = []

    def run(name, config, n):
        block = config.get("scheduler", config)
        opt_lr = config.get("optimizer", {}).get("params", {}).get("lr", 1e-3)
        opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=opt_lr)
        sched = getattr(lr_schedules, block["type"])(opt, **block.get("params", {}))
        cycles = block["type"] == "OneCycle" and block.get("params", {}).get("cycle_momentum", True)
        lrs, moms = [], []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["betas"][0])
            sched.step()
        cases.append(
            _case(
                f"deepspeed-{name}",
                "deepspeed",
                "from_deepspeed_config",
                {"config": config},
                lrs,
                moms if cycles else None,
            )
        )

    def full(block, lr=None):
        config = {"train_batch_size": 8, "scheduler": block}
        if lr is not None:
            config["optimizer"] = {"type": "Adam", "params": {"lr": lr, "weight_decay": 0.01}}
        return config

    run("tutorial-onecycle", TUTORIAL_ONECYCLE, 2300)
    run(
        "onecycle-block",
        {
            "type": "OneCycle",
            "params": {
                "cycle_min_lr": 0.01,
                "cycle_max_lr": 0.1,
                "cycle_first_step_size": 7,
                "cycle_second_step_size": 5,
                "decay_step_size": 3,
                "decay_lr_rate": 0.5,
                "decay_mom_rate": 0.01,
            },
        },
        30,
    )
    run(
        "onecycle-no-momentum",
        full(
            {
                "type": "OneCycle",
                "params": {
                    "cycle_min_lr": 0.001,
                    "cycle_max_lr": 0.01,
                    "cycle_first_step_size": 4,
                    "cycle_momentum": False,
                },
            },
            lr=0.5,
        ),
        15,
    )
    run(
        "onecycle-defaults",
        full({"type": "OneCycle", "params": {"cycle_min_lr": 0.001, "cycle_max_lr": 0.01}}),
        4100,
    )
    for staircase in (False, True):
        run(
            f"lrrt-stair{int(staircase)}",
            full(
                {
                    "type": "LRRangeTest",
                    "params": {
                        "lr_range_test_min_lr": 1e-4,
                        "lr_range_test_step_size": 5,
                        "lr_range_test_step_rate": 2.0,
                        "lr_range_test_staircase": staircase,
                    },
                }
            ),
            40,
        )
    run("lrrt-defaults", full({"type": "LRRangeTest", "params": {}}), 30)
    for wtype in ("log", "linear"):
        for w in (1, 2, 10):
            run(
                f"warmuplr-{wtype}-w{w}",
                full(
                    {
                        "type": "WarmupLR",
                        "params": {
                            "warmup_min_lr": 0.001,
                            "warmup_max_lr": 0.1,
                            "warmup_num_steps": w,
                            "warmup_type": wtype,
                        },
                    }
                ),
                w + 10,
            )
        run(
            f"warmupdecay-{wtype}",
            full(
                {
                    "type": "WarmupDecayLR",
                    "params": {
                        "total_num_steps": 30,
                        "warmup_min_lr": 0.0,
                        "warmup_max_lr": 0.01,
                        "warmup_num_steps": 8,
                        "warmup_type": wtype,
                    },
                }
            ),
            40,
        )
        run(
            f"warmupdecay-{wtype}-total-eq-warmup",
            full(
                {
                    "type": "WarmupDecayLR",
                    "params": {
                        "total_num_steps": 8,
                        "warmup_max_lr": 0.01,
                        "warmup_num_steps": 8,
                        "warmup_type": wtype,
                    },
                }
            ),
            15,
        )
        for cmin, wmin in ((0.0001, 0.0), (0.1, 0.25)):
            run(
                f"warmupcosine-{wtype}-c{cmin}-w{wmin}",
                full(
                    {
                        "type": "WarmupCosineLR",
                        "params": {
                            "total_num_steps": 40,
                            "warmup_min_ratio": wmin,
                            "warmup_num_steps": 10,
                            "cos_min_ratio": cmin,
                            "warmup_type": wtype,
                        },
                    },
                    lr=0.02,
                ),
                50,
            )
    run(
        "warmuplr-default-max-from-optimizer",
        full({"type": "WarmupLR", "params": {"warmup_num_steps": 6}}, lr=0.3),
        12,
    )
    run(
        "warmupdecay-defaults",
        full({"type": "WarmupDecayLR", "params": {"total_num_steps": 1500}}),
        1510,
    )
    run(
        "warmupdecay-total-lt-warmup",
        full(
            {
                "type": "WarmupDecayLR",
                "params": {"total_num_steps": 5, "warmup_num_steps": 8, "warmup_type": "linear"},
            }
        ),
        15,
    )
    run(
        "warmupcosine-defaults",
        full({"type": "WarmupCosineLR", "params": {"total_num_steps": 1200}}, lr=0.1),
        1210,
    )
    run(
        "warmupcosine-total-lt-warmup",
        full(
            {"type": "WarmupCosineLR", "params": {"total_num_steps": 5, "warmup_num_steps": 8}},
            lr=0.1,
        ),
        15,
    )
    return cases


# ---------------------------------------------------------------------------- transformers
def huggingface_cases():
    cases = []

    def run(name, base_lr, w, n, extra, steps):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
        sched = transformers.get_scheduler(
            name, opt, num_warmup_steps=w, num_training_steps=n, scheduler_specific_kwargs=extra
        )
        values = []
        for _ in range(steps):
            values.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        kw = {"name": name, "base_lr": base_lr, "num_warmup_steps": w, "num_training_steps": n}
        if extra:
            kw["scheduler_specific_kwargs"] = extra
        tag = "-".join(f"{k}{v}" for k, v in sorted((extra or {}).items()))
        cid = f"hf-{name}-w{w}-n{n}-lr{base_lr}" + (f"-{tag}" if tag else "")
        cases.append(_case(cid, "transformers", "get_schedule", kw, values))

    for w, n in ((0, 50), (10, 50), (5, 6)):
        run("linear", 0.1, w, n, None, n + 10)
        run("cosine", 0.1, w, n, None, n + 10)
        run("constant_with_warmup", 0.1, w, n, None, n + 10)
        run("constant", 0.1, w, n, None, n + 10)
        run("polynomial", 0.1, w, n, None, n + 10)
        run("cosine_with_restarts", 0.1, w, n, None, n + 10)
        run("inverse_sqrt", 0.1, w, n, None, n + 10)
        run("cosine_with_min_lr", 0.1, w, n, {"min_lr_rate": 0.1}, n + 10)
        run("cosine_warmup_with_min_lr", 0.1, w, n, {"min_lr_rate": 0.1}, n + 10)
    run("cosine", 3e-4, 10, 100, {"num_cycles": 1.5}, 130)
    run("cosine_with_restarts", 0.1, 10, 100, {"num_cycles": 3}, 120)
    run("polynomial", 0.1, 10, 60, {"lr_end": 1e-4, "power": 2.0}, 80)
    run("polynomial", 0.1, 0, 60, {"lr_end": 0.0, "power": 0.5}, 80)
    run("inverse_sqrt", 0.1, 10, None, {"timescale": 25}, 80)
    run("inverse_sqrt", 0.1, 0, None, None, 40)
    run("cosine_with_min_lr", 0.1, 10, 60, {"min_lr": 0.005}, 80)
    run("cosine_with_min_lr", 0.1, 10, 60, {"min_lr_rate": 0.2, "num_cycles": 1.0}, 80)
    run("cosine_warmup_with_min_lr", 0.1, 10, 60, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.05}, 80)
    run("cosine_warmup_with_min_lr", 0.1, 10, 60, {"min_lr": 0.002, "num_cycles": 1.0}, 80)
    run("warmup_stable_decay", 0.1, 10, 60, {"num_decay_steps": 20}, 80)
    run(
        "warmup_stable_decay",
        0.1,
        10,
        None,
        {
            "num_decay_steps": 20,
            "num_stable_steps": 15,
            "min_lr_ratio": 0.1,
            "decay_type": "1-sqrt",
            "warmup_type": "cosine",
        },
        60,
    )
    run("warmup_stable_decay", 0.1, 0, 40, {"num_decay_steps": 10, "decay_type": "linear"}, 50)
    return cases


# ---------------------------------------------------------------------------- torch
def torch_cases():
    cases = []

    def epochs(name, make, base_lr, n_epochs, spe, function, kwargs):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
        sched = make(opt)
        values = []
        for _ in range(n_epochs):
            for _ in range(spe):
                values.append(opt.param_groups[0]["lr"])
                opt.step()
            sched.step()
        kw = {"base_lr": base_lr, **kwargs, "steps_per_epoch": spe}
        cases.append(_case(f"torch-{name}-spe{spe}", "torch", function, kw, values))

    for spe in (1, 3):
        for gamma in (0.9, 0.5):
            epochs(
                f"exponential-g{gamma}",
                lambda o, g=gamma: tls.ExponentialLR(o, g),
                0.1,
                40,
                spe,
                "exponential_schedule",
                {"gamma": gamma},
            )
        for total, power in ((5, 1.0), (10, 2.0), (7, 0.5)):
            epochs(
                f"polynomial-t{total}-p{power}",
                lambda o, t=total, p=power: tls.PolynomialLR(o, total_iters=t, power=p),
                0.1,
                total + 6,
                spe,
                "polynomial_schedule",
                {"total_iters": total, "power": power},
            )
        for s, e, total in ((1 / 3, 1.0, 5), (1.0, 0.1, 8), (0.5, 0.0, 4), (0.25, 0.75, 1)):
            epochs(
                f"linear-s{s:.3g}-e{e}-t{total}",
                lambda o, s=s, e=e, t=total: tls.LinearLR(o, s, e, t),
                0.1,
                total + 6,
                spe,
                "linear_lr_schedule",
                {"start_factor": s, "end_factor": e, "total_iters": total},
            )
        for factor, total in ((1 / 3, 5), (0.5, 1), (1.0, 3), (0.1, 12)):
            epochs(
                f"constant-f{factor:.3g}-t{total}",
                lambda o, f=factor, t=total: tls.ConstantLR(o, f, t),
                0.1,
                total + 6,
                spe,
                "constant_lr_schedule",
                {"factor": factor, "total_iters": total},
            )

    def cyclic(name, n, **kw):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        sched = tls.CyclicLR(opt, **kw)
        lrs, moms = [], []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["momentum"])
            opt.step()
            sched.step()
        shape = {k: kw[k] for k in ("step_size_up", "step_size_down", "mode", "gamma") if k in kw}
        lr_kw = {"base_lr": kw["base_lr"], "max_lr": kw["max_lr"], **shape}
        cases.append(_case(f"torch-cyclic-{name}", "torch", "cyclic_schedule", lr_kw, lrs))
        mom_kw = {
            "base_momentum": kw.get("base_momentum", 0.8),
            "max_momentum": kw.get("max_momentum", 0.9),
            **shape,
        }
        cases.append(
            _case(
                f"torch-cyclic-momentum-{name}", "torch", "cyclic_momentum_schedule", mom_kw, moms
            )
        )

    cyclic("triangular-4", 30, base_lr=0.01, max_lr=0.1, step_size_up=4)
    cyclic("triangular-3-5", 40, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5)
    cyclic(
        "triangular2-4-2",
        60,
        base_lr=0.001,
        max_lr=0.1,
        step_size_up=4,
        step_size_down=2,
        mode="triangular2",
        base_momentum=0.85,
        max_momentum=0.95,
    )
    cyclic(
        "exp_range-5", 60, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97
    )
    cyclic(
        "exp_range-2-7",
        60,
        base_lr=0.01,
        max_lr=1.0,
        step_size_up=2,
        step_size_down=7,
        mode="exp_range",
        gamma=0.99,
    )
    cyclic("triangular-1", 10, base_lr=0.01, max_lr=0.1, step_size_up=1)
    cyclic("triangular-2000", 4500, base_lr=1e-4, max_lr=1e-2)
    return cases


# ---------------------------------------------------------------------------- braintools
def braintools_cases():
    import jax

    assert jax.config.jax_enable_x64
    bo = braintools.optim
    cases = []

    def run(name, cls, kwargs, n):
        sched = getattr(bo, cls)(**kwargs)
        values = []
        for _ in range(n):
            values.append(float(sched.get_lr()[0]))
            sched.step()
        cases.append(_case(f"braintools-{name}", "braintools", cls, kwargs, values))

    run("exponential", "ExponentialLR", {"base_lr": 0.1, "gamma": 0.9}, 30)
    run("polynomial", "PolynomialLR", {"base_lr": 0.1, "total_iters": 8, "power": 2.0}, 14)
    run(
        "linear",
        "LinearLR",
        {"base_lr": 0.1, "start_factor": 0.25, "end_factor": 1.0, "total_iters": 6},
        12,
    )
    run(
        "linear-down",
        "LinearLR",
        {"base_lr": 0.1, "start_factor": 1.0, "end_factor": 0.1, "total_iters": 4},
        10,
    )
    run("constant", "ConstantLR", {"base_lr": 0.1, "factor": 0.5, "total_iters": 4}, 10)
    run("cyclic-triangular", "CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}, 30)
    run(
        "cyclic-triangular2",
        "CyclicLR",
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "mode": "triangular2"},
        40,
    )
    run(
        "cyclic-exp_range",
        "CyclicLR",
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "mode": "exp_range", "gamma": 0.97},
        40,
    )
    return cases


def _versions():
    from importlib.metadata import version

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "deepspeed": version("deepspeed"),
        "braintools": version("braintools"),
    }


def main():
    # brainstate resets jax_enable_x64 on import; switch it on after that, only when run.
    brainstate.environ.set(precision=64)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # DeepSpeed logs its own quirks (unknown warmup_type, ...)
    cases = deepspeed_cases() + huggingface_cases() + torch_cases() + braintools_cases()
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for c in cases:
        assert all(math.isfinite(v) for v in c["values"] + c.get("momentum", [])), c["id"]
    head = {"generated_by": "tests/make_golden_porting.py", "versions": _versions()}
    # One case per line keeps the file diffable; json floats round-trip.
    text = json.dumps(head)[:-1] + ',\n "cases": [\n'
    text += ",\n".join(json.dumps(c) for c in cases) + "\n ]}\n"
    json.loads(text)
    with open(OUT, "w") as f:
        f.write(text)
    counts = {}
    for c in cases:
        counts[c["reference"]] = counts.get(c["reference"], 0) + 1
    print(f"wrote {len(cases)} cases {counts} -> {os.path.relpath(OUT)}", file=sys.stdout)


if __name__ == "__main__":
    main()
