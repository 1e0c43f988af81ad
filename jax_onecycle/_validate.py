"""Argument checks shared by every public entry point.

Each helper raises a ``ValueError`` or ``TypeError`` whose message names the
function, the argument, the value given and what is allowed, so messages cannot
drift between entry points. Values that are JAX tracers are let through: only
concrete values can be checked before tracing.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np


def _fail(fn: str, name: str, allowed: str, value: Any, exc: type[Exception] = ValueError):
    raise exc(f"{fn}: `{name}` must be {allowed}, got {value!r}.")


def _is_tracer(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def integer(fn: str, name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as a Python int, refusing bools, floats and values below ``minimum``."""
    allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or isinstance(value, float | np.floating):
        _fail(fn, name, allowed, value, TypeError)
    try:
        as_int = operator.index(value)
    except TypeError:
        _fail(fn, name, allowed, value, TypeError)
    if as_int < minimum:
        _fail(fn, name, allowed, value)
    return as_int


def total_steps(
    fn: str, total_steps: Any, epochs: Any, steps_per_epoch: Any
) -> int:
    """Resolve ``total_steps`` or ``epochs * steps_per_epoch`` to a positive int."""
    if total_steps is not None:
        return integer(fn, "total_steps", total_steps)
    if epochs is None or steps_per_epoch is None:
        raise ValueError(
            f"{fn}: give `total_steps`, or both `epochs` and `steps_per_epoch`; "
            f"got total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}."
        )
    return integer(fn, "epochs", epochs) * integer(fn, "steps_per_epoch", steps_per_epoch)


def real(fn: str, name: str, value: Any) -> float:
    """Return ``value`` as a float, refusing bools, strings and other non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | np.generic):
        _fail(fn, name, "a real number", value, TypeError)
    if np.ndim(value) != 0:
        _fail(fn, name, "a scalar", value, TypeError)
    return float(value)


def fraction(
    fn: str, name: str, value: Any, *, allow_zero: bool = False, allow_one: bool = False
) -> float:
    """Check ``value`` lies in the unit interval, with the ends allowed as asked."""
    value = real(fn, name, value)
    lo, hi = ("[0" if allow_zero else "(0"), ("1]" if allow_one else "1)")
    low_ok = value >= 0.0 if allow_zero else value > 0.0
    high_ok = value <= 1.0 if allow_one else value < 1.0
    if not (math.isfinite(value) and low_ok and high_ok):
        _fail(fn, name, f"in {lo}, {hi}", value)
    return value


def positive(fn: str, name: str, value: Any) -> float:
    """A finite, strictly positive real (a factor, a size)."""
    value = real(fn, name, value)
    if not (math.isfinite(value) and value > 0.0):
        _fail(fn, name, "a finite number > 0", value)
    return value


def non_negative(fn: str, name: str, value: Any) -> float:
    """A finite real >= 0 (a rate, a floor)."""
    value = real(fn, name, value)
    if not (math.isfinite(value) and value >= 0.0):
        _fail(fn, name, "a finite number >= 0", value)
    return value


def momentum(fn: str, name: str, value: Any) -> float:
    """A momentum coefficient in [0, 1)."""
    return fraction(fn, name, value, allow_zero=True)


def learning_rate(fn: str, name: str, value: Any) -> Any:
    """A learning rate: a finite value >= 0; a scalar or array, possibly traced.

    Concrete values are checked element-wise; tracers pass unchecked, so a
    schedule can be built inside ``jax.vmap`` over several peak learning rates.
    """
    if _is_tracer(value):
        return value
    if isinstance(value, bool) or isinstance(value, str):
        _fail(fn, name, "a finite number >= 0 (or an array of them)", value, TypeError)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(fn, name, "a finite number >= 0 (or an array of them)", value, TypeError)
    if not (np.all(np.isfinite(arr)) and np.all(arr >= 0.0)):
        _fail(fn, name, "a finite number >= 0 (or an array of them)", value)
    return value


def choice(fn: str, name: str, value: Any, allowed: Sequence[str]) -> str:
    """One of a fixed set of strings."""
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        exc = ValueError if isinstance(value, str) else TypeError
        _fail(fn, name, f"one of {options}", value, exc)
    return value


def boolean(fn: str, name: str, value: Any) -> bool:
    """A plain bool (not a truthy number)."""
    if not isinstance(value, bool | np.bool_):
        _fail(fn, name, "True or False", value, TypeError)
    return bool(value)


INT32_MAX = 2**31 - 1  # optax step counts are int32


def step_count(fn: str, name: str, value: Any, *, minimum: int = 1) -> int:
    """An integer count of steps or epochs in [minimum, 2**31 - 1]."""
    as_int = integer(fn, name, value, minimum=minimum)
    if as_int > INT32_MAX:
        _fail(fn, name, f"an integer in [{minimum}, 2**31 - 1]", value)
    return as_int


def milestones(fn: str, name: str, value: Any) -> list[int]:
    """Integers in [0, 2**31 - 1], each >= the one before (a repeat is allowed)."""
    allowed = "a non-decreasing sequence of integers in [0, 2**31 - 1]"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray | jax.Array):
        _fail(fn, name, allowed, value, TypeError)
    out: list[int] = []
    for m in value:
        if isinstance(m, bool | float | np.floating):
            _fail(fn, name, allowed, value, TypeError)
        try:
            as_int = operator.index(m)
        except TypeError:
            _fail(fn, name, allowed, value, TypeError)
        if not 0 <= as_int <= INT32_MAX or (out and as_int < out[-1]):
            _fail(fn, name, allowed, value)
        out.append(as_int)
    return out
