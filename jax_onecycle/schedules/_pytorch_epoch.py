"""PyTorch's epoch schedulers as pure schedules: StepLR, MultiStepLR, ExponentialLR, PolynomialLR,
LinearLR, ConstantLR.

Each is segments of the curve engine (`_engine`) evaluated at the epoch ``count //
steps_per_epoch``. Reference: ``torch/optim/lr_scheduler.py`` (torch 2.13); values are
PyTorch's closed forms, which its recursive ``get_lr`` reproduces to rounding. Each public
function checks its arguments (the ``check_*`` functions, shared with the facades of
``stateful._epoch``) and builds with a ``*_curve`` function that takes checked values.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine as engine
from ._engine import build
from ._spec import recorded

__all__ = [
    "step_schedule",
    "multistep_schedule",
    "exponential_schedule",
    "polynomial_schedule",
    "linear_lr_schedule",
    "constant_lr_schedule",
]


def decay_curve(lr: Any, step_size: int, gamma: float, steps_per_epoch: int) -> optax.Schedule:
    """``lr * gamma ** (epoch // step_size)`` from checked values (StepLR, ExponentialLR).

    One open-ended engine segment over the number of decays so far.
    """
    lr = engine.rate_array(lr)
    decays = build([engine.span(0, math.inf, lr, lr, engine.exponential(gamma))], None)
    return lambda count: decays(engine.epoch_of(count, steps_per_epoch) // step_size)


@recorded("step_schedule")
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

    Examples:
      >>> sched = step_schedule(0.1, step_size=2, gamma=0.5)
      >>> [round(float(sched(e)), 4) for e in range(6)]
      [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    """
    fn = "step_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    size = _validate.step_count(fn, "step_size", step_size)
    return decay_curve(lr, size, check_gamma(fn, gamma), _steps_per_epoch(fn, steps_per_epoch))


def check_gamma(fn: str, gamma: Any) -> float:
    """A decay factor in (0, 1] (StepLR, MultiStepLR, ExponentialLR)."""
    return _validate.fraction(fn, "gamma", gamma, allow_one=True)


def _steps_per_epoch(fn: str, value: Any) -> int:
    return _validate.step_count(fn, "steps_per_epoch", value)


@recorded("multistep_schedule")
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

    Examples:
      >>> sched = multistep_schedule(1.0, [1, 3, 3], gamma=0.5, steps_per_epoch=2)
      >>> [float(sched(b)) for b in range(8)]
      [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.125, 0.125]
    """
    fn = "multistep_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    marks = _validate.milestones(fn, "milestones", milestones)
    gamma = check_gamma(fn, gamma)
    return multistep_curve(lr, marks, gamma, _steps_per_epoch(fn, steps_per_epoch))


def multistep_curve(
    lr: Any, marks: Sequence[int], gamma: float, steps_per_epoch: int
) -> optax.Schedule:
    """`multistep_schedule` from checked values."""
    lr = engine.rate_array(lr)
    segments, decays = [], 0
    for mark, repeats in sorted(collections.Counter(marks).items()):
        if mark > 0 and not segments:
            segments.append(engine.hold(0, lr))
        decays += repeats
        segments.append(engine.hold(mark, lr * gamma**decays))
    return engine.per_epoch(build(segments or [engine.hold(0, lr)], None), steps_per_epoch)


@recorded("exponential_schedule")
def exponential_schedule(
    base_lr: ArrayLike, gamma: float, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.ExponentialLR``: ``base_lr * gamma ** epoch``.

    Batch ``b`` uses epoch ``b // steps_per_epoch``.

    Args:
      base_lr: initial learning rate (scalar or array).
      gamma: decay per epoch, in (0, 1] (PyTorch accepts any; > 1 overflows).
      steps_per_epoch: optimizer steps per epoch.

    Examples:
      >>> sched = exponential_schedule(1.0, 0.5, steps_per_epoch=2)
      >>> [float(sched(b)) for b in range(6)]
      [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    fn = "exponential_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    return decay_curve(lr, 1, check_gamma(fn, gamma), _steps_per_epoch(fn, steps_per_epoch))


def check_polynomial(fn: str, total_iters: Any, power: Any) -> tuple[int, float]:
    """PolynomialLR's ``total_iters`` (>= 1) and ``power`` (>= 0)."""
    return (
        _validate.step_count(fn, "total_iters", total_iters),
        _validate.non_negative(fn, "power", power),
    )


def _ramp(start: Any, end: Any, total: int, shape: Any, steps_per_epoch: int) -> optax.Schedule:
    """A ramp from ``start`` to ``end`` in ``total`` epochs, then held (PolynomialLR, LinearLR)."""
    ramp = engine.span(0, float(total), start, end, shape)
    return engine.per_epoch(build([ramp], last_step=total), steps_per_epoch)


def polynomial_curve(lr: Any, total: int, p: float, steps_per_epoch: int) -> optax.Schedule:
    """`polynomial_schedule` from checked values."""
    lr = engine.rate_array(lr)
    return _ramp(lr, jnp.zeros_like(lr), total, engine.power(p), steps_per_epoch)


@recorded("polynomial_schedule")
def polynomial_schedule(
    base_lr: ArrayLike, total_iters: int = 5, power: float = 1.0, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.PolynomialLR``: ``base_lr * (1 - min(e, T) / T) ** power``.

    Reaches 0 at epoch ``total_iters`` and stays there (with ``power=0`` it stays at
    ``base_lr``, as PyTorch's ``0.0 ** 0``).

    Args:
      base_lr: initial learning rate (scalar or array).
      total_iters: epochs of the decay (``T``).
      power: exponent of the decay (>= 0).
      steps_per_epoch: optimizer steps per epoch.

    Examples:
      >>> sched = polynomial_schedule(1.0, total_iters=4, power=2.0)
      >>> [float(sched(e)) for e in range(6)]
      [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    fn = "polynomial_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    total, p = check_polynomial(fn, total_iters, power)
    return polynomial_curve(lr, total, p, _steps_per_epoch(fn, steps_per_epoch))


def check_linear(
    fn: str, start_factor: Any, end_factor: Any, total_iters: Any
) -> tuple[float, float, int]:
    """LinearLR's factors, in (0, 1] and [0, 1], and ``total_iters`` (>= 1)."""
    return (
        _validate.fraction(fn, "start_factor", start_factor, allow_one=True),
        _validate.fraction(fn, "end_factor", end_factor, allow_zero=True, allow_one=True),
        _validate.step_count(fn, "total_iters", total_iters),
    )


def linear_factor_curve(
    lr: Any, start: float, end: float, total: int, steps_per_epoch: int
) -> optax.Schedule:
    """`linear_lr_schedule` from checked values."""
    lr = engine.rate_array(lr)
    return _ramp(lr * start, lr * end, total, engine.linear, steps_per_epoch)


@recorded("linear_lr_schedule")
def linear_lr_schedule(
    base_lr: ArrayLike,
    start_factor: float = 1.0 / 3,
    end_factor: float = 1.0,
    total_iters: int = 5,
    *,
    steps_per_epoch: int = 1,
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.LinearLR``: ``base_lr`` times a factor moving linearly.

    The factor goes from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs, then
    holds.

    Args:
      base_lr: learning rate the factors multiply (scalar or array).
      start_factor: factor at epoch 0, in (0, 1].
      end_factor: factor from epoch ``total_iters`` on, in [0, 1].
      total_iters: epochs of the ramp (>= 1).
      steps_per_epoch: optimizer steps per epoch.

    Examples:
      >>> sched = linear_lr_schedule(1.0, start_factor=0.25, total_iters=3)
      >>> [float(sched(e)) for e in range(5)]
      [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    fn = "linear_lr_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    start, end, total = check_linear(fn, start_factor, end_factor, total_iters)
    return linear_factor_curve(lr, start, end, total, _steps_per_epoch(fn, steps_per_epoch))


def check_constant(fn: str, factor: Any, total_iters: Any) -> tuple[float, int]:
    """ConstantLR's ``factor`` in [0, 1] and ``total_iters`` (>= 1)."""
    return (
        _validate.fraction(fn, "factor", factor, allow_zero=True, allow_one=True),
        _validate.step_count(fn, "total_iters", total_iters),
    )


def constant_factor_curve(
    lr: Any, factor: float, total: int, steps_per_epoch: int
) -> optax.Schedule:
    """`constant_lr_schedule` from checked values."""
    lr = engine.rate_array(lr)
    segments = [engine.span(0, float(total), lr * factor, lr * factor, engine.constant)]
    return engine.per_epoch(build([*segments, engine.hold(total, lr)], None), steps_per_epoch)


@recorded("constant_lr_schedule")
def constant_lr_schedule(
    base_lr: ArrayLike, factor: float = 1.0 / 3, total_iters: int = 5, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.ConstantLR``: ``factor * base_lr`` for ``total_iters`` epochs.

    Then ``base_lr``.

    Args:
      base_lr: learning rate after ``total_iters`` epochs (scalar or array).
      factor: multiplier before that, in [0, 1].
      total_iters: epochs at the reduced rate (>= 1).
      steps_per_epoch: optimizer steps per epoch.

    Examples:
      >>> sched = constant_lr_schedule(1.0, factor=0.5, total_iters=2)
      >>> [float(sched(e)) for e in range(4)]
      [0.5, 0.5, 1.0, 1.0]
    """
    fn = "constant_lr_schedule"
    lr = _validate.learning_rate(fn, "base_lr", base_lr)
    factor, total = check_constant(fn, factor, total_iters)
    return constant_factor_curve(lr, factor, total, _steps_per_epoch(fn, steps_per_epoch))
