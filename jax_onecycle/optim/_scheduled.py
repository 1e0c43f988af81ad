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


def is_injected_number(value: Any) -> bool:
    """Whether ``value`` is a float scalar that `scheduled` injects (ints and bools are static)."""
    if isinstance(value, bool | np.bool_ | numbers.Integral | np.integer):
        return False
    if isinstance(value, numbers.Real | np.floating):
        return True
    return (
        isinstance(value, np.ndarray | jax.Array)
        and np.ndim(value) == 0
        and jnp.issubdtype(value.dtype, jnp.floating)
    )


def _static_names(fn: str, static_args: Any, hyperparams: Mapping[str, Any]) -> set[str]:
    """The names of ``static_args`` (a name or names), each one a keyword given to `scheduled`."""
    names = [static_args] if isinstance(static_args, str) else static_args
    try:
        names = list(names)
    except TypeError:
        _validate.fail(fn, "static_args", "a name or an iterable of names", static_args, TypeError)
    for name in names:
        if not isinstance(name, str):
            _validate.fail(fn, "static_args", "names (strings)", static_args, TypeError)
        if name not in hyperparams:
            raise ValueError(
                f"{fn}: `static_args` names `{name}`, which is not given (the keywords given: "
                f"{', '.join(hyperparams) or 'none'}); pass `{name}=...` too, or leave it out of "
                "`static_args`."
            )
    return set(names)


def _check(fn: str, factory: Any, hyperparams: Mapping[str, Any], static: set[str]) -> None:
    if not callable(factory):
        _validate.fail(
            fn, "factory", "an optax optimizer factory such as optax.sgd", factory, TypeError
        )
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        params = None
    takes_any = params is None or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
    for name in hyperparams:
        if not takes_any and name not in params:  # type: ignore[operator]
            known = ", ".join(n for n in params)  # type: ignore[union-attr]
            raise ValueError(
                f"{fn}: `{name}` is not an argument of {getattr(factory, '__name__', factory)} "
                f"(its arguments: {known})."
            )
    for name, value in hyperparams.items():
        if name in static:
            continue
        if callable(value):
            _validate.schedule(fn, name, value)  # refuses a scheduler that is not one
        elif is_injected_number(value) and not _validate.is_tracer(value):
            as_float = float(np.asarray(value))
            if not (math.isfinite(as_float) and abs(as_float) <= _validate.F32_MAX):
                _validate.fail(fn, name, "finite in float32 (|x| <= 3.4e38)", value)


def _at(fn: str, name: str, schedule: Callable[[Any], Any], count: jax.Array) -> jax.Array:
    """``schedule(count)`` as the float32 scalar injected; a callable that is not one refused."""
    hint = (
        f"`{name}` is callable, so it is taken as a schedule `count -> value`; if it is not "
        f'one (a mask, a function of the params), name it in `static_args=("{name}",)`'
    )
    try:
        value = schedule(count)
    except Exception as err:  # noqa: BLE001 -- re-raised with the hint, the cause chained
        raise TypeError(f"{fn}: {hint}. Calling it with the step count failed: {err!r}") from err
    dtype = getattr(value, "dtype", None)
    if dtype is None:  # a Python number, or a pytree, a string...
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    else:  # an array or a tracer: a scalar number, not a bool
        number = np.ndim(value) == 0 and jnp.issubdtype(dtype, jnp.number)
    if not number:
        raise TypeError(f"{fn}: {hint}. It returned {value!r}, not a number.")
    return hyper(value)


def scheduled(
    factory: Callable[..., optax.GradientTransformation],
    /,
    *,
    static_args: str | Iterable[str] = (),
    **hyperparams: Any,
) -> optax.GradientTransformationExtraArgs:
    """Any optax optimizer with each hyperparameter a float or a schedule, dtype-safe.

    Like ``optax.inject_hyperparams(factory, static_args=...)(**hyperparams)``, with the
    guarantees it lacks: every injected hyperparameter is a float32 scalar whatever the
    parameters' dtype (x64 included), every state buffer keeps the dtype it was initialised
    with and every update the dtype of its gradient (bf16 training in ``lax.scan`` works,
    one trace serves the whole run), and one step count drives every schedule.

    What is injected, what is passed as it is: float values (Python, numpy or a 0-d float
    array, traced ones included) and schedules (``count -> value`` callables) are injected
    as float32 and readable with `hyperparams`. Everything else reaches ``factory``
    unchanged and is not a hyperparameter: ``int`` and ``bool`` values (``memory_size=5``,
    ``nesterov=True``), strings, None, arrays that are not scalars, the names in
    ``static_args``, and ``mask`` (never a schedule).

    Args:
      factory: an optax optimizer factory, e.g. ``optax.sgd`` or ``optax.adamw``.
      static_args: a name or names of given keywords to pass to ``factory`` unchanged: a
        callable that is not a schedule (a weight-decay ``mask`` function, a
        ``linesearch``), or a float that should stay a Python float.
      **hyperparams: the factory's keyword arguments, each a float or a schedule (or a
        static value, as above).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose state is a `ScheduledState`.

    Raises:
      TypeError: ``factory`` is not callable; ``static_args`` is not names; a callable
        that may not serve as a schedule (``ReduceLROnPlateau``: its rate is not a
        function of the step), or one that fails or returns something other than a
        number at the step count (name it in ``static_args``).
      ValueError: a name the factory does not take, a name in ``static_args`` that is not
        given, or a float not finite in float32.

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

      Integers are static, and so is a callable named in ``static_args``:

      >>> lbfgs = jo.scheduled(optax.lbfgs, learning_rate=0.5, memory_size=5)
      >>> state = lbfgs.init({"w": jnp.ones(3)})
      >>> state.inner_state[0].diff_params_memory["w"].shape, sorted(jo.hyperparams(state))
      ((5, 3), ['learning_rate'])
      >>> decay_matrices = lambda params: {k: v.ndim > 1 for k, v in params.items()}
      >>> adamw = jo.scheduled(optax.adamw, learning_rate=1e-3, weight_decay=0.1,
      ...                      mask=decay_matrices, static_args=("mask",))
    """
    fn = "scheduled"
    static = _static_names(fn, static_args, hyperparams)
    if callable(hyperparams.get("mask")):
        static.add("mask")  # a mask function of the params: never a schedule
    _check(fn, factory, hyperparams, static)
    schedules = {k: v for k, v in hyperparams.items() if k not in static and callable(v)}
    numeric = {
        k: v
        for k, v in hyperparams.items()
        if k not in static and k not in schedules and is_injected_number(v)
    }
    fixed = {k: v for k, v in hyperparams.items() if k not in schedules and k not in numeric}

    def values(count: jax.Array, current: Mapping[str, Any]) -> dict[str, jax.Array]:
        # In the order the caller gave them; schedules at ``count``, numbers as stored. A
        # schedule given for several names (one per parameter group) is evaluated once.
        at: dict[int, jax.Array] = {}
        out = {}
        for k in hyperparams:
            if k in schedules:
                s = schedules[k]
                out[k] = at[id(s)] if id(s) in at else at.setdefault(id(s), _at(fn, k, s, count))
            elif k in numeric:
                out[k] = hyper(current[k])
        return out

    def build(hp: Mapping[str, jax.Array]) -> optax.GradientTransformationExtraArgs:
        return optax.with_extra_args_support(factory(**fixed, **hp))

    def init_fn(params: Any) -> ScheduledState:
        count = jnp.zeros([], jnp.int32)
        hp = values(count, numeric)
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
