"""PyTorch's epoch schedulers as pure schedules: StepLR, MultiStepLR, ExponentialLR, PolynomialLR,
LinearLR, ConstantLR.

Each is segments of the curve engine (`_engine`) evaluated at the epoch ``count //
steps_per_epoch``. Reference: ``torch/optim/lr_scheduler.py`` (torch 2.13); values are
PyTorch's closed forms, which its recursive ``get_lr`` reproduces to rounding.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine as engine
from ._engine import Segment, build, constant

__all__ = [
    "step_schedule",
    "multistep_schedule",
    "exponential_schedule",
    "polynomial_schedule",
    "linear_lr_schedule",
    "constant_lr_schedule",
]


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
                shape=engine.exponential(gamma),
            )
        ],
        None,
    )
    return lambda count: decays(engine.epoch_of(count, steps_per_epoch) // step_size)


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
    lr = _validate.rate(fn, "base_lr", base_lr)
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
    lr = _validate.rate(fn, "base_lr", base_lr)
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
        return curve(engine.epoch_of(count, spe))

    return schedule


def _exponential(fn: str, base_lr: Any, gamma: Any, steps_per_epoch: Any) -> optax.Schedule:
    lr = _validate.rate(fn, "base_lr", base_lr)
    gamma = _validate.fraction(fn, "gamma", gamma, allow_one=True)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    return decay_curve(lr, 1, gamma, spe)


def exponential_schedule(
    base_lr: ArrayLike, gamma: float, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.ExponentialLR``: ``base_lr * gamma ** epoch``.

    Batch ``b`` uses epoch ``b // steps_per_epoch``.

    Args:
      base_lr: initial learning rate (scalar or array).
      gamma: decay per epoch, in (0, 1] (PyTorch accepts any; > 1 overflows).
      steps_per_epoch: optimizer steps per epoch.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = exponential_schedule(1.0, 0.5, steps_per_epoch=2)
      >>> [float(sched(b)) for b in range(6)]
      [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    return _exponential("exponential_schedule", base_lr, gamma, steps_per_epoch)


def _polynomial(
    fn: str, base_lr: Any, total_iters: Any, power_: Any, steps_per_epoch: Any
) -> optax.Schedule:
    lr = _validate.rate(fn, "base_lr", base_lr)
    total = _validate.step_count(fn, "total_iters", total_iters)
    p = _validate.non_negative(fn, "power", power_)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    seg = engine.Segment(
        switch=0,
        origin=0.0,
        length=float(total),
        start=lr,
        end=jnp.zeros_like(lr),
        shape=engine.power(p),
    )
    return engine.per_epoch(engine.build([seg], last_step=total), spe)


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

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = polynomial_schedule(1.0, total_iters=4, power=2.0)
      >>> [float(sched(e)) for e in range(6)]
      [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    return _polynomial("polynomial_schedule", base_lr, total_iters, power, steps_per_epoch)


def _linear(
    fn: str,
    base_lr: Any,
    start_factor: Any,
    end_factor: Any,
    total_iters: Any,
    steps_per_epoch: Any,
) -> optax.Schedule:
    lr = _validate.rate(fn, "base_lr", base_lr)
    start = _validate.fraction(fn, "start_factor", start_factor, allow_one=True)
    end = _validate.fraction(fn, "end_factor", end_factor, allow_zero=True, allow_one=True)
    total = _validate.step_count(fn, "total_iters", total_iters)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    seg = engine.Segment(
        switch=0,
        origin=0.0,
        length=float(total),
        start=lr * start,
        end=lr * end,
        shape=engine.linear,
    )
    return engine.per_epoch(engine.build([seg], last_step=total), spe)


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

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = linear_lr_schedule(1.0, start_factor=0.25, total_iters=3)
      >>> [float(sched(e)) for e in range(5)]
      [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    return _linear(
        "linear_lr_schedule", base_lr, start_factor, end_factor, total_iters, steps_per_epoch
    )


def _constant(
    fn: str, base_lr: Any, factor: Any, total_iters: Any, steps_per_epoch: Any
) -> optax.Schedule:
    lr = _validate.rate(fn, "base_lr", base_lr)
    factor = _validate.fraction(fn, "factor", factor, allow_zero=True, allow_one=True)
    total = _validate.step_count(fn, "total_iters", total_iters)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    segments = [
        engine.Segment(
            switch=0,
            origin=0.0,
            length=float(total),
            start=lr * factor,
            end=lr * factor,
            shape=engine.constant,
        ),
        engine.Segment(
            switch=total,
            origin=float(total),
            length=math.inf,
            start=lr,
            end=lr,
            shape=engine.constant,
        ),
    ]
    return engine.per_epoch(engine.build(segments, last_step=None), spe)


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

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = constant_lr_schedule(1.0, factor=0.5, total_iters=2)
      >>> [float(sched(e)) for e in range(4)]
      [0.5, 0.5, 1.0, 1.0]
    """
    return _constant("constant_lr_schedule", base_lr, factor, total_iters, steps_per_epoch)
