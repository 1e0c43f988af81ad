"""PyTorch's ReduceLROnPlateau rule, once: its state, checks, and a pure, jittable update.

Two front ends stand on it: the brainstate facade ``ReduceLROnPlateau`` (``stateful``) and
the optax transform `reduce_lr_on_plateau` defined here. Names other modules use are plain
(`PlateauState`, `check_args`, `init`, `update`, `check_metric`); the facade's state dict
is checked by the brainstate side's one checker (`stateful._state_io`).

``optax.contrib.reduce_on_plateau`` is a different policy (see `update`), so it is not used.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from .. import _validate

__all__ = ["reduce_lr_on_plateau", "ReduceLROnPlateauState"]

MODES = _validate.PLATEAU_MODES
THRESHOLD_MODES = _validate.THRESHOLD_MODES
_METRIC = "one real number (a float, an int or a 0-d real array)"


class PlateauState(NamedTuple):
    """ReduceLROnPlateau's counters, as in ``torch.optim.lr_scheduler.ReduceLROnPlateau``."""

    lr: jax.Array  # float32: the learning rate in force (scalar or one per group)
    best: jax.Array  # float32: best metric so far (+inf / -inf before the first)
    num_bad_epochs: jax.Array  # int32
    cooldown_counter: jax.Array  # int32
    last_epoch: jax.Array  # int32: number of metrics seen


PLATEAU_DEFAULTS: dict[str, Any] = {  # PyTorch's defaults
    "mode": "min",
    "factor": 0.1,
    "patience": 10,
    "threshold": 1e-4,
    "threshold_mode": "rel",
    "cooldown": 0,
    "min_lr": 0.0,
    "eps": 1e-8,
}


def check_args(
    fn: str, lr: Any, given: Mapping[str, Any] | None = None, /, **keywords: Any
) -> tuple[Any, dict[str, Any]]:
    """Validate ReduceLROnPlateau's arguments; return ``lr`` and the keywords of `update`.

    The keywords (those of `PLATEAU_DEFAULTS`) come from ``given`` (an entry point's
    ``locals()``: only these keywords are read) and ``keywords``; one given neither way takes
    PyTorch's default.

    ``factor`` must lie in (0, 1): PyTorch refuses ``factor >= 1`` and lets 0 or a
    negative factor drop the rate straight to ``min_lr``; we refuse those too, and a
    factor that float32 rounds to 0. ``threshold`` must be finite and >= 0 (a negative one
    would count worse as better). ``lr`` and ``min_lr`` must be representable in float32.
    """
    k = _validate.keywords("check_args", PLATEAU_DEFAULTS, given, keywords)
    lr = _validate.learning_rate(fn, "lr", lr)
    factor = _validate.fraction(fn, "factor", k["factor"])
    if np.float32(factor) == 0.0:
        _validate.fail(fn, "factor", "in (0, 1) and > 0 in float32 (at least 1.4e-45)", factor)
    hyper = dict(
        mode=_validate.choice(fn, "mode", k["mode"], MODES),
        factor=factor,
        patience=_validate.step_count(fn, "patience", k["patience"], minimum=0),
        threshold=_validate.non_negative(fn, "threshold", k["threshold"]),
        threshold_mode=_validate.choice(fn, "threshold_mode", k["threshold_mode"], THRESHOLD_MODES),
        cooldown=_validate.step_count(fn, "cooldown", k["cooldown"], minimum=0),
        min_lr=_validate.learning_rate(fn, "min_lr", k["min_lr"]),
        eps=_validate.non_negative(fn, "eps", k["eps"]),
    )
    return lr, hyper


def init(lr: ArrayLike, mode: str) -> PlateauState:
    """The state before the first metric: ``best`` is the worst value for ``mode``."""
    worst = math.inf if mode == "min" else -math.inf
    zero = jnp.zeros((), jnp.int32)
    return PlateauState(jnp.asarray(lr, jnp.float32), jnp.float32(worst), zero, zero, zero)


def update(
    state: PlateauState,
    metric: ArrayLike,
    *,
    mode: str,
    factor: float,
    patience: int,
    threshold: float,
    threshold_mode: str,
    cooldown: int,
    min_lr: ArrayLike,
    eps: float,
) -> PlateauState:
    """One ``ReduceLROnPlateau.step(metric)`` of PyTorch, as a pure, jittable update.

    It follows ``torch/optim/lr_scheduler.py`` (``ReduceLROnPlateau.step``) line by line,
    quirks included: comparisons are strict (a NaN metric is a bad epoch and never the
    best); ``best`` is still tracked during cooldown, where bad epochs are ignored; a
    reduction happens once ``num_bad_epochs > patience``, to ``max(lr * factor, min_lr)``,
    and is skipped unless it lowers the rate by more than ``eps`` (the counters are reset
    all the same). Only the configuration (``mode``, ``threshold_mode``) is branched on
    in Python; every value goes through ``jnp.where``.

    ``optax.contrib.reduce_on_plateau`` is not used: it is a different policy. It scales
    the updates of the same call by a relative factor (no absolute ``lr``), reduces when
    the count *equals* ``patience`` (an epoch earlier than PyTorch; never on a plateau with
    ``patience=0``), has no ``mode="max"`` and no ``threshold_mode`` (rtol and atol apply
    together, and PyTorch's strict ``threshold=0`` cannot be expressed), applies
    ``min_scale`` at every step and has no ``eps`` (``tests/golden/FAMILY_NOTES.md``).
    """
    metric = jnp.asarray(metric, state.best.dtype)
    best = state.best
    if mode == "min":
        limit = best * (1.0 - threshold) if threshold_mode == "rel" else best - threshold
        better = metric < limit
    else:
        limit = best * (1.0 + threshold) if threshold_mode == "rel" else best + threshold
        better = metric > limit
    bad = jnp.where(better, 0, optax.safe_increment(state.num_bad_epochs))
    cooling = state.cooldown_counter > 0
    bad = jnp.where(cooling, 0, bad)
    counter = jnp.where(cooling, state.cooldown_counter - 1, state.cooldown_counter)
    reduce = bad > patience
    cut = jnp.maximum(state.lr * factor, jnp.asarray(min_lr, state.lr.dtype))
    return PlateauState(
        lr=jnp.where(reduce & (state.lr - cut > eps), cut, state.lr),
        best=jnp.where(better, metric, best),
        num_bad_epochs=jnp.where(reduce, 0, bad).astype(jnp.int32),
        cooldown_counter=jnp.where(reduce, cooldown, counter).astype(jnp.int32),
        last_epoch=jnp.asarray(optax.safe_increment(state.last_epoch), jnp.int32),
    )


def check_metric(fn: str, name: str, value: Any) -> jax.Array:
    """One real scalar (concrete or traced) as float32; anything else is refused by name.

    Refused: None, strings, bools, complex numbers, and arrays of more than one number
    (a vector metric would silently turn every counter and the rate into vectors).
    """
    if isinstance(value, jax.Array):  # concrete or traced: its shape and dtype are known
        dtype, shape = value.dtype, value.shape
    elif isinstance(value, bool | np.bool_) or not isinstance(
        value, numbers.Real | np.ndarray | np.generic
    ):
        _validate.fail(fn, name, _METRIC, value, TypeError)
    else:
        array = np.asarray(value)
        dtype, shape = array.dtype, array.shape
    if shape != () or not (
        jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)
    ):
        _validate.fail(fn, name, _METRIC, value, TypeError)
    return jnp.asarray(value, jnp.float32)


# ---- the optax transform ----------------------------------------------------------------


class ReduceLROnPlateauState(NamedTuple):
    """State of `reduce_lr_on_plateau`: PyTorch's counters and the metric window.

    ``hyperparams`` (a read-only property, not a field) gives the learning rate in force,
    as ``{"learning_rate": float32 scalar}``.
    """

    __module__ = "jax_onecycle"

    plateau: PlateauState  # PyTorch's counters; ``plateau.lr`` is the rate in force
    window_count: jax.Array  # int32: updates in the current window, in [0, accumulation_size)
    metric_sum: jax.Array  # float32: sum of the window's metrics

    @property
    def hyperparams(self) -> dict[str, jax.Array]:
        """The learning rate the next update is multiplied by."""
        return {"learning_rate": self.plateau.lr}


def reduce_lr_on_plateau(
    *,
    mode: _validate.PlateauMode = "min",
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: _validate.ThresholdMode = "rel",
    cooldown: int = 0,
    min_lr: float = 0.0,
    eps: float = 1e-8,
    accumulation_size: int = 1,
    lr: float = 1.0,
) -> optax.GradientTransformationExtraArgs:
    """PyTorch's ``ReduceLROnPlateau`` as an optax transform that scales the updates.

    ``update(updates, state, params=None, *, value=metric)`` multiplies ``updates`` by the
    learning rate in force, then takes ``metric`` into account, as PyTorch's loop
    ``optimizer.step(); scheduler.step(metric)`` does: the metric given with update ``k``
    first affects update ``k + 1``. After every ``accumulation_size`` updates, the mean of
    their metrics is one PyTorch ``step(metric)``. Chained after ``optax.sgd(1.0,
    momentum=m)`` it reproduces ``torch.optim.SGD(params, lr, momentum=m)`` with
    ``ReduceLROnPlateau`` stepped after each ``optimizer.step()``. Pure and jittable; the
    updates keep their dtype; the state is a NamedTuple of float32/int32 arrays.

    Args:
      mode: ``"min"`` (the metric should fall) or ``"max"``.
      factor: multiplier of a cut, in (0, 1).
      patience: bad decisions tolerated before a cut.
      threshold: least change that counts as an improvement.
      threshold_mode: ``"rel"`` or ``"abs"``.
      cooldown: decisions after a cut during which bad ones are not counted.
      min_lr: lowest learning rate.
      eps: a cut smaller than this is skipped.
      accumulation_size: updates whose mean metric makes one decision (e.g. an epoch).
      lr: the starting learning rate (1.0: a factor on the preceding transforms' rate).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; its state's ``hyperparams`` property
      reads ``{"learning_rate": rate in force}``.

    Raises:
      ValueError, TypeError: a bad argument, or a ``value`` that is not one real number.

    Examples:
      >>> import jax.numpy as jnp, optax
      >>> tx = optax.chain(optax.sgd(1.0), reduce_lr_on_plateau(lr=0.1, patience=0))
      >>> params = {"w": jnp.ones(2)}
      >>> state = tx.init(params)
      >>> for loss in [1.0, 1.0, 1.0]:
      ...     updates, state = tx.update({"w": jnp.ones(2)}, state, params, value=loss)
      >>> round(float(updates["w"][0]), 6), round(float(state[1].hyperparams["learning_rate"]), 6)
      (-0.01, 0.001)
    """
    fn = "reduce_lr_on_plateau"
    _validate.real(fn, "lr", lr)
    _validate.real(fn, "min_lr", min_lr)
    lr, hyper = check_args(fn, lr, locals())
    size = _validate.step_count(fn, "accumulation_size", accumulation_size)
    start = float(lr)

    def init_fn(params: Any) -> ReduceLROnPlateauState:
        del params
        return ReduceLROnPlateauState(
            init(start, hyper["mode"]), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32)
        )

    def update_fn(
        updates: Any,
        state: optax.OptState,
        params: Any = None,
        *,
        value: Any = None,
        **extra_args: Any,
    ) -> tuple[Any, ReduceLROnPlateauState]:
        del params, extra_args
        state = cast(ReduceLROnPlateauState, state)
        metric = check_metric(fn, "value", value)
        rate = state.plateau.lr
        updates = jax.tree.map(lambda u: (u * rate).astype(u.dtype), updates)
        if size == 1:
            plateau = update(state.plateau, metric, **hyper)
            return updates, state._replace(plateau=plateau)
        total, count = state.metric_sum + metric, state.window_count + 1
        done = count >= size
        decided = update(state.plateau, total / size, **hyper)
        plateau = jax.tree.map(lambda new, old: jnp.where(done, new, old), decided, state.plateau)
        return updates, ReduceLROnPlateauState(
            plateau, jnp.where(done, 0, count), jnp.where(done, jnp.float32(0.0), total)
        )

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
