"""The scheduler family: StepLR to warmup-stable-decay, with PyTorch / Hugging Face parity.

Curves are ``_schedules``' phases (``_Segment`` + ``_build`` over ``optax.join_schedules``)
and ramps (``_linear``, ``_cos``, ``_constant``), or ``optax.piecewise_constant_schedule``.
Added here, only for parity: epoch arithmetic, Hugging Face's unclamped multi-cycle cosine
and ``1-sqrt`` ramps, and ReduceLROnPlateau's decision logic as a pure state update.
"""

from __future__ import annotations

import collections
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from . import _validate
from ._schedules import Shape, _build, _constant, _cos, _linear, _Segment

__all__ = [
    "step_schedule",
    "multistep_schedule",
    "cosine_annealing_schedule",
    "cosine_warm_restarts_schedule",
    "linear_schedule_with_warmup",
    "cosine_schedule_with_warmup",
    "constant_schedule_with_warmup",
    "wsd_schedule",
]

_INT32_MAX = _validate.INT32_MAX
WSD_TYPES = ("linear", "cosine", "1-sqrt")
PLATEAU_MODES = ("min", "max")
THRESHOLD_MODES = ("rel", "abs")


# ---- pieces --------------------------------------------------------------------------


def _lr(fn: str, name: str, value: Any) -> jax.Array:
    return jnp.asarray(_validate.learning_rate(fn, name, value), jnp.result_type(float))


def _steps(count: ArrayLike) -> jax.Array:
    """A step count as int32 in [0, 2**31 - 1] (a float count is floored)."""
    count = jnp.asarray(count)
    if not jnp.issubdtype(count.dtype, jnp.integer):  # 2**31 - 128: the last float32 below 2**31
        return jnp.clip(jnp.floor(count), 0, 2**31 - 128).astype(jnp.int32)
    return jnp.clip(count, 0, _INT32_MAX).astype(jnp.int32)


def _epoch(count: ArrayLike, steps_per_epoch: int) -> jax.Array:
    """The epoch that batch ``count`` belongs to: ``count // steps_per_epoch``."""
    return _steps(count) // steps_per_epoch


def _cosine_cycles(cycles: float, size: float) -> Shape:
    """``b + (a - b) * cos(pi * cycles * x / size) ** 2``, for any ``x`` (not clamped).

    Hugging Face's ``0.5 * (1 + cos(2 pi cycles progress))``. The phase is reduced
    exactly (``fmod``) before dividing, and measured from the cosine's zero, so the curve
    keeps float32 accuracy after many cycles and near a tiny value.
    """

    def shape(a, b, x, y, length):
        r = jnp.remainder(cycles * x, size)  # t = cycles * x / size; t mod 1 == r / size
        v = jnp.abs(r - 0.5 * size) / size  # cos(pi t) ** 2 == sin(pi v) ** 2
        return b + (a - b) * jnp.square(jnp.sin(jnp.pi * v))

    return shape


def _one_minus_sqrt(warmup: bool) -> Shape:
    """Hugging Face's ``1-sqrt`` shapes, without cancellation near either end.

    Warmup ``a + (b - a) (1 - sqrt(1 - p))``, decay ``b + (a - b) (1 - sqrt(p))``, using
    ``1 - sqrt(1 - u) == u / (1 + sqrt(1 - u))``.
    """

    def shape(a, b, x, y, length):
        if not warmup:  # the decay is the warmup seen from the end
            a, b, x, y = b, a, y, x
        return a + (b - a) * (x / length) / (1.0 + jnp.sqrt(y / length))

    return shape


def _warmup(start: Any, peak: Any, steps: int, shape: Shape = _linear) -> list[_Segment]:
    """Hugging Face's warmup from ``start`` to ``peak``: ``step / max(1, steps)``; none if 0."""
    return [_Segment(0, 0.0, float(steps), start, peak, shape)] if steps else []


def _at(step: int) -> int:
    return min(step, _INT32_MAX)  # a switch past the int32 range is never reached


# ---- PyTorch epoch schedulers ----------------------------------------------------------


def step_schedule(
    base_lr: ArrayLike, step_size: int, gamma: float = 0.1, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.StepLR``: ``base_lr * gamma ** (epoch // step_size)``.

    Batch ``b`` uses epoch ``b // steps_per_epoch``.

    Args:
      base_lr: initial learning rate (scalar or array, possibly traced).
      step_size: epochs between two decays.
      gamma: decay factor, in (0, 1] (PyTorch accepts any; > 1 overflows, <= 0 kills the rate).
      steps_per_epoch: optimizer steps per epoch.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = step_schedule(0.1, step_size=2, gamma=0.5)
      >>> [round(float(sched(e)), 4) for e in range(6)]
      [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    """
    fn = "step_schedule"
    lr = _lr(fn, "base_lr", base_lr)
    size = _validate.step_count(fn, "step_size", step_size)
    gamma = _validate.fraction(fn, "gamma", gamma, allow_one=True)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)

    def schedule(count: ArrayLike) -> jax.Array:
        return lr * jnp.power(jnp.asarray(gamma, lr.dtype), _epoch(count, spe) // size)

    return schedule


def multistep_schedule(
    base_lr: ArrayLike, milestones: Any, gamma: float = 0.1, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.MultiStepLR``: times ``gamma`` at each milestone epoch.

    Epoch ``e`` uses ``base_lr * gamma ** (number of milestones <= e)``: a milestone 0
    applies from the first step and a repeated milestone compounds, as in PyTorch.
    Unlike PyTorch, milestones must be given in non-decreasing order.

    Args:
      base_lr: initial learning rate (scalar or array, possibly traced).
      milestones: non-decreasing epoch indices (integers >= 0).
      gamma: decay factor, in (0, 1].
      steps_per_epoch: optimizer steps per epoch; batch ``b`` uses epoch ``b // steps_per_epoch``.

    Returns:
      An ``optax.Schedule`` (``optax.piecewise_constant_schedule`` over the epochs).

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = multistep_schedule(1.0, [1, 3, 3], gamma=0.5, steps_per_epoch=2)
      >>> [float(sched(b)) for b in range(8)]
      [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.125, 0.125]
    """
    fn = "multistep_schedule"
    lr = _lr(fn, "base_lr", base_lr)
    marks = _validate.milestones(fn, "milestones", milestones)
    gamma = _validate.fraction(fn, "gamma", gamma, allow_one=True)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    scales = {m: gamma**n for m, n in collections.Counter(marks).items()}
    factor = optax.piecewise_constant_schedule(1.0, scales)

    def schedule(count: ArrayLike) -> jax.Array:
        epoch = _epoch(count, spe)
        return lr * (factor(epoch) * jnp.ones(epoch.shape, lr.dtype))

    return schedule


def cosine_annealing_schedule(
    base_lr: ArrayLike, t_max: int, eta_min: ArrayLike = 0.0, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    r"""``torch.optim.lr_scheduler.CosineAnnealingLR``, including its periodic tail.

    ``eta_e = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / t_max)) / 2``

    for every epoch ``e``: past ``t_max`` PyTorch does not hold ``eta_min`` but climbs back
    to ``base_lr`` at ``2 t_max`` (period ``2 t_max``). Batch ``b`` uses epoch
    ``b // steps_per_epoch``.

    Args:
      base_lr: learning rate at epoch 0 (scalar or array, possibly traced).
      t_max: half period in epochs.
      eta_min: learning rate at ``t_max``.
      steps_per_epoch: optimizer steps per epoch.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = cosine_annealing_schedule(1.0, t_max=2)
      >>> [round(float(sched(e)), 3) for e in range(6)]
      [1.0, 0.5, 0.0, 0.5, 1.0, 0.5]
    """
    fn = "cosine_annealing_schedule"
    lr = _lr(fn, "base_lr", base_lr)
    t = _validate.step_count(fn, "t_max", t_max)
    low = _lr(fn, "eta_min", eta_min)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    half = _build([_Segment(0, 0.0, float(t), lr, low, _cos)], last_step=t)

    def schedule(count: ArrayLike) -> jax.Array:
        epoch = _epoch(count, spe)
        if 2 * t <= _INT32_MAX:  # fold the period onto [0, t_max]
            epoch = epoch % (2 * t)
            epoch = jnp.minimum(epoch, 2 * t - epoch)
        return half(epoch)

    return schedule


def _restart_table(first: int, t_mult: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact start and length (in steps) of every cycle that starts in the int32 range."""
    starts, lengths, start, length = [], [], 0, first
    while start <= _INT32_MAX:
        starts.append(start)
        lengths.append(length)
        start, length = start + length, length * t_mult
    return np.asarray(starts, np.int32), np.asarray(lengths, np.float64)


def cosine_warm_restarts_schedule(
    base_lr: ArrayLike,
    t_0: int,
    t_mult: int = 1,
    eta_min: ArrayLike = 0.0,
    *,
    steps_per_epoch: int = 1,
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` (SGDR).

    Cycle ``n`` lasts ``t_0 * t_mult ** n`` epochs and anneals from ``base_lr`` to
    ``eta_min`` by a half cosine. Batch ``b`` uses the fractional epoch
    ``b / steps_per_epoch``, PyTorch's per-batch form ``scheduler.step(epoch + i / S)``
    called before batch ``i``. Restarts are located with integers, exactly; PyTorch's
    float path (``int(math.log(...))``) misses a few, e.g. epoch 121 for ``t_0=1, t_mult=3``.

    Args:
      base_lr: learning rate at each restart (scalar or array, possibly traced).
      t_0: epochs in the first cycle.
      t_mult: integer growth factor of the cycle length (>= 1).
      eta_min: learning rate at the end of each cycle.
      steps_per_epoch: optimizer steps per epoch.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = cosine_warm_restarts_schedule(1.0, t_0=1, t_mult=2, steps_per_epoch=2)
      >>> [round(float(sched(b)), 3) for b in range(8)]
      [1.0, 0.5, 1.0, 0.854, 0.5, 0.146, 1.0, 0.962]

    References:
      Loshchilov & Hutter, *SGDR* (2016), https://arxiv.org/abs/1608.03983
    """
    fn = "cosine_warm_restarts_schedule"
    lr = _lr(fn, "base_lr", base_lr)
    t0 = _validate.step_count(fn, "t_0", t_0)
    mult = _validate.step_count(fn, "t_mult", t_mult)
    low = _lr(fn, "eta_min", eta_min)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    first = t0 * spe  # steps in the first cycle
    starts, lengths = _restart_table(first, mult) if mult > 1 else (None, None)

    def schedule(count: ArrayLike) -> jax.Array:
        step = _steps(count)
        if mult > 1:
            n = jnp.searchsorted(starts, step, side="right") - 1
            start, length = jnp.asarray(starts)[n], jnp.asarray(lengths, lr.dtype)[n]
        else:
            start = step - step % first if first <= _INT32_MAX else 0
            length = jnp.asarray(first, lr.dtype)
        x = (step - start).astype(lr.dtype)
        return _cos(lr, low, x, length - x, length)

    return schedule


# ---- Hugging Face warmup schedules ---------------------------------------------------


def _check_warmup(fn: str, warmup: Any, total: Any) -> tuple[int, int]:
    total = _validate.step_count(fn, "num_training_steps", total)
    warmup = _validate.step_count(fn, "num_warmup_steps", warmup, minimum=0)
    if warmup > total:
        raise ValueError(
            f"{fn}: `num_warmup_steps` must be <= `num_training_steps` = {total}, got {warmup}."
        )
    return warmup, total


def linear_schedule_with_warmup(
    base_lr: ArrayLike, num_warmup_steps: int, num_training_steps: int
) -> optax.Schedule:
    """Hugging Face's ``get_linear_schedule_with_warmup``, value for value.

    Linear from 0 to ``base_lr`` over ``num_warmup_steps`` (step 0 uses 0), then linear
    down to 0 at ``num_training_steps`` and 0 after it.

    Args:
      base_lr: peak learning rate (scalar or array, possibly traced).
      num_warmup_steps: steps of warmup (>= 0, <= num_training_steps).
      num_training_steps: step at which the rate reaches 0.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = linear_schedule_with_warmup(1.0, 2, 6)
      >>> [float(sched(k)) for k in range(8)]
      [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    fn = "linear_schedule_with_warmup"
    lr = _lr(fn, "base_lr", base_lr)
    warmup, total = _check_warmup(fn, num_warmup_steps, num_training_steps)
    span = max(1, total - warmup)  # HF: (N - step) / max(1, N - w), reaching 0 at N
    decay = _Segment(warmup, float(total - span), float(span), lr, jnp.zeros_like(lr), _linear)
    return _build(_warmup(jnp.zeros_like(lr), lr, warmup) + [decay], last_step=None)


def cosine_schedule_with_warmup(
    base_lr: ArrayLike, num_warmup_steps: int, num_training_steps: int, num_cycles: float = 0.5
) -> optax.Schedule:
    """Hugging Face's ``get_cosine_schedule_with_warmup``, value for value.

    Linear warmup from 0, then ``base_lr * 0.5 * (1 + cos(2 pi num_cycles p))`` with
    ``p = (step - w) / max(1, N - w)``. As in Hugging Face, ``p`` is not clamped at 1:
    past ``num_training_steps`` the cosine goes on (with 0.5 cycles it rises again).

    Args:
      base_lr: peak learning rate (scalar or array, possibly traced).
      num_warmup_steps: steps of warmup (>= 0, <= num_training_steps).
      num_training_steps: end of the decay.
      num_cycles: cosine periods in the decay (0.5: from base_lr down to 0).

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = cosine_schedule_with_warmup(1.0, 1, 5)
      >>> [round(float(sched(k)), 3) for k in range(7)]
      [0.0, 1.0, 0.854, 0.5, 0.146, 0.0, 0.146]
    """
    fn = "cosine_schedule_with_warmup"
    lr = _lr(fn, "base_lr", base_lr)
    warmup, total = _check_warmup(fn, num_warmup_steps, num_training_steps)
    cycles = _validate.positive(fn, "num_cycles", num_cycles)
    shape = _cosine_cycles(cycles, max(1, total - warmup))
    decay = _Segment(warmup, float(warmup), math.inf, lr, jnp.zeros_like(lr), shape)
    return _build(_warmup(jnp.zeros_like(lr), lr, warmup) + [decay], last_step=None)


def constant_schedule_with_warmup(base_lr: ArrayLike, num_warmup_steps: int) -> optax.Schedule:
    """Hugging Face's ``get_constant_schedule_with_warmup``: linear from 0, then ``base_lr``.

    Args:
      base_lr: learning rate after warmup (scalar or array, possibly traced).
      num_warmup_steps: steps of warmup (>= 0).

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = constant_schedule_with_warmup(1.0, 4)
      >>> [float(sched(k)) for k in range(6)]
      [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    fn = "constant_schedule_with_warmup"
    lr = _lr(fn, "base_lr", base_lr)
    warmup = _validate.step_count(fn, "num_warmup_steps", num_warmup_steps, minimum=0)
    hold = _Segment(warmup, float(warmup), math.inf, lr, lr, _constant)
    return _build(_warmup(jnp.zeros_like(lr), lr, warmup) + [hold], last_step=None)


def wsd_schedule(
    base_lr: ArrayLike,
    num_warmup_steps: int,
    num_stable_steps: int,
    num_decay_steps: int,
    *,
    min_lr_ratio: float = 0.0,
    decay_type: str = "cosine",
    warmup_type: str = "linear",
    num_cycles: float = 0.5,
) -> optax.Schedule:
    """Hugging Face's ``get_wsd_schedule`` (warmup, stable, decay), value for value.

    With ``r = min_lr_ratio``: warmup from ``r * base_lr`` (not 0) to ``base_lr``, hold
    ``base_lr``, decay to ``r * base_lr`` and hold that for ever. Warmup and decay shapes
    are ``"linear"``, ``"cosine"`` or ``"1-sqrt"``; ``num_cycles`` applies to a cosine decay.

    Args:
      base_lr: peak learning rate (scalar or array, possibly traced).
      num_warmup_steps: steps of warmup (>= 0).
      num_stable_steps: steps at ``base_lr`` (>= 0).
      num_decay_steps: steps of decay (>= 0).
      min_lr_ratio: final rate as a fraction of ``base_lr``, in [0, 1].
      decay_type: shape of the decay.
      warmup_type: shape of the warmup.
      num_cycles: cosine periods in a cosine decay (0.5: one half cosine).

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = wsd_schedule(1.0, 2, 2, 2, min_lr_ratio=0.1, decay_type="linear")
      >>> [round(float(sched(k)), 3) for k in range(8)]
      [0.1, 0.55, 1.0, 1.0, 1.0, 0.55, 0.1, 0.1]
    """
    fn = "wsd_schedule"
    lr = _lr(fn, "base_lr", base_lr)
    w = _validate.step_count(fn, "num_warmup_steps", num_warmup_steps, minimum=0)
    s = _validate.step_count(fn, "num_stable_steps", num_stable_steps, minimum=0)
    d = _validate.step_count(fn, "num_decay_steps", num_decay_steps, minimum=0)
    ratio = _validate.fraction(fn, "min_lr_ratio", min_lr_ratio, allow_zero=True, allow_one=True)
    decay_type = _validate.choice(fn, "decay_type", decay_type, WSD_TYPES)
    warmup_type = _validate.choice(fn, "warmup_type", warmup_type, WSD_TYPES)
    cycles = _validate.positive(fn, "num_cycles", num_cycles)

    low = lr * ratio
    up = {"linear": _linear, "cosine": _cos, "1-sqrt": _one_minus_sqrt(warmup=True)}
    down = {"linear": _linear, "cosine": _cosine_cycles(cycles, d)}
    down["1-sqrt"] = _one_minus_sqrt(warmup=False)
    segments = _warmup(low, lr, w, up[warmup_type])
    if s:
        segments.append(_Segment(_at(w), float(w), float(s), lr, lr, _constant))
    if d:
        segments.append(_Segment(_at(w + s), float(w + s), float(d), lr, low, down[decay_type]))
    segments.append(_Segment(_at(w + s + d), float(w + s + d), math.inf, low, low, _constant))
    return _build(segments, last_step=None)


# ---- ReduceLROnPlateau -------------------------------------------------------------------


class _PlateauState(NamedTuple):
    """ReduceLROnPlateau's counters, as in ``torch.optim.lr_scheduler.ReduceLROnPlateau``."""

    lr: jax.Array  # float32: the learning rate in force (scalar or one per group)
    best: jax.Array  # float32: best metric so far (+inf / -inf before the first)
    num_bad_epochs: jax.Array  # int32
    cooldown_counter: jax.Array  # int32
    last_epoch: jax.Array  # int32: number of metrics seen


def _check_plateau_args(
    fn: str,
    lr: Any,
    *,
    mode: Any = "min",
    factor: Any = 0.1,
    patience: Any = 10,
    threshold: Any = 1e-4,
    threshold_mode: Any = "rel",
    cooldown: Any = 0,
    min_lr: Any = 0.0,
    eps: Any = 1e-8,
) -> tuple[Any, dict[str, Any]]:
    """Validate ReduceLROnPlateau's arguments; return ``lr`` and the keywords of the update.

    ``factor`` must lie in (0, 1): PyTorch refuses ``factor >= 1`` and lets 0 or a
    negative factor drop the rate straight to ``min_lr``; we refuse those too.
    ``threshold`` must be finite and >= 0 (a negative one would count worse as better).
    """
    lr = _validate.learning_rate(fn, "lr", lr)
    hyper = dict(
        mode=_validate.choice(fn, "mode", mode, PLATEAU_MODES),
        factor=_validate.fraction(fn, "factor", factor),
        patience=_validate.step_count(fn, "patience", patience, minimum=0),
        threshold=_validate.non_negative(fn, "threshold", threshold),
        threshold_mode=_validate.choice(fn, "threshold_mode", threshold_mode, THRESHOLD_MODES),
        cooldown=_validate.step_count(fn, "cooldown", cooldown, minimum=0),
        min_lr=_validate.learning_rate(fn, "min_lr", min_lr),
        eps=_validate.non_negative(fn, "eps", eps),
    )
    return lr, hyper


def _plateau_init(lr: ArrayLike, mode: str) -> _PlateauState:
    """The state before the first metric: ``best`` is the worst value for ``mode``."""
    worst = math.inf if mode == "min" else -math.inf
    zero = jnp.zeros((), jnp.int32)
    return _PlateauState(jnp.asarray(lr, jnp.float32), jnp.float32(worst), zero, zero, zero)


def _plateau_update(
    state: _PlateauState,
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
) -> _PlateauState:
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
    return _PlateauState(
        lr=jnp.where(reduce & (state.lr - cut > eps), cut, state.lr),
        best=jnp.where(better, metric, best),
        num_bad_epochs=jnp.where(reduce, 0, bad).astype(jnp.int32),
        cooldown_counter=jnp.where(reduce, cooldown, counter).astype(jnp.int32),
        last_epoch=optax.safe_increment(state.last_epoch),
    )
