"""Schedules are data: every schedule the package returns carries ``.spec``; `schedule_from_spec`.

A public factory is decorated with `recorded` (``from_deepspeed_config`` with
`recorded_fields`). The decorator calls the factory unchanged (it validates its own
arguments), then records the call: every parameter of the factory's signature, defaults
included, as JSON types (tuples become lists, numpy scalars plain numbers). The schedule it
returns is a thin function that calls the factory's schedule and holds

``spec = {"schedule": <public name>, "args": {<keyword>: <value>, ...}}``

or ``spec = None`` where an argument has no JSON form (a callable ``scale_fn``, an array or
traced ``max_lr``, a user's own function given to ``change_horizon``). The wrapper adds no
operation to what is traced: the values, the dtype and the compiled work are the factory's.

`schedule_from_spec` looks the name up among the decorated factories and calls it with the
recorded keywords; a schedule argument (``change_horizon``'s ``schedule``) is stored as its
own spec and rebuilt from it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, Protocol

import jax
import numpy as np
from jax.typing import ArrayLike

__all__ = ["SpecSchedule", "recorded", "recorded_fields", "schedule_from_spec", "with_spec"]

P = ParamSpec("P")
_FN = "schedule_from_spec"
_FIELDS = ("learning_rate", "momentum")  # the fields of a DeepSpeedSchedules
_JSON_TYPES = "a JSON value (None, bool, int, a finite float, str, list, or dict with str keys)"


class SpecSchedule(Protocol):
    """A schedule ``count -> value`` that says how it was built (``.spec``, or None)."""

    spec: dict[str, Any] | None

    def __call__(self, count: ArrayLike, /) -> jax.Array: ...


@dataclasses.dataclass(frozen=True)
class _Factory:
    """A decorated public factory: how `schedule_from_spec` calls it."""

    make: Callable[..., Any]
    signature: inspect.Signature
    schedule_args: tuple[str, ...]  # parameters that take a schedule (stored as its spec)
    fields: bool  # returns a DeepSpeedSchedules: a spec names the field


_FACTORIES: dict[str, _Factory] = {}


class _NotJson(Exception):
    """An argument without a JSON form: the schedule's spec is None."""


def _to_json(value: Any) -> Any:
    """``value`` as JSON types (tuples as lists, numpy scalars as numbers), or `_NotJson`."""
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return str.__str__(value)  # a str enum (transformers.SchedulerType) as its plain text
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            raise _NotJson
        return float(value)
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _to_json(v) for k, v in value.items()}
    raise _NotJson  # an array, a tracer, a function, any other object


def _schedule_to_json(value: Any) -> Any:
    """A schedule argument as its spec (a list of schedules as a list of specs)."""
    if isinstance(value, list | tuple):
        return [_schedule_to_json(v) for v in value]
    spec = getattr(value, "spec", None)
    if not isinstance(spec, dict):
        raise _NotJson  # a user's own function: nothing to rebuild it from
    return spec


def _record(name: str, factory: _Factory, args: tuple, kwargs: dict) -> dict[str, Any] | None:
    bound = factory.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    try:
        recorded_args = {
            key: _schedule_to_json(v) if key in factory.schedule_args else _to_json(v)
            for key, v in bound.arguments.items()
        }
    except _NotJson:
        return None
    return {"schedule": name, "args": recorded_args}


def with_spec(schedule: Callable[[Any], Any], spec: dict[str, Any] | None) -> SpecSchedule:
    """``schedule`` behind a thin function that carries ``spec`` (nothing else changes)."""

    def recorded_schedule(count: ArrayLike) -> Any:
        return schedule(count)

    recorded_schedule.spec = spec  # type: ignore[attr-defined]
    return recorded_schedule  # type: ignore[return-value]


def recorded(
    name: str, *, schedule_args: tuple[str, ...] = ()
) -> Callable[[Callable[P, Any]], Callable[P, SpecSchedule]]:
    """Decorate the public factory ``name`` so that its schedules carry ``.spec``.

    Args:
      name: the factory's public name (what ``spec["schedule"]`` says).
      schedule_args: parameters that take a schedule; each is recorded as that schedule's
        spec (a list of schedules as a list of specs) and rebuilt from it.

    Examples:
      >>> from jax_onecycle import step_schedule
      >>> spec = step_schedule(0.1, 2).spec  # every argument, the defaults too
      >>> spec["schedule"], spec["args"]["gamma"], spec["args"]["steps_per_epoch"]
      ('step_schedule', 0.1, 1)
    """

    def decorate(make: Callable[P, Any]) -> Callable[P, SpecSchedule]:
        factory = _Factory(make, inspect.signature(make), tuple(schedule_args), fields=False)

        @functools.wraps(make)
        def factory_with_spec(*args: P.args, **kwargs: P.kwargs) -> SpecSchedule:
            schedule = make(*args, **kwargs)  # validates the arguments first
            return with_spec(schedule, _record(name, factory, args, kwargs))

        _FACTORIES[name] = dataclasses.replace(factory, make=factory_with_spec)
        return factory_with_spec

    return decorate


def recorded_fields(name: str) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """`recorded` for a factory that returns a ``DeepSpeedSchedules`` (a NamedTuple of them).

    Each schedule field gets the spec of the call plus ``"field"``: the field's name.
    """

    def decorate(make: Callable[P, Any]) -> Callable[P, Any]:
        factory = _Factory(make, inspect.signature(make), (), fields=True)

        @functools.wraps(make)
        def factory_with_specs(*args: P.args, **kwargs: P.kwargs) -> Any:
            result = make(*args, **kwargs)
            spec = _record(name, factory, args, kwargs)
            fields = {}
            for field in _FIELDS:
                value = getattr(result, field)
                if value is not None:
                    value = with_spec(value, None if spec is None else {**spec, "field": field})
                fields[field] = value
            return result._replace(**fields)

        _FACTORIES[name] = dataclasses.replace(factory, make=factory_with_specs)
        return factory_with_specs

    return decorate


def _check_json(value: Any, where: str) -> None:
    """Refuse anything ``json.loads`` could not have produced, naming where it is."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{_FN}: `{where}` must be {_JSON_TYPES}, got {value!r}.")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{_FN}: the keys of `{where}` must be str, got {k!r}.")
            _check_json(v, f"{where}[{k!r}]")
        return
    raise TypeError(
        f"{_FN}: `{where}` must be {_JSON_TYPES}, got {value!r} of type {type(value).__name__}."
    )


def _rebuild_schedules(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_rebuild_schedules(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        raise TypeError(f"{_FN}: `{where}` must be a schedule's spec (a dict), got {value!r}.")
    return _build(value, where)


def schedule_from_spec(spec: Mapping[str, Any]) -> SpecSchedule:
    """Rebuild the schedule that ``spec`` (a schedule's ``.spec``, e.g. read from JSON) records.

    The rebuilt schedule equals the original at every step (same dtype, bitwise) and has an
    equal ``.spec``: a resumed run rebuilds the schedule it saved, or compares the spec of
    the one it builds with the saved one.

    Args:
      spec: ``{"schedule": <public name>, "args": {<keyword>: <value>, ...}}`` of JSON
        types, with every argument of that function (a field of `from_deepspeed_config`
        adds ``"field"``: ``"learning_rate"`` or ``"momentum"``).

    Returns:
      The schedule, with ``.spec`` equal to ``spec``.

    Raises:
      ValueError, TypeError: for a spec that is not a dict of JSON types, an unknown
        schedule name, a missing or unknown argument (naming them), or a value the
        function refuses (its own message).

    Examples:
      >>> import json
      >>> import jax_onecycle as jo
      >>> sched = jo.onecycle_schedule(0.1, total_steps=100, convention="torch")
      >>> saved = json.dumps(sched.spec)
      >>> again = jo.schedule_from_spec(json.loads(saved))
      >>> again.spec == sched.spec, bool(again(37) == sched(37))
      (True, True)
    """
    if not isinstance(spec, Mapping):
        raise TypeError(
            f"{_FN}: `spec` must be a dict {{'schedule': name, 'args': {{...}}}}, got {spec!r}."
        )
    _check_json(dict(spec), "spec")
    return _build(dict(spec), "spec")


def _build(spec: dict[str, Any], where: str) -> SpecSchedule:
    name = spec.get("schedule")
    if not isinstance(name, str) or name not in _FACTORIES:
        known = ", ".join(sorted(_FACTORIES))
        exc = ValueError if isinstance(name, str) else TypeError
        raise exc(f"{_FN}: `{where}['schedule']` must be one of {known}; got {name!r}.")
    factory = _FACTORIES[name]
    allowed = {"schedule", "args"} | ({"field"} if factory.fields else set())
    extra = sorted(set(spec) - allowed)
    missing = sorted({"schedule", "args"} - set(spec))
    if extra or missing:
        raise ValueError(
            f"{_FN}: `{where}` must have exactly the keys {sorted(allowed)}; "
            f"unknown {extra}, missing {missing}."
        )
    args = spec["args"]
    if not isinstance(args, dict):
        raise TypeError(f"{_FN}: `{where}['args']` must be a dict, got {args!r}.")
    params = factory.signature.parameters
    unknown = [k for k in args if k not in params]
    if unknown:
        raise ValueError(
            f"{_FN}: `{where}['args']` has unknown argument(s) {unknown} for {name} "
            f"(its arguments: {list(params)})."
        )
    absent = [k for k in params if k not in args]
    if absent:
        raise ValueError(
            f"{_FN}: `{where}['args']` misses the argument(s) {absent} of {name} "
            "(a spec records every argument, defaults included)."
        )
    kwargs = {
        k: _rebuild_schedules(v, f"{where}['args'][{k!r}]") if k in factory.schedule_args else v
        for k, v in args.items()
    }
    if not factory.fields:
        return factory.make(**kwargs)
    field = spec.get("field")
    if field not in _FIELDS:
        raise ValueError(
            f"{_FN}: `{where}['field']` must be one of {list(_FIELDS)} for {name}, got {field!r}."
        )
    schedule = getattr(factory.make(**kwargs), field)
    if schedule is None:
        raise ValueError(
            f"{_FN}: `{where}['field']` is {field!r}, but {name} gives no {field} schedule "
            "for these arguments."
        )
    return schedule
