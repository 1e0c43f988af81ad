"""`scheduled`: any optax optimizer with float and scheduled hyperparameters, dtype-safe.

``optax.inject_hyperparams`` hands its hyperparameters to the optimizer as strongly typed
arrays (float32, or float64 with x64 on). Multiplying a bfloat16 momentum buffer by such a
``momentum`` promotes the buffer to float32 after the first update: ``lax.scan`` then
refuses the carry, ``jit`` compiles twice and the memory bf16 saved is gone (plain
``optax.sgd(0.9)`` keeps bf16, because a Python float is weakly typed). Here every
hyperparameter is a float32 scalar whatever the parameters' dtype, the arithmetic runs at
that precision, and each state buffer and each update is cast back to the dtype it came
in with: the state's types never change, so one trace serves the whole run.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _validate

__all__ = ["scheduled", "ScheduledState"]

HYPER_DTYPE = jnp.float32


class ScheduledState(NamedTuple):
    """The state of a `scheduled` optimizer.

    Attributes:
      count: number of updates applied (int32, saturating); every schedule reads it.
      hyperparams: each injected hyperparameter (float32 scalar) as the last update used it
        (before the first update: its value at count 0). Numbers written here take effect
        at the next update without recompiling.
      inner_state: the state of the optimizer ``factory`` built.
    """

    count: jax.Array  # pyright: ignore[reportIncompatibleMethodOverride]
    hyperparams: dict[str, jax.Array]
    inner_state: Any


def keep_dtypes(new: Any, old: Any) -> Any:
    """``new`` with every floating leaf cast to the dtype of the matching leaf of ``old``."""

    def cast(n: Any, o: Any) -> Any:
        if hasattr(n, "dtype") and hasattr(o, "dtype") and n.dtype != o.dtype:
            return jnp.asarray(n).astype(o.dtype)
        return n

    return jax.tree.map(cast, new, old)


def hyper(value: Any) -> jax.Array:
    """A hyperparameter value as the float32 scalar the update uses."""
    return jnp.asarray(value).astype(HYPER_DTYPE)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, numbers.Real | np.floating | np.integer):
        return True
    return isinstance(value, np.ndarray | jax.Array) and np.ndim(value) == 0


def _check(fn: str, factory: Any, hyperparams: Mapping[str, Any], static: set[str]) -> None:
    if not callable(factory):
        _validate.fail(
            fn, "factory", "an optax optimizer factory such as optax.sgd", factory, TypeError
        )
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name in [*hyperparams, *static]:
        if not takes_any and name not in params:
            known = ", ".join(n for n in params)
            raise ValueError(
                f"{fn}: `{name}` is not an argument of {getattr(factory, '__name__', factory)} "
                f"(its arguments: {known})."
            )
    for name, value in hyperparams.items():
        if name in static or callable(value) or value is None:
            continue
        if _is_number(value) and not _validate.is_tracer(value):
            as_float = float(np.asarray(value))
            if not (math.isfinite(as_float) and abs(as_float) <= _validate.F32_MAX):
                _validate.fail(fn, name, "finite in float32 (|x| <= 3.4e38)", value)


def scheduled(
    factory: Callable[..., optax.GradientTransformation],
    /,
    *,
    static_args: Iterable[str] = (),
    **hyperparams: Any,
) -> optax.GradientTransformationExtraArgs:
    """Any optax optimizer with each hyperparameter a float or a schedule, dtype-safe.

    Like ``optax.inject_hyperparams(factory)(**hyperparams)``, with the guarantees it
    lacks: every injected hyperparameter is a float32 scalar whatever the parameters'
    dtype (x64 included), every state buffer keeps the dtype it was initialised with and
    every update the dtype of its gradient (bf16 training in ``lax.scan`` works, one trace
    serves the whole run), and one step count drives every schedule. Numbers and
    schedules (``count -> value``) are injected and readable with `hyperparams`; other
    values (bools, strings, None, and the names in ``static_args``, e.g. a ``mask``
    function) are passed to ``factory`` unchanged.

    Args:
      factory: an optax optimizer factory, e.g. ``optax.sgd`` or ``optax.adamw``.
      static_args: names of callable arguments that are not schedules (``mask``).
      **hyperparams: the factory's keyword arguments, each a float or a schedule.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose state is a `ScheduledState`.

    Raises:
      TypeError: ``factory`` is not callable.
      ValueError: a name the factory does not take, or a number not finite in float32.

    Examples:
      >>> import jax.numpy as jnp, optax
      >>> import jax_onecycle as jo
      >>> opt = jo.scheduled(optax.sgd, learning_rate=jo.onecycle_schedule(0.1, 100),
      ...                    momentum=0.9)
      >>> params = {"w": jnp.ones(3, jnp.bfloat16)}
      >>> state = opt.init(params)
      >>> updates, state = opt.update(params, state, params)
      >>> state.inner_state[0].trace["w"].dtype, updates["w"].dtype
      (dtype(bfloat16), dtype(bfloat16))
      >>> {k: round(float(v), 4) for k, v in jo.hyperparams(state).items()}
      {'learning_rate': 0.004, 'momentum': 0.9}
    """
    fn = "scheduled"
    static = set(static_args) | {"mask"} & set(hyperparams)
    _check(fn, factory, hyperparams, static)
    fixed = {
        k: v for k, v in hyperparams.items() if k in static or not (callable(v) or _is_number(v))
    }
    numeric = {k: v for k, v in hyperparams.items() if k not in fixed and not callable(v)}
    schedules = {k: v for k, v in hyperparams.items() if k not in fixed and callable(v)}

    def values(count: jax.Array, current: Mapping[str, Any]) -> dict[str, jax.Array]:
        # In the order the caller gave them; schedules at ``count``, numbers as stored.
        return {
            k: hyper(schedules[k](count) if k in schedules else current[k])
            for k in hyperparams
            if k in schedules or k in numeric
        }

    def build(hp: Mapping[str, jax.Array]) -> optax.GradientTransformationExtraArgs:
        return optax.with_extra_args_support(factory(**fixed, **hp))

    def init_fn(params: Any) -> ScheduledState:
        count = jnp.zeros([], jnp.int32)
        hp = values(count, {k: hyper(v) for k, v in numeric.items()})
        return ScheduledState(count, hp, build(hp).init(params))

    def update_fn(
        updates: Any, state: ScheduledState, params: Any = None, **extra_args: Any
    ) -> tuple[Any, ScheduledState]:
        hp = values(state.count, state.hyperparams)
        new_updates, inner = build(hp).update(updates, state.inner_state, params, **extra_args)
        return keep_dtypes(new_updates, updates), ScheduledState(
            jnp.asarray(optax.safe_increment(state.count)),
            hp,
            keep_dtypes(inner, state.inner_state),
        )

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)  # type: ignore[arg-type]
