"""What the brainstate side saves and restores: one checker, one placement, one message format.

Every ``load_state_dict`` of the package (the optimizers', every facade's, the plateau
facade's) checks the dict it is given here, whole, before anything changes:

- `exact_keys`: the dict is a mapping with exactly the expected keys;
- `same_settings`: the settings it was saved with equal the receiver's (a facade's
  constructor arguments; an optimizer's kind);
- `leaf`: one entry against the value it replaces. The rule is the same for everyone: a
  real number or array (no bool, string, None or complex; a bool only where a bool is
  replaced), the shape of the value it replaces; an integer entry holds integers in
  [0, 2**31 - 1]; a float entry holds no NaN, no infinity unless its owner allows one (the
  plateau rule's ``best`` starts at +-inf), and no number float32 cannot hold;
- `place`: the checked value with the dtype of the value it replaces, where that value
  lives (a committed array on its sharding, an uncommitted one uncommitted, a numpy host
  counter as numpy).

Every refusal reads ``"<fn>: `<entry>` must be <what is allowed>, got <value>."`` and
nothing is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from .. import _validate

__all__ = ["exact_keys", "same_settings", "leaf", "place", "host", "jsonable"]


def exact_keys(
    fn: str, state_dict: Any, expected: Iterable[str], what: str, name: str = "state_dict"
) -> Mapping:
    """``state_dict`` if it is a mapping with exactly the keys ``expected``."""
    expected = list(expected)
    if not isinstance(state_dict, Mapping):
        _validate.fail(fn, name, f"a mapping (a {what} state dict)", state_dict, TypeError)
    given = set(map(str, state_dict))
    missing = sorted(k for k in expected if k not in given)
    extra = sorted(given - set(expected))
    if missing or extra:
        shown = expected if len(expected) <= 8 else f"{expected[:8]} and {len(expected) - 8} more"
        raise ValueError(
            f"{fn}: `{name}` must have exactly the keys {shown} (a {what} state dict); "
            f"missing {missing}, unexpected {extra}. Nothing was loaded."
        )
    return state_dict


def same_settings(
    fn: str,
    saved: Any,
    own: Mapping[str, Any],
    what: str,
    hint: str = (
        "Build it with the saved settings to resume; to change the length of a run in "
        "progress use `change_horizon`"
    ),
) -> None:
    """Refuse ``saved`` settings that differ from ``own``: the first difference, both values."""
    if not isinstance(saved, Mapping):
        _validate.fail(fn, "state_dict['settings']", "a mapping of settings", saved, TypeError)
    for name, value in own.items():
        if name not in saved:
            raise ValueError(
                f"{fn}: `state_dict['settings']` lacks `{name}` (this {what} has "
                f"{name}={value!r}); it was not saved by a {what}."
            )
        if jsonable(saved[name]) != value:
            raise ValueError(
                f"{fn}: the state dict was saved with {name}={saved[name]!r}, but this {what} "
                f"has {name}={value!r}. {hint}. Nothing was loaded."
            )
    extra = sorted(set(map(str, saved)) - set(own))
    if extra:
        raise ValueError(
            f"{fn}: `state_dict['settings']` has settings a {what} does not have: {extra}."
        )


def _allowed(integer: bool, shape: tuple, infinite: bool) -> str:
    if integer:
        one, many = "an integer in [0, 2**31 - 1]", "integers in [0, 2**31 - 1]"
    elif infinite:
        one, many = "a real number (no NaN)", "real numbers (no NaN)"
    else:
        one, many = "a finite real number", "finite real numbers"
    return f"{many} of shape {shape}" if shape else one


def _shown(value: Any) -> Any:
    """``value`` for a message: itself when small, else its type, shape and dtype."""
    size = np.size(value) if isinstance(value, np.ndarray | jax.Array | list | tuple) else 1
    if size <= 8:
        return value
    return f"{type(value).__name__} of shape {np.shape(value)}, dtype {np.asarray(value).dtype}"


def leaf(fn: str, name: str, value: Any, like: Any, *, infinite: bool = False) -> np.ndarray:
    """``value`` as a numpy array, checked against ``like`` (the value it will replace)."""
    like_dtype = np.dtype(like.dtype) if hasattr(like, "dtype") else np.asarray(like).dtype
    shape = tuple(np.shape(like))
    if like_dtype == np.bool_:
        array = np.asarray(value)
        if array.dtype != np.bool_ or array.shape != shape:
            _validate.fail(fn, name, f"booleans of shape {shape}", value, TypeError)
        return array
    integer = jnp.issubdtype(like_dtype, jnp.integer)
    allowed = _allowed(integer, shape, infinite)
    if isinstance(value, bool | np.bool_ | str | bytes) or value is None:
        _validate.fail(fn, name, allowed, value, TypeError)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        _validate.fail(fn, name, allowed, type(value).__name__, TypeError)
    if array.dtype.kind not in ("iu" if integer else "iuf"):
        _validate.fail(fn, name, allowed, _shown(value), TypeError)
    if array.shape != shape:
        raise ValueError(f"{fn}: `{name}` must be of shape {shape}, got shape {array.shape}.")
    if integer and not np.all((array >= 0) & (array <= _validate.INT32_MAX)):
        _validate.fail(fn, name, allowed, _shown(value))
    if not integer:
        as_float = array.astype(np.float64)
        bad = np.isnan(as_float) | (np.isinf(as_float) & (not infinite))
        too_big = np.isfinite(as_float) & (np.abs(as_float) > _validate.F32_MAX)
        if np.any(bad) or (np.any(too_big) and like_dtype.itemsize <= 4):
            _validate.fail(fn, name, allowed, _shown(value))
    return array


def place(array: np.ndarray, like: Any) -> Any:
    """``array`` with the dtype of ``like``, where ``like`` lives.

    A committed ``jax.Array`` (placed on devices by the user or by ``jit`` on sharded
    inputs) gives an array on the same sharding; an uncommitted one (a fresh ``jnp`` value)
    an uncommitted array, so the next ``jit`` places it as it placed the one it replaces;
    a numpy value (a host-side counter) stays numpy.
    """
    if not isinstance(like, jax.Array):
        return np.asarray(array, dtype=np.asarray(like).dtype)
    array = np.asarray(array, dtype=like.dtype)
    if not like.committed:
        return jnp.asarray(array)
    return jax.make_array_from_callback(array.shape, like.sharding, lambda index: array[index])


def host(value: Any) -> np.ndarray:
    """``value`` as numpy on this host; gathered first if other processes hold parts of it."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        return np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return np.asarray(value)


def jsonable(value: Any) -> Any:
    """``value`` in JSON types (tuples as lists, numpy numbers as Python numbers).

    A value JSON cannot hold (a function, an array that is not small) is recorded by a
    description, ``"<function name>"``, so two settings compare by it.
    """
    if isinstance(value, np.ndarray | jax.Array) and not _validate.is_tracer(value):
        value = np.asarray(value).tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return f"<{getattr(value, '__qualname__', type(value).__name__)}>"
    return value
