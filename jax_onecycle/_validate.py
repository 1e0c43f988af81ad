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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NoReturn, get_args

import jax
import numpy as np
from jax.core import Tracer

# The allowed strings, as types (for signatures) and as tuples (for `choice`).
Convention = Literal["braintools", "torch", "fastai", "optax"]
AnnealStrategy = Literal["cos", "linear"]
WsdShape = Literal["linear", "cosine", "1-sqrt"]
PlateauMode = Literal["min", "max"]
ThresholdMode = Literal["rel", "abs"]
CONVENTIONS: tuple[str, ...] = get_args(Convention)
ANNEAL_STRATEGIES: tuple[str, ...] = get_args(AnnealStrategy)
WSD_SHAPES: tuple[str, ...] = get_args(WsdShape)
PLATEAU_MODES: tuple[str, ...] = get_args(PlateauMode)
THRESHOLD_MODES: tuple[str, ...] = get_args(ThresholdMode)

INT32_MAX = 2**31 - 1  # optax step counts are int32
F32_MAX = float(np.finfo(np.float32).max)  # hyperparameters are float32
_F32_LIMIT = f"at most {F32_MAX!r} (the largest float32)"


def fail(
    fn: str, name: str, allowed: str, value: Any, exc: type[Exception] = ValueError
) -> NoReturn:
    """Raise ``exc`` saying that ``fn``'s argument ``name`` must be ``allowed``, got ``value``."""
    raise exc(f"{fn}: `{name}` must be {allowed}, got {value!r}.")


def is_tracer(value: Any) -> bool:
    """Whether ``value`` is a JAX tracer (an abstract value that cannot be checked)."""
    return isinstance(value, Tracer)


def integer(fn: str, name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as a Python int, refusing bools, floats and values below ``minimum``."""
    allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or isinstance(value, float | np.floating):
        fail(fn, name, allowed, value, TypeError)
    try:
        as_int = operator.index(value)
    except TypeError:
        fail(fn, name, allowed, value, TypeError)
    if as_int < minimum:
        fail(fn, name, allowed, value)
    return as_int


def step_count(fn: str, name: str, value: Any, *, minimum: int = 1) -> int:
    """An integer count of steps or epochs in [minimum, 2**31 - 1]: the one bounded rule.

    Every step count, size, milestone and counter of the package goes through it: optax
    counts steps in int32, so a larger count would wrap (or fail) at its first use.
    """
    as_int = integer(fn, name, value, minimum=minimum)
    if as_int > INT32_MAX:
        fail(fn, name, f"an integer in [{minimum}, 2**31 - 1]", value)
    return as_int


def total_steps(fn: str, total_steps: Any, epochs: Any, steps_per_epoch: Any) -> int:
    """Resolve ``total_steps`` or ``epochs * steps_per_epoch`` to an int in [1, 2**31 - 1].

    Whatever is given is validated, even when ``total_steps`` makes it redundant, and both
    forms given must agree.
    """
    if epochs is not None:
        epochs = step_count(fn, "epochs", epochs)
    if steps_per_epoch is not None:
        steps_per_epoch = step_count(fn, "steps_per_epoch", steps_per_epoch)
    product = None
    if epochs is not None and steps_per_epoch is not None:
        product = epochs * steps_per_epoch
    if total_steps is not None:
        total = step_count(fn, "total_steps", total_steps)
        if product is not None and product != total:
            raise ValueError(
                f"{fn}: `total_steps` and `epochs` * `steps_per_epoch` disagree: "
                f"total_steps={total!r}, epochs * steps_per_epoch = {epochs!r} * "
                f"{steps_per_epoch!r} = {product!r}; give one form, or both equal."
            )
        return total
    if product is None:
        raise ValueError(
            f"{fn}: give `total_steps`, or both `epochs` and `steps_per_epoch`; "
            f"got total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}."
        )
    if product > INT32_MAX:
        fail(fn, "epochs * steps_per_epoch", "at most 2**31 - 1", product)
    return product


def real(fn: str, name: str, value: Any) -> float:
    """Return ``value`` as a float, refusing bools, strings and other non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | np.generic):
        fail(fn, name, "a real number", value, TypeError)
    if isinstance(value, np.ndarray) and value.ndim != 0:
        fail(fn, name, "a scalar", value, TypeError)
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
        fail(fn, name, f"in {lo}, {hi}", value)
    return value


def _float32_range(fn: str, name: str, value: float) -> float:
    """Refuse a finite float64 value that float32 cannot hold (it would become inf)."""
    if abs(value) > F32_MAX:
        fail(fn, name, _F32_LIMIT, value)
    return value


def positive(fn: str, name: str, value: Any) -> float:
    """A finite, strictly positive real (a factor, a size) that stays > 0 in float32."""
    value = real(fn, name, value)
    if not (math.isfinite(value) and value > 0.0):
        fail(fn, name, "a finite number > 0", value)
    _float32_range(fn, name, value)
    if np.float32(value) == 0.0:
        fail(fn, name, "a number > 0 that float32 can hold (at least 1.4e-45)", value)
    return value


def non_negative(fn: str, name: str, value: Any) -> float:
    """A finite real >= 0 (a rate, a floor) that float32 can hold."""
    value = real(fn, name, value)
    if not (math.isfinite(value) and value >= 0.0):
        fail(fn, name, "a finite number >= 0", value)
    return _float32_range(fn, name, value)


def momentum(fn: str, name: str, value: Any) -> float:
    """A momentum coefficient in [0, 1)."""
    return fraction(fn, name, value, allow_zero=True)


def ordered(fn: str, low_name: str, low: float, high_name: str, high: float) -> None:
    """Refuse ``low > high`` (a cycle's bounds), naming both."""
    if low > high:
        raise ValueError(
            f"{fn}: `{low_name}` must be <= `{high_name}`, got {low_name}={low!r} "
            f"and {high_name}={high!r}."
        )


def momentum_range(
    fn: str, low_name: str, low: Any, high_name: str, high: Any
) -> tuple[float, float]:
    """Two momentum coefficients in [0, 1) with ``low <= high`` (a cycle's bounds)."""
    low = momentum(fn, low_name, low)
    high = momentum(fn, high_name, high)
    ordered(fn, low_name, low, high_name, high)
    return low, high


def learning_rate(fn: str, name: str, value: Any) -> Any:
    """A learning rate: a finite value >= 0 that float32 can hold; a scalar or array, or traced.

    Concrete values are checked element-wise; tracers pass unchecked, so a
    schedule can be built inside ``jax.vmap`` over several peak learning rates.
    """
    if is_tracer(value):
        return value
    allowed = "a finite number >= 0 (or an array of them)"
    if isinstance(value, bool) or isinstance(value, str):
        fail(fn, name, allowed, value, TypeError)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(fn, name, allowed, value, TypeError)
    if not (np.all(np.isfinite(arr)) and np.all(arr >= 0.0)):
        fail(fn, name, allowed, value)
    if np.any(arr > F32_MAX):
        fail(fn, name, _F32_LIMIT, value)
    return value


def choice(fn: str, name: str, value: Any, allowed: Sequence[str]) -> Any:
    """One of a fixed set of strings."""
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        exc = ValueError if isinstance(value, str) else TypeError
        fail(fn, name, f"one of {options}", value, exc)
    return value


def boolean(fn: str, name: str, value: Any) -> bool:
    """A plain bool (not a truthy number)."""
    if not isinstance(value, bool | np.bool_):
        fail(fn, name, "True or False", value, TypeError)
    return bool(value)


def milestones(fn: str, name: str, value: Any) -> list[int]:
    """Integers in [0, 2**31 - 1], each >= the one before (a repeat is allowed)."""
    allowed = "a non-decreasing sequence of integers in [0, 2**31 - 1]"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray | jax.Array):
        fail(fn, name, allowed, value, TypeError)
    out: list[int] = []
    for m in value:
        if isinstance(m, bool | float | np.floating):
            fail(fn, name, allowed, value, TypeError)
        try:
            as_int = operator.index(m)
        except TypeError:
            fail(fn, name, allowed, value, TypeError)
        if not 0 <= as_int <= INT32_MAX or (out and as_int < out[-1]):
            fail(fn, name, allowed, value)
        out.append(as_int)
    return out


def schedule(fn: str, name: str, value: Any) -> Any:
    """``value`` if it may serve as a schedule ``count -> value``; a TypeError if it may not.

    A scheduler whose rate is not a function of the step (``ReduceLROnPlateau``, a facade over
    a host-side ``lr_lambda``) sets the attribute ``is_schedule = False`` (on its class or on
    itself) and says why in ``not_a_schedule``: read as a schedule under ``jax.jit``, its rate
    would freeze at the value it had when traced.
    """
    if getattr(value, "is_schedule", True) is False:
        why = getattr(value, "not_a_schedule", "its rate is not a function of the step count")
        raise TypeError(f"{fn}: `{name}` cannot be {type(value).__name__}: {why}")
    if not callable(value):
        fail(fn, name, "a schedule `count -> value` (a callable)", value, TypeError)
    return value


def number_or_schedule(fn: str, name: str, value: Any, check: Callable[..., Any]) -> Any:
    """A schedule ``count -> value`` through `schedule`, or a number through ``check``.

    Examples:
      >>> number_or_schedule("f", "momentum", 0.9, momentum)
      0.9
    """
    if callable(value):
        return schedule(fn, name, value)
    return check(fn, name, value)


def keywords(
    owner: str, defaults: Mapping[str, Any], given: Mapping[str, Any] | None, extra: Mapping
) -> dict[str, Any]:
    """``defaults`` overridden by the entries of ``given`` it names, then by ``extra``.

    ``given`` is an entry point's ``locals()`` (its other names are not read); a key of
    ``extra`` that ``defaults`` does not name is a ``TypeError`` naming ``owner``.

    Examples:
      >>> keywords("f", {"a": 1, "b": 2}, {"a": 3, "fn": "f"}, {"b": 4})
      {'a': 3, 'b': 4}
    """
    unknown = sorted(set(extra) - set(defaults))
    if unknown:
        raise TypeError(f"{owner}: unknown keywords {unknown}")
    named = {k: v for k, v in (given or {}).items() if k in defaults}
    return {**defaults, **named, **extra}
