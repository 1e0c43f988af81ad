"""PyTorch's cosine schedulers as pure schedules: CosineAnnealingLR, CosineAnnealingWarmRestarts.

Segments of the curve engine (`_engine`) with its ``cos`` shape; per epoch, or at the
fractional epoch ``b / steps_per_epoch`` for warm restarts (PyTorch's per-batch form). The
public functions check their arguments and build with `cosine_annealing_curve` /
`warm_restarts_curve`, which the facades of ``stateful._epoch`` call with values they checked.
Reference: ``torch/optim/lr_scheduler.py`` (torch 2.13).
"""

from __future__ import annotations

from typing import Any

import jax
import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine as engine
from ._engine import Segment, build, cos
from ._spec import recorded

__all__ = ["cosine_annealing_schedule", "cosine_warm_restarts_schedule"]  # public; the
# plain-named builders (`cosine_annealing_curve`, `warm_restarts_curve`) serve the facades


@recorded("cosine_annealing_schedule")
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

    Examples:
      >>> sched = cosine_annealing_schedule(1.0, t_max=2)
      >>> [round(float(sched(e)), 3) for e in range(6)]
      [1.0, 0.5, 0.0, 0.5, 1.0, 0.5]
    """
    fn = "cosine_annealing_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    t = _validate.step_count(fn, "t_max", t_max)
    low = _validate.learning_rate(fn, "eta_min", eta_min)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    return cosine_annealing_curve(lr, t, low, steps_per_epoch=spe, hold=False)


def cosine_annealing_curve(
    base_lr: Any, t_max: int, eta_min: Any, *, steps_per_epoch: int = 1, hold: bool
) -> optax.Schedule:
    """The half cosine from ``base_lr`` to ``eta_min`` over ``t_max`` epochs (checked values).

    Past ``t_max`` it either holds ``eta_min`` (``hold=True``: braintools'
    ``CosineAnnealingLR``) or goes on periodically as PyTorch's does (``hold=False``).
    """
    base_lr, eta_min = engine.rate_array(base_lr), engine.rate_array(eta_min)
    half = build([engine.span(0, float(t_max), base_lr, eta_min, cos)], last_step=t_max)
    if hold:
        return engine.per_epoch(half, steps_per_epoch)

    def schedule(count: ArrayLike) -> jax.Array:
        epoch = engine.epoch_of(count, steps_per_epoch)
        if 2 * t_max <= _validate.INT32_MAX:  # fold the period onto [0, t_max]
            epoch = epoch % (2 * t_max)
            epoch = jax.numpy.minimum(epoch, 2 * t_max - epoch)
        return half(epoch)

    return schedule


def _restart_segments(lr: Any, low: Any, first: int, t_mult: int) -> list[Segment]:
    """One half cosine per cycle that starts in the int32 range (exact integer starts)."""
    segments, start, length = [], 0, first
    while start <= _validate.INT32_MAX:
        segments.append(engine.span(start, float(length), lr, low, cos))
        start, length = start + length, length * t_mult
    return segments


@recorded("cosine_warm_restarts_schedule")
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

    Examples:
      >>> sched = cosine_warm_restarts_schedule(1.0, t_0=1, t_mult=2, steps_per_epoch=2)
      >>> [round(float(sched(b)), 3) for b in range(8)]
      [1.0, 0.5, 1.0, 0.854, 0.5, 0.146, 1.0, 0.962]

    References:
      Loshchilov & Hutter, *SGDR* (2016), https://arxiv.org/abs/1608.03983
    """
    fn = "cosine_warm_restarts_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    t0 = _validate.step_count(fn, "t_0", t_0)
    mult = _validate.step_count(fn, "t_mult", t_mult)
    low = _validate.learning_rate(fn, "eta_min", eta_min)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    return warm_restarts_curve(lr, t0, mult, low, spe)


def warm_restarts_curve(
    lr: Any, t0: int, mult: int, low: Any, steps_per_epoch: int
) -> optax.Schedule:
    """`cosine_warm_restarts_schedule` from checked values."""
    lr, low = engine.rate_array(lr), engine.rate_array(low)
    first = t0 * steps_per_epoch  # steps in the first cycle
    if mult > 1:
        return build(_restart_segments(lr, low, first, mult), last_step=None)
    cycle = build([engine.span(0, float(first), lr, low, cos)], last_step=None)
    if first > _validate.INT32_MAX:  # one cycle covers every int32 step
        return cycle

    def schedule(count: ArrayLike) -> jax.Array:
        return cycle(engine.steps(count) % first)

    return schedule
