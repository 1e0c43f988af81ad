"""The scheduler family: StepLR to warmup-stable-decay, with PyTorch / Hugging Face parity.

Every curve is segments for the curve engine (``_curves.Segment`` + ``_curves.build`` over
``optax.join_schedules``) with the engine's shapes (``linear``, ``cos``, ``constant``,
``exponential``, Hugging Face's ``cosine_cycles`` and ``one_minus_sqrt``). Added here, only
for parity: epoch arithmetic and where each reference puts its segments.
(ReduceLROnPlateau's rule lives in ``_plateau``.)
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from typing import Any

import jax
import optax
from jax.typing import ArrayLike

from . import _curves, _validate
from ._curves import Segment, Shape, build, constant, cos, cosine_cycles, linear, one_minus_sqrt
from ._validate import WsdShape

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
WSD_TYPES = _validate.WSD_SHAPES


# ---- pieces --------------------------------------------------------------------------


_lr = _validate.rate  # a validated learning rate in the default float dtype


def _epoch(count: ArrayLike, steps_per_epoch: int) -> jax.Array:
    """The epoch that batch ``count`` belongs to: ``count // steps_per_epoch`` (any dtype)."""
    return _curves.steps(count) // steps_per_epoch


def warmup_segments(start: Any, peak: Any, steps: int, shape: Shape = linear) -> list[Segment]:
    """Hugging Face's warmup from ``start`` to ``peak``: ``step / max(1, steps)``; none if 0."""
    return (
        [Segment(switch=0, origin=0.0, length=float(steps), start=start, end=peak, shape=shape)]
        if steps
        else []
    )


def _at(step: int) -> int:
    return min(step, _INT32_MAX)  # a switch past the int32 range is never reached


# ---- PyTorch epoch schedulers ----------------------------------------------------------


def decay_curve(lr: Any, step_size: int, gamma: float, steps_per_epoch: int) -> optax.Schedule:
    """``lr * gamma ** (epoch // step_size)`` from validated values (StepLR, ExponentialLR).

    One open-ended engine segment over the number of decays so far.
    """
    decays = build(
        [
            Segment(
                switch=0,
                origin=0.0,
                length=math.inf,
                start=lr,
                end=lr,
                shape=_curves.exponential(gamma),
            )
        ],
        None,
    )
    return lambda count: decays(_epoch(count, steps_per_epoch) // step_size)


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
    return decay_curve(lr, size, gamma, spe)


def multistep_schedule(
    base_lr: ArrayLike, milestones: Sequence[int], gamma: float = 0.1, *, steps_per_epoch: int = 1
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
      An ``optax.Schedule`` (one constant segment per distinct milestone, over the epochs).

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
    segments, decays = [], 0
    for mark, repeats in sorted(collections.Counter(marks).items()):
        if mark > 0 and not segments:
            segments.append(
                Segment(switch=0, origin=0.0, length=math.inf, start=lr, end=lr, shape=constant)
            )
        decays += repeats
        value = lr * gamma**decays
        segments.append(
            Segment(
                switch=mark,
                origin=float(mark),
                length=math.inf,
                start=value,
                end=value,
                shape=constant,
            )
        )
    if not segments:
        segments.append(
            Segment(switch=0, origin=0.0, length=math.inf, start=lr, end=lr, shape=constant)
        )
    curve = build(segments, last_step=None)

    def schedule(count: ArrayLike) -> jax.Array:
        return curve(_epoch(count, spe))

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
    return cosine_annealing_curve(lr, t, low, steps_per_epoch=spe, hold=False)


def cosine_annealing_curve(
    base_lr: jax.Array, t_max: int, eta_min: jax.Array, *, steps_per_epoch: int = 1, hold: bool
) -> optax.Schedule:
    """The half cosine from ``base_lr`` to ``eta_min`` over ``t_max`` epochs (validated values).

    Past ``t_max`` it either holds ``eta_min`` (``hold=True``: braintools'
    ``CosineAnnealingLR``) or goes on periodically as PyTorch's does (``hold=False``).
    """
    half = build(
        [Segment(switch=0, origin=0.0, length=float(t_max), start=base_lr, end=eta_min, shape=cos)],
        last_step=t_max,
    )
    if hold:
        return lambda count: half(_epoch(count, steps_per_epoch))

    def schedule(count: ArrayLike) -> jax.Array:
        epoch = _epoch(count, steps_per_epoch)
        if 2 * t_max <= _INT32_MAX:  # fold the period onto [0, t_max]
            epoch = epoch % (2 * t_max)
            epoch = jax.numpy.minimum(epoch, 2 * t_max - epoch)
        return half(epoch)

    return schedule


def _restart_segments(lr: Any, low: Any, first: int, t_mult: int) -> list[Segment]:
    """One half cosine per cycle that starts in the int32 range (exact integer starts)."""
    segments, start, length = [], 0, first
    while start <= _INT32_MAX:
        segments.append(
            Segment(
                switch=start,
                origin=float(start),
                length=float(length),
                start=lr,
                end=low,
                shape=cos,
            )
        )
        start, length = start + length, length * t_mult
    return segments


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
    if mult > 1:
        return build(_restart_segments(lr, low, first, mult), last_step=None)
    cycle = build(
        [Segment(switch=0, origin=0.0, length=float(first), start=lr, end=low, shape=cos)],
        last_step=None,
    )
    if first > _INT32_MAX:  # one cycle covers every int32 step
        return cycle

    def schedule(count: ArrayLike) -> jax.Array:
        return cycle(_curves.steps(count) % first)

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
    zero = lr * 0.0
    decay = Segment(
        switch=warmup,
        origin=float(total - span),
        length=float(span),
        start=lr,
        end=zero,
        shape=linear,
    )
    return build(warmup_segments(zero, lr, warmup) + [decay], last_step=None)


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
    shape = cosine_cycles(cycles, max(1, total - warmup))
    zero = lr * 0.0
    decay = Segment(
        switch=warmup, origin=float(warmup), length=math.inf, start=lr, end=zero, shape=shape
    )
    return build(warmup_segments(zero, lr, warmup) + [decay], last_step=None)


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
    hold = Segment(
        switch=warmup, origin=float(warmup), length=math.inf, start=lr, end=lr, shape=constant
    )
    return build(warmup_segments(lr * 0.0, lr, warmup) + [hold], last_step=None)


def wsd_schedule(
    base_lr: ArrayLike,
    num_warmup_steps: int,
    num_stable_steps: int,
    num_decay_steps: int,
    *,
    min_lr_ratio: float = 0.0,
    decay_type: WsdShape = "cosine",
    warmup_type: WsdShape = "linear",
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
    up = {"linear": linear, "cosine": cos, "1-sqrt": one_minus_sqrt(warmup=True)}
    down = {"linear": linear, "cosine": cosine_cycles(cycles, d)}
    down["1-sqrt"] = one_minus_sqrt(warmup=False)
    segments = warmup_segments(low, lr, w, up[warmup_type])
    if s:
        segments.append(
            Segment(
                switch=_at(w), origin=float(w), length=float(s), start=lr, end=lr, shape=constant
            )
        )
    if d:
        segments.append(
            Segment(
                switch=_at(w + s),
                origin=float(w + s),
                length=float(d),
                start=lr,
                end=low,
                shape=down[decay_type],
            )
        )
    segments.append(
        Segment(
            switch=_at(w + s + d),
            origin=float(w + s + d),
            length=math.inf,
            start=low,
            end=low,
            shape=constant,
        )
    )
    return build(segments, last_step=None)
