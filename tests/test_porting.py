"""Porting a recipe: DeepSpeed scheduler configs and Hugging Face scheduler names.

Golden values come from the real references (``tests/make_golden_porting.py``); DeepSpeed and
transformers also run live where installed.
"""

import copy
import json
import os
import pathlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import reference

import jax_onecycle as jo

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "porting.json").read_text())
DEEPSPEED = [c for c in GOLDEN["cases"] if c["reference"] == "deepspeed"]
HF = [c for c in GOLDEN["cases"] if c["reference"] == "transformers"]
INT32_MAX = 2**31 - 1


def _close(ours, ref):
    ref = np.asarray(ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7 * float(np.max(np.abs(ref))))


def _evaluate(schedule, steps):
    return np.asarray(jax.jit(schedule)(jnp.asarray(steps, jnp.int32)))


# ---- golden values ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", DEEPSPEED, ids=[c["id"] for c in DEEPSPEED])
def test_deepspeed_config_matches_deepspeed_every_step(case):
    lr, momentum = jo.from_deepspeed_config(**copy.deepcopy(case["kwargs"]))
    _close(_evaluate(lr, case["steps"]), case["values"])
    if "momentum" in case:
        _close(_evaluate(momentum, case["steps"]), case["momentum"])
    else:
        assert momentum is None


@pytest.mark.parametrize("case", HF, ids=[c["id"] for c in HF])
def test_hugging_face_name_matches_get_scheduler_every_step(case):
    _close(_evaluate(jo.get_schedule(**case["kwargs"]), case["steps"]), case["values"])


@pytest.mark.parametrize("case", DEEPSPEED + HF, ids=[c["id"] for c in DEEPSPEED + HF])
def test_golden_values_in_float64_to_rounding(case):
    """With x64 the curves are the references' formulas, not merely float32 approximations."""
    with jax.enable_x64(True):
        if case["reference"] == "deepspeed":
            lr, momentum = jo.from_deepspeed_config(**copy.deepcopy(case["kwargs"]))
            pairs = [(lr, case["values"]), (momentum, case.get("momentum"))]
        else:
            pairs = [(jo.get_schedule(**case["kwargs"]), case["values"])]
        for schedule, ref in pairs:
            if ref is None:
                continue
            ours = np.asarray(jax.jit(schedule)(jnp.asarray(case["steps"])))
            assert ours.dtype == np.float64
            np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15 * np.max(ref))


def test_golden_cases_cover_every_type_and_name_and_the_tutorial_config():
    types = {
        c["kwargs"]["config"].get("scheduler", c["kwargs"]["config"])["type"] for c in DEEPSPEED
    }
    assert types == {"OneCycle", "LRRangeTest", "WarmupLR", "WarmupDecayLR", "WarmupCosineLR"}
    names = {c["kwargs"]["name"] for c in HF}
    assert names == {
        "linear",
        "cosine",
        "cosine_with_restarts",
        "polynomial",
        "constant",
        "constant_with_warmup",
        "inverse_sqrt",
        "cosine_with_min_lr",
        "cosine_warmup_with_min_lr",
        "warmup_stable_decay",
    }
    tutorial = next(c for c in DEEPSPEED if c["id"] == "deepspeed-tutorial-onecycle")
    assert tutorial["kwargs"]["config"]["scheduler"]["params"]["cycle_first_stair_count"] == 500
    assert len(tutorial["values"]) > 2000 and "momentum" in tutorial  # into the decay phase


def test_deepspeed_warmups_keep_deepspeeds_one_step_lag_and_cosine_zero_start():
    config = {
        "optimizer": {"params": {"lr": 1.0}},
        "scheduler": {
            "type": "WarmupCosineLR",
            "params": {"total_num_steps": 10, "warmup_num_steps": 4, "warmup_type": "linear"},
        },
    }
    lr = jo.from_deepspeed_config(config).learning_rate
    assert [float(lr(k)) for k in range(3)] == [0.0, 0.0, 0.25]
    warm = jo.from_deepspeed_config(
        {
            "type": "WarmupLR",
            "params": {"warmup_min_lr": 0.5, "warmup_max_lr": 1.0, "warmup_num_steps": 8},
        }
    ).learning_rate
    assert float(warm(0)) == float(warm(1)) == 0.5 and float(warm(8)) == 1.0


# ---- behaviour --------------------------------------------------------------------------------


def _every_schedule():
    for case in DEEPSPEED:
        lr, momentum = jo.from_deepspeed_config(**copy.deepcopy(case["kwargs"]))
        yield case["id"], lr
        if momentum is not None:
            yield case["id"] + "-momentum", momentum
    for case in HF:
        yield case["id"], jo.get_schedule(**case["kwargs"])


def test_every_schedule_is_finite_over_the_int32_range():
    steps = jnp.asarray([0, 1, 1000, 2**20, INT32_MAX - 1, INT32_MAX], jnp.int32)
    for cid, schedule in _every_schedule():
        values = jax.jit(schedule)(steps)
        chex.assert_tree_all_finite(values)
        assert bool(jnp.all(values >= 0)), cid


def test_schedules_are_float32_and_compile_once():
    lr = jo.get_schedule(
        "cosine_with_restarts",
        0.1,
        num_warmup_steps=3,
        num_training_steps=20,
        scheduler_specific_kwargs={"num_cycles": 2},
    )
    traces = []

    @jax.jit
    def jitted(k):
        traces.append(1)
        return lr(k)

    for k in range(5):
        assert jitted(jnp.int32(k)).dtype == jnp.float32
    assert len(traces) == 1


def test_live_scheduler_type_enum_names_the_same_schedule():
    transformers = reference("transformers")
    ours = jo.get_schedule(
        transformers.SchedulerType.COSINE, 0.1, num_warmup_steps=2, num_training_steps=10
    )
    np.testing.assert_allclose(
        ours(jnp.arange(12)),
        jo.get_schedule("cosine", 0.1, num_warmup_steps=2, num_training_steps=10)(jnp.arange(12)),
    )


def test_scheduler_block_alone_takes_the_optimizer_lr_as_a_keyword():
    block = {"type": "WarmupCosineLR", "params": {"total_num_steps": 20, "warmup_num_steps": 5}}
    whole = {"optimizer": {"type": "AdamW", "params": {"lr": 0.3}}, "scheduler": block}
    a = jo.from_deepspeed_config(block, optimizer_lr=0.3).learning_rate
    b = jo.from_deepspeed_config(whole).learning_rate
    np.testing.assert_allclose(a(jnp.arange(30)), b(jnp.arange(30)))


# ---- errors ----------------------------------------------------------------------------------

_DS = "from_deepspeed_config"


def _ds(kind, **params):
    return {"scheduler": {"type": kind, "params": params}}


@pytest.mark.parametrize(
    "config, exc, match",
    [
        ([1, 2], TypeError, f"{_DS}: `config` must be a DeepSpeed config"),
        ({"train_batch_size": 8}, ValueError, 'no "scheduler" block'),
        (
            _ds("Cosine"),
            ValueError,
            r"`config\[\"scheduler\"\]\[\"type\"\]` must be one of "
            r"'OneCycle', 'LRRangeTest'",
        ),
        ({"type": "WarmupLR", "param": {}}, ValueError, r"unknown keys \['param'\]"),
        (
            _ds("WarmupLR", warmup_steps=10),
            ValueError,
            r"parameters \['warmup_steps'\] that DeepSpeed's WarmupLR does not take",
        ),
        (_ds("OneCycle", cycle_max_lr=0.1), ValueError, r"lacks \['cycle_min_lr'\], required"),
        (_ds("WarmupDecayLR"), ValueError, r"lacks \['total_num_steps'\]"),
        (
            _ds("WarmupLR", warmup_max_lr=0.1, warmup_type="cosine"),
            ValueError,
            r"`config\[\"scheduler\"\]\[\"params\"\]\[\"warmup_type\"\]` must be one of 'log', "
            r"'linear', got 'cosine'",
        ),
        (
            _ds("WarmupCosineLR", total_num_steps=10),
            ValueError,
            r"takes the optimizer's lr here, but neither",
        ),
        (_ds("WarmupLR"), ValueError, r"or give `warmup_max_lr`"),
        (
            _ds("WarmupLR", warmup_max_lr=0.1, last_batch_iteration=5),
            ValueError,
            r"must be -1 \(a fresh schedule\), got 5",
        ),
        (
            _ds("WarmupLR", warmup_max_lr=0.1, warmup_num_steps=0),
            ValueError,
            r"\[\"warmup_num_steps\"\]` must be a positive integer, got 0",
        ),
        (
            _ds("WarmupLR", warmup_max_lr=-0.1),
            ValueError,
            r"\[\"warmup_max_lr\"\]` must be a finite",
        ),
        (
            _ds("OneCycle", cycle_min_lr=0.1, cycle_max_lr=1.0, cycle_first_step_size=0),
            ValueError,
            r'^from_deepspeed_config: `config\["scheduler"\]\["params"\]'
            r'\["cycle_first_step_size"\]` must be a positive integer, got 0\.$',
        ),
        (
            _ds("LRRangeTest", lr_range_test_staircase=1),
            TypeError,
            r"\[\"lr_range_test_staircase\"\]` must be True or False, got 1",
        ),
        (
            _ds("WarmupCosineLR", total_num_steps=10, cos_min_ratio=2.0)
            | {"optimizer": {"params": {"lr": 0.1}}},
            ValueError,
            r"\[\"cos_min_ratio\"\]` must be in",
        ),
    ],
)
def test_bad_deepspeed_config_is_refused_by_name(config, exc, match):
    with pytest.raises(exc, match=match):
        jo.from_deepspeed_config(config)


def test_bad_optimizer_lr_is_refused_under_the_name_it_was_given():
    block = _ds("WarmupCosineLR", total_num_steps=5)
    with pytest.raises(ValueError, match=r"`optimizer_lr` must be a finite number >= 0"):
        jo.from_deepspeed_config(block, optimizer_lr=-1.0)
    with pytest.raises(TypeError, match=r'`config\["optimizer"\]\["params"\]\["lr"\]` must be'):
        jo.from_deepspeed_config({"optimizer": {"params": {"lr": "3e-4"}}} | block)


def test_optimizer_lr_given_twice_is_refused():
    config = {"optimizer": {"params": {"lr": 0.1}}} | _ds("WarmupCosineLR", total_num_steps=5)
    with pytest.raises(ValueError, match="give the optimizer's lr once"):
        jo.from_deepspeed_config(config, optimizer_lr=0.2)


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        (
            ("cosine_annealing", 0.1),
            {},
            ValueError,
            r"get_schedule: `name` must be one of 'linear', 'cosine', 'cosine_with_restarts'",
        ),
        (
            ("reduce_lr_on_plateau", 0.1),
            {},
            ValueError,
            r"'reduce_lr_on_plateau' has no schedule here: .*jax_onecycle.reduce_lr_on_plateau",
        ),
        (
            ("linear", 0.1),
            {
                "num_warmup_steps": 2,
                "num_training_steps": 10,
                "scheduler_specific_kwargs": {"num_cycles": 2},
            },
            ValueError,
            r"has \['num_cycles'\], which 'linear' does not take \(it takes: none\)",
        ),
        (
            ("constant_with_warmup", 0.1),
            {"num_warmup_steps": 2, "scheduler_specific_kwargs": {"lr_end": 0.0}},
            ValueError,
            r"has \['lr_end'\], which 'constant_with_warmup' does not take",
        ),
        (
            ("cosine", 0.1),
            {"num_training_steps": 10},
            ValueError,
            r"'cosine' requires `num_warmup_steps`",
        ),
        (
            ("linear", 0.1),
            {"num_warmup_steps": 2},
            ValueError,
            r"'linear' requires `num_training_steps`",
        ),
        (
            ("linear", 0.1),
            {"num_warmup_steps": 12, "num_training_steps": 10},
            ValueError,
            r"`num_warmup_steps` must be <= `num_training_steps` = 10 for 'linear', got 12",
        ),
        (
            ("polynomial", 0.1),
            {"num_warmup_steps": 10, "num_training_steps": 10},
            ValueError,
            r"must be < `num_training_steps`",
        ),
        (
            ("polynomial", 0.1),
            {
                "num_warmup_steps": 1,
                "num_training_steps": 10,
                "scheduler_specific_kwargs": {"lr_end": 0.2},
            },
            ValueError,
            r"`scheduler_specific_kwargs\[\"lr_end\"\]` must be < `base_lr`",
        ),
        (
            ("cosine_with_min_lr", 0.1),
            {"num_warmup_steps": 1, "num_training_steps": 10},
            ValueError,
            r"give exactly one of `scheduler_specific_kwargs\[\"min_lr\"\]`",
        ),
        (
            ("warmup_stable_decay", 0.1),
            {"num_warmup_steps": 1, "num_training_steps": 10},
            ValueError,
            r"requires `scheduler_specific_kwargs\[\"num_decay_steps\"\]`",
        ),
        (
            ("warmup_stable_decay", 0.1),
            {
                "num_warmup_steps": 1,
                "num_training_steps": 10,
                "scheduler_specific_kwargs": {"num_decay_steps": 4, "decay_type": "cos"},
            },
            ValueError,
            r'^get_schedule: `scheduler_specific_kwargs\["decay_type"\]` must be one of',
        ),
        (
            ("cosine", 0.1),
            {"num_warmup_steps": 1.5, "num_training_steps": 10},
            TypeError,
            r"`num_warmup_steps` must be an integer >= 0, got 1.5",
        ),
        (
            ("cosine", -0.1),
            {"num_warmup_steps": 1, "num_training_steps": 10},
            ValueError,
            r"`base_lr` must be a finite number >= 0",
        ),
    ],
)
def test_bad_hugging_face_arguments_are_refused_by_name(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        jo.get_schedule(*args, **kwargs)


# ---- live references -------------------------------------------------------------------------


def test_live_deepspeed_builds_the_same_curves():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    lr_schedules = reference("deepspeed.runtime.lr_schedules")
    torch = reference("torch")
    configs = [
        {
            "type": "OneCycle",
            "params": {
                "cycle_min_lr": 0.002,
                "cycle_max_lr": 0.02,
                "cycle_first_step_size": 6,
                "cycle_second_step_size": 9,
                "cycle_first_stair_count": 2,
                "decay_step_size": 4,
                "decay_lr_rate": 0.3,
                "decay_mom_rate": 0.02,
            },
        },
        {
            "type": "LRRangeTest",
            "params": {
                "lr_range_test_step_size": 3,
                "lr_range_test_step_rate": 0.5,
                "lr_range_test_staircase": True,
            },
        },
        {"type": "WarmupLR", "params": {"warmup_num_steps": 7}},
        {
            "type": "WarmupDecayLR",
            "params": {
                "total_num_steps": 25,
                "warmup_num_steps": 6,
                "warmup_type": "linear",
                "warmup_min_lr": 0.001,
            },
        },
        {
            "type": "WarmupCosineLR",
            "params": {
                "total_num_steps": 25,
                "warmup_num_steps": 6,
                "warmup_min_ratio": 0.1,
                "cos_min_ratio": 0.05,
            },
        },
    ]
    for block in configs:
        opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
        sched = getattr(lr_schedules, block["type"])(opt, **block["params"])
        lrs, moms = [], []
        for _ in range(40):
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["betas"][0])
            sched.step()
        config = {"optimizer": {"type": "Adam", "params": {"lr": 0.05}}, "scheduler": block}
        lr, momentum = jo.from_deepspeed_config(config)
        _close(_evaluate(lr, range(40)), lrs)
        if block["type"] == "OneCycle":
            _close(_evaluate(momentum, range(40)), moms)


@pytest.mark.parametrize(
    "name, extra",
    [
        ("linear", None),
        ("cosine", {"num_cycles": 1.25}),
        ("cosine_with_restarts", {"num_cycles": 4}),
        ("polynomial", {"power": 3.0, "lr_end": 1e-3}),
        ("constant", None),
        ("constant_with_warmup", None),
        ("inverse_sqrt", {"timescale": 7}),
        ("cosine_with_min_lr", {"min_lr": 0.01}),
        ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.05, "warmup_lr_rate": 0.2}),
        (
            "warmup_stable_decay",
            {"num_decay_steps": 9, "decay_type": "linear", "min_lr_ratio": 0.2},
        ),
    ],
)
def test_live_transformers_get_scheduler_same_values(name, extra):
    transformers = reference("transformers")
    torch = reference("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
    sched = transformers.get_scheduler(
        name,
        opt,
        num_warmup_steps=5,
        num_training_steps=33,
        scheduler_specific_kwargs=copy.deepcopy(extra),
    )
    values = []
    for _ in range(45):  # past the end of training
        values.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    ours = jo.get_schedule(
        name, 0.2, num_warmup_steps=5, num_training_steps=33, scheduler_specific_kwargs=extra
    )
    _close(_evaluate(ours, range(45)), values)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: jo.from_deepspeed_config(
                _ds("OneCycle", cycle_min_lr=0.1, cycle_max_lr=1.0, cycle_min_mom=0.95)
            ),
            r'^from_deepspeed_config: `config\["scheduler"\]\["params"\]\["cycle_min_mom"\]` '
            r'must be <= `config\["scheduler"\]\["params"\]\["cycle_max_mom"\]`',
        ),
        (
            lambda: jo.from_deepspeed_config(_ds("OneCycle", cycle_min_lr=-0.1, cycle_max_lr=1.0)),
            r'^from_deepspeed_config: `config\["scheduler"\]\["params"\]\["cycle_min_lr"\]`',
        ),
        (
            lambda: jo.get_schedule(
                "warmup_stable_decay",
                0.1,
                num_warmup_steps=1,
                num_training_steps=10,
                scheduler_specific_kwargs={"num_decay_steps": 4, "min_lr_ratio": 2.0},
            ),
            r'^get_schedule: `scheduler_specific_kwargs\["min_lr_ratio"\]` must be in',
        ),
    ],
)
def test_a_wrapped_error_names_only_the_function_the_user_called(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    message = str(info.value)
    assert message.count(": `") == 1  # one prefix, then the argument
    for inner in ("deepspeed_onecycle", "wsd_schedule", "in `"):
        assert inner not in message
