"""Schedules are data: every public schedule carries a JSON ``.spec`` that rebuilds it bitwise.

The catalogue is every case of the golden files (each public schedule function, every
convention and option the parity tests pin), plus the minimal calls of each function.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import jax_onecycle as jo
from jax_onecycle.schedules import _spec

GOLDEN = Path(__file__).parent / "golden"
INT32_MAX = 2**31 - 1

SCHEDULE_FUNCTIONS = (
    "onecycle_schedule",
    "onecycle_momentum_schedule",
    "deepspeed_onecycle_schedule",
    "deepspeed_onecycle_momentum_schedule",
    "step_schedule",
    "multistep_schedule",
    "cosine_annealing_schedule",
    "cosine_warm_restarts_schedule",
    "exponential_schedule",
    "polynomial_schedule",
    "linear_lr_schedule",
    "constant_lr_schedule",
    "cyclic_schedule",
    "cyclic_momentum_schedule",
    "linear_schedule_with_warmup",
    "cosine_schedule_with_warmup",
    "constant_schedule_with_warmup",
    "wsd_schedule",
    "get_schedule",
)


def _golden_cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for name in ("onecycle", "family", "porting"):
        for case in json.loads((GOLDEN / f"{name}.json").read_text())["cases"]:
            if case["function"] in SCHEDULE_FUNCTIONS + ("from_deepspeed_config",):
                cases.append((case["id"], case["function"], case["kwargs"]))
    return cases


CASES = _golden_cases()

# The smallest call of each function: every other argument is its default.
MINIMAL: dict[str, tuple[tuple, dict[str, Any]]] = {
    "onecycle_schedule": ((0.1, 100), {}),
    "onecycle_momentum_schedule": ((100,), {}),
    "deepspeed_onecycle_schedule": ((0.01, 0.1), {}),
    "deepspeed_onecycle_momentum_schedule": ((), {}),
    "step_schedule": ((0.1, 3), {}),
    "multistep_schedule": ((0.1, (2, 5)), {}),
    "cosine_annealing_schedule": ((0.1, 10), {}),
    "cosine_warm_restarts_schedule": ((0.1, 4), {}),
    "exponential_schedule": ((0.1, 0.9), {}),
    "polynomial_schedule": ((0.1,), {}),
    "linear_lr_schedule": ((0.1,), {}),
    "constant_lr_schedule": ((0.1,), {}),
    "cyclic_schedule": ((0.01, 0.1), {}),
    "cyclic_momentum_schedule": ((), {}),
    "linear_schedule_with_warmup": ((0.1, 2, 10), {}),
    "cosine_schedule_with_warmup": ((0.1, 2, 10), {}),
    "constant_schedule_with_warmup": ((0.1, 2), {}),
    "wsd_schedule": ((0.1, 2, 5, 3), {}),
    "get_schedule": (("cosine", 0.1), {"num_warmup_steps": 2, "num_training_steps": 10}),
}


def _ints(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [i for v in value.values() for i in _ints(v)]
    if isinstance(value, list | tuple):
        return [i for v in value for i in _ints(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def _steps(kwargs: dict[str, Any]) -> np.ndarray:
    """Every step through and past the largest count in ``kwargs``, and the int32 limit."""
    horizon = min(max(_ints(kwargs), default=10), 5000)
    ks = np.unique(np.r_[np.arange(0, min(2 * horizon + 3, 400)), horizon, 2 * horizon + 7])
    return np.r_[ks, [INT32_MAX - 1, INT32_MAX]].astype(np.int32)


def _build(function: str, kwargs: dict[str, Any]) -> list[Any]:
    """The schedules a call gives: one, or the non-None fields of ``from_deepspeed_config``."""
    result = getattr(jo, function)(**copy.deepcopy(kwargs))
    if function == "from_deepspeed_config":
        return [s for s in result if s is not None]
    return [result]


def _same_bits(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize(("function", "kwargs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_public_schedule_rebuilds_bitwise_from_its_json_spec(function, kwargs):
    ks = _steps(kwargs)
    for schedule in _build(function, kwargs):
        text = json.dumps(schedule.spec, allow_nan=False)
        rebuilt = jo.schedule_from_spec(json.loads(text))
        assert rebuilt.spec == schedule.spec
        assert _same_bits(rebuilt(ks), schedule(ks))
        fractional = ks[:50].astype(np.float32) + 0.5
        assert _same_bits(rebuilt(fractional), schedule(fractional))


def test_the_catalogue_covers_every_public_schedule_function():
    assert {c[1] for c in CASES} == set(SCHEDULE_FUNCTIONS) | {"from_deepspeed_config"}


@pytest.mark.parametrize("function", sorted(MINIMAL))
def test_an_omitted_default_and_the_same_value_passed_give_equal_specs(function):
    args, kwargs = MINIMAL[function]
    minimal = getattr(jo, function)(*args, **kwargs)
    spec = minimal.spec
    assert spec["schedule"] == function
    assert list(spec["args"]) == list(_spec._FACTORIES[function].signature.parameters)
    explicit = getattr(jo, function)(**spec["args"])
    assert explicit.spec == spec
    ks = _steps(spec["args"])
    assert _same_bits(explicit(ks), minimal(ks))


def test_tuples_and_numpy_scalars_are_recorded_as_json_lists_and_numbers():
    a = jo.multistep_schedule(np.float64(0.1), (2, np.int64(5)), gamma=np.float32(0.5))
    assert a.spec["args"] == {
        "base_lr": 0.1,
        "milestones": [2, 5],
        "gamma": float(np.float32(0.5)),
        "steps_per_epoch": 1,
    }
    b = jo.multistep_schedule(0.1, [2, 5], gamma=0.5)
    assert a.spec == b.spec
    assert _same_bits(a(jnp.arange(10)), b(jnp.arange(10)))


def test_a_float32_numpy_max_lr_rebuilds_bitwise():
    sched = jo.onecycle_schedule(np.float32(0.3), 50, convention="fastai")
    rebuilt = jo.schedule_from_spec(json.loads(json.dumps(sched.spec)))
    assert _same_bits(rebuilt(jnp.arange(60)), sched(jnp.arange(60)))


def test_a_list_of_peaks_is_data_but_an_array_is_not():
    listed = jo.onecycle_schedule([0.1, 0.2], 10)
    assert listed.spec["args"]["max_lr"] == [0.1, 0.2]
    assert _same_bits(jo.schedule_from_spec(listed.spec)(3), listed(3))
    assert jo.onecycle_schedule(jnp.array([0.1, 0.2]), 10).spec is None
    assert jo.onecycle_schedule(np.array(0.1), 10).spec is None


def test_arguments_without_a_json_form_give_a_none_spec():
    assert jo.cyclic_schedule(0.1, 0.2, scale_fn=lambda c: 1.0 / c).spec is None
    assert jo.cyclic_momentum_schedule(scale_fn=lambda c: 1.0).spec is None
    specs = []

    def peak(m):
        sched = jo.onecycle_schedule(m, 10)
        specs.append(sched.spec)
        return sched(3)

    jax.vmap(peak)(jnp.array([0.1, 0.2]))
    assert specs == [None]


def test_the_spec_adds_nothing_to_the_compiled_work():
    for function, (args, kwargs) in MINIMAL.items():
        sched = getattr(jo, function)(*args, **kwargs)
        raw = getattr(jo, function).__wrapped__(*args, **kwargs)
        k = jnp.int32(7)
        assert str(jax.make_jaxpr(sched)(k)) == str(jax.make_jaxpr(raw)(k)), function
        assert _same_bits(jax.jit(sched)(k), jax.jit(raw)(k))
        ks = jnp.arange(12)
        assert _same_bits(jax.vmap(sched)(ks), raw(ks))


def test_the_wrapped_factories_keep_their_signature_and_docstring():
    import inspect

    for function in SCHEDULE_FUNCTIONS + ("from_deepspeed_config",):
        public = getattr(jo, function)
        assert public.__name__ == function
        assert inspect.signature(public) == inspect.signature(public.__wrapped__)
        assert public.__doc__ and "Examples:" in public.__doc__


def test_from_deepspeed_config_fields_name_their_field():
    block = {"type": "OneCycle", "params": {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1}}
    lr, momentum = jo.from_deepspeed_config({"scheduler": block})
    assert (lr.spec["schedule"], lr.spec["field"]) == ("from_deepspeed_config", "learning_rate")
    assert momentum.spec["field"] == "momentum"
    assert lr.spec["args"] == {"config": {"scheduler": block}, "optimizer_lr": None}
    rebuilt = jo.schedule_from_spec(momentum.spec)
    assert _same_bits(rebuilt(jnp.arange(5000)), momentum(jnp.arange(5000)))


@settings(max_examples=25, deadline=None)
@given(
    max_lr=st.floats(1e-4, 10.0),
    total=st.integers(1, 3000),
    pct=st.floats(0.01, 0.45),  # a three-phase cycle needs 2 * pct_start <= 1
    convention=st.sampled_from(["braintools", "torch", "fastai", "optax"]),
    anneal=st.sampled_from(["cos", "linear"]),
    three=st.booleans(),
)
def test_property_onecycle_specs_round_trip_through_json(
    max_lr, total, pct, convention, anneal, three
):
    kwargs = dict(pct_start=pct, anneal_strategy=anneal, three_phase=three, convention=convention)
    lr = jo.onecycle_schedule(max_lr, total, **kwargs)
    mom = jo.onecycle_momentum_schedule(total, **kwargs)
    ks = np.r_[np.arange(0, total + 3, max(1, total // 97)), total - 1, total, INT32_MAX]
    for sched in (lr, mom):
        rebuilt = jo.schedule_from_spec(json.loads(json.dumps(sched.spec)))
        assert rebuilt.spec == sched.spec
        assert _same_bits(rebuilt(ks), sched(ks))


GOOD = {"schedule": "step_schedule", "args": {"base_lr": 0.1, "step_size": 3, "gamma": 0.1}}


@pytest.mark.parametrize(
    ("spec", "exc", "match"),
    [
        ("step_schedule", TypeError, r"`spec` must be a dict"),
        ({**GOOD, "schedule": "nope"}, ValueError, r"`spec\['schedule'\]` must be one of .*'nope'"),
        ({"args": {}}, TypeError, r"`spec\['schedule'\]` must be one of .*None"),
        ({"schedule": "step_schedule"}, ValueError, r"missing \['args'\]"),
        ({**GOOD, "extra": 1}, ValueError, r"unknown \['extra'\]"),
        ({**GOOD, "args": [1]}, TypeError, r"`spec\['args'\]` must be a dict"),
        (GOOD, ValueError, r"misses the argument\(s\) \['steps_per_epoch'\] of step_schedule"),
        (
            {**GOOD, "args": {**GOOD["args"], "steps_per_epoch": 1, "warmup": 2}},
            ValueError,
            r"unknown argument\(s\) \['warmup'\] for step_schedule",
        ),
        (
            {**GOOD, "args": {**GOOD["args"], "steps_per_epoch": (1,)}},
            TypeError,
            r"`spec\['args'\]\['steps_per_epoch'\]` must be a JSON value .* tuple",
        ),
        (
            {**GOOD, "args": {**GOOD["args"], "steps_per_epoch": np.int32(1)}},
            TypeError,
            r"`spec\['args'\]\['steps_per_epoch'\]` must be a JSON value",
        ),
        (
            {**GOOD, "args": {**GOOD["args"], "steps_per_epoch": 1, "gamma": math.nan}},
            ValueError,
            r"`spec\['args'\]\['gamma'\]` must be a JSON value .* nan",
        ),
        ({**GOOD, "args": {1: 0.1}}, TypeError, r"the keys of `spec\['args'\]` must be str"),
        (
            {**GOOD, "args": {**GOOD["args"], "steps_per_epoch": 0}},
            ValueError,
            r"step_schedule: `steps_per_epoch` must be a positive integer",
        ),
    ],
)
def test_a_bad_spec_is_refused_naming_what_is_wrong(spec, exc, match):
    with pytest.raises(exc, match=match):
        jo.schedule_from_spec(spec)


def test_a_field_spec_must_name_a_field_that_exists():
    lr = jo.from_deepspeed_config(
        {"scheduler": {"type": "WarmupLR", "params": {"warmup_max_lr": 0.1}}}
    ).learning_rate
    with pytest.raises(ValueError, match=r"gives no momentum schedule"):
        jo.schedule_from_spec({**lr.spec, "field": "momentum"})
    with pytest.raises(ValueError, match=r"`spec\['field'\]` must be one of"):
        jo.schedule_from_spec({**lr.spec, "field": "beta"})
    with pytest.raises(ValueError, match=r"exactly the keys \['args', 'schedule'\]"):
        jo.schedule_from_spec({**jo.step_schedule(0.1, 2).spec, "field": "learning_rate"})


def test_every_registered_name_is_a_public_function():
    assert set(SCHEDULE_FUNCTIONS) | {"from_deepspeed_config", "change_horizon"} <= set(
        _spec._FACTORIES
    )
    for name in _spec._FACTORIES:
        assert name in jo.__all__, name


@pytest.mark.parametrize("convention", ["braintools", "torch", "fastai", "optax"])
def test_a_changed_horizon_holds_the_original_spec_and_rebuilds_bitwise(convention):
    original = jo.onecycle_schedule(0.1, 100, convention=convention)
    longer = jo.change_horizon(original, at_step=60, total_steps=100, new_total_steps=160)
    assert longer.spec["schedule"] == "change_horizon"
    assert longer.spec["args"] == {
        "schedule": original.spec,
        "at_step": 60,
        "total_steps": 100,
        "new_total_steps": 160,
    }
    again = jo.change_horizon(longer, at_step=150, total_steps=160, new_total_steps=151)
    ks = np.r_[np.arange(0, 200), INT32_MAX].astype(np.int32)
    for sched in (longer, again):
        rebuilt = jo.schedule_from_spec(json.loads(json.dumps(sched.spec)))
        assert rebuilt.spec == sched.spec
        assert _same_bits(rebuilt(ks), sched(ks))
        assert _same_bits(rebuilt(ks + 0.25), sched(ks + 0.25))


def test_a_user_function_given_to_change_horizon_gives_a_none_spec():
    sched = jo.change_horizon(
        lambda k: 0.1 / (1.0 + k), at_step=1, total_steps=3, new_total_steps=5
    )
    assert sched.spec is None
    nested = jo.change_horizon(sched, at_step=2, total_steps=5, new_total_steps=9)
    assert nested.spec is None


def test_horizon_changes_are_recorded_and_rebuilt():
    lr = jo.onecycle_schedule(0.1, 100, horizon_changes=((60, 160),))
    mom = jo.onecycle_momentum_schedule(100, horizon_changes=[(60, 160), (100, 120)])
    assert lr.spec["args"]["horizon_changes"] == [[60, 160]]
    assert mom.spec["args"]["horizon_changes"] == [[60, 160], [100, 120]]
    ks = np.arange(0, 200, dtype=np.int32)
    for sched in (lr, mom):
        rebuilt = jo.schedule_from_spec(json.loads(json.dumps(sched.spec)))
        assert rebuilt.spec == sched.spec
        assert _same_bits(rebuilt(ks), sched(ks))
    unchanged = jo.onecycle_schedule(0.1, 100)
    assert unchanged.spec["args"]["horizon_changes"] == []
    assert unchanged.spec != lr.spec


def test_a_change_horizon_spec_whose_schedule_is_not_a_spec_is_refused():
    spec = jo.change_horizon(
        jo.step_schedule(0.1, 2), at_step=1, total_steps=5, new_total_steps=9
    ).spec
    with pytest.raises(TypeError, match=r"`spec\['args'\]\['schedule'\]` must be a schedule's"):
        jo.schedule_from_spec({**spec, "args": {**spec["args"], "schedule": 0.1}})
    inner = {**spec["args"]["schedule"], "schedule": "nope"}
    with pytest.raises(ValueError, match=r"`spec\['args'\]\['schedule'\]\['schedule'\]`"):
        jo.schedule_from_spec({**spec, "args": {**spec["args"], "schedule": inner}})


def test_a_str_enum_argument_is_recorded_as_its_plain_text():
    import enum

    class Name(str, enum.Enum):  # as transformers.SchedulerType
        LINEAR = "linear"

    sched = jo.get_schedule(Name.LINEAR, 0.1, num_warmup_steps=2, num_training_steps=10)
    assert type(sched.spec["args"]["name"]) is str
    assert json.dumps(sched.spec["args"]["name"]) == '"linear"'
    assert jo.schedule_from_spec(sched.spec).spec == sched.spec
