"""The rest of PyTorch's family: ExponentialLR, PolynomialLR, LinearLR, ConstantLR, CyclicLR.

Each is segments of the curve engine (``_curves``), evaluated at the epoch (``count //
steps_per_epoch``) for the epoch schedulers, or at the position in the cycle for
``CyclicLR`` (one period is built once and folded onto, exactly, with integer arithmetic).
The private ``_``-functions take the caller's name, so a facade's errors name the facade.
Reference: ``torch/optim/lr_scheduler.py`` (torch 2.13); values are PyTorch's closed forms,
which its recursive ``get_lr`` reproduces to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, get_args

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from . import _curves, _validate
from ._family import decay_curve

__all__ = [
    "exponential_schedule",
    "polynomial_schedule",
    "linear_lr_schedule",
    "constant_lr_schedule",
    "cyclic_schedule",
    "cyclic_momentum_schedule",
]

CyclicMode = Literal["triangular", "triangular2", "exp_range"]
ScaleMode = Literal["cycle", "iterations"]
CYCLIC_MODES: tuple[str, ...] = get_args(CyclicMode)
SCALE_MODES: tuple[str, ...] = get_args(ScaleMode)


def _per_epoch(curve: optax.Schedule, steps_per_epoch: int) -> optax.Schedule:
    """``curve`` of the epoch ``count // steps_per_epoch`` (any integer or float count)."""
    return lambda count: curve(_curves.steps(count) // steps_per_epoch)


# ---- epoch schedulers --------------------------------------------------------------------------


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
    seg = _curves.Segment(
        switch=0,
        origin=0.0,
        length=float(total),
        start=lr,
        end=jnp.zeros_like(lr),
        shape=_curves.power(p),
    )
    return _per_epoch(_curves.build([seg], last_step=total), spe)


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
    seg = _curves.Segment(
        switch=0,
        origin=0.0,
        length=float(total),
        start=lr * start,
        end=lr * end,
        shape=_curves.linear,
    )
    return _per_epoch(_curves.build([seg], last_step=total), spe)


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
        _curves.Segment(
            switch=0,
            origin=0.0,
            length=float(total),
            start=lr * factor,
            end=lr * factor,
            shape=_curves.constant,
        ),
        _curves.Segment(
            switch=total,
            origin=float(total),
            length=math.inf,
            start=lr,
            end=lr,
            shape=_curves.constant,
        ),
    ]
    return _per_epoch(_curves.build(segments, last_step=None), spe)


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


# ---- CyclicLR ----------------------------------------------------------------------------------


def _cyclic(
    fn: str,
    start: Any,
    peak: Any,
    step_size_up: Any,
    step_size_down: Any,
    mode: Any,
    gamma: Any,
    scale_fn: Callable[[jax.Array], Any] | None,
    scale_mode: Any,
) -> optax.Schedule:
    """``start + (peak - start) * triangle(k) * scale``: PyTorch's CyclicLR for one value.

    ``triangle`` rises from 0 to 1 over ``step_size_up`` batches and falls back over
    ``step_size_down`` (one period, built once by the engine and evaluated at ``k mod
    period``); ``scale`` is 1, ``2 ** -(cycle - 1)`` (``triangular2``, ``cycle = k // period +
    1``), ``gamma ** k`` (``exp_range``), or ``scale_fn`` of the cycle or of ``k``.
    """
    up = _validate.step_count(fn, "step_size_up", step_size_up)
    down = (
        up
        if step_size_down is None
        else _validate.step_count(fn, "step_size_down", step_size_down, minimum=0)
    )
    if up + down > _validate.INT32_MAX:
        _validate.fail(fn, "step_size_up + step_size_down", "at most 2**31 - 1", up + down)
    gamma = _validate.fraction(fn, "gamma", gamma, allow_one=True)
    if scale_fn is None:
        mode = _validate.choice(fn, "mode", mode, CYCLIC_MODES)
    else:
        if not callable(scale_fn):
            _validate.fail(fn, "scale_fn", "a callable or None", scale_fn, TypeError)
        scale_mode = _validate.choice(fn, "scale_mode", scale_mode, SCALE_MODES)
    period = up + down
    knots = [0.0, float(up), float(period)]
    triangle = _curves.build(
        _curves.segments_from_knots(knots, [0.0, 1.0, 0.0], [_curves.linear] * 2, True),
        last_step=None,
    )
    dtype = jnp.result_type(float)

    def schedule(count: ArrayLike) -> jax.Array:
        k = _curves.steps(count)
        factor = triangle(k % period)
        if scale_fn is not None:
            at = (k // period + 1) if scale_mode == "cycle" else k
            factor = factor * jnp.asarray(scale_fn(at.astype(dtype)), dtype)
        elif mode == "triangular2":
            factor = factor * jnp.exp2(-(k // period).astype(dtype))
        elif mode == "exp_range":
            factor = factor * jnp.power(jnp.asarray(gamma, dtype), k.astype(dtype))
        return start + (peak - start) * factor

    return schedule


def cyclic_schedule(
    base_lr: ArrayLike,
    max_lr: ArrayLike,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: CyclicMode = "triangular",
    gamma: float = 1.0,
    *,
    scale_fn: Callable[[jax.Array], Any] | None = None,
    scale_mode: ScaleMode = "cycle",
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.CyclicLR``'s learning rate, per batch (Smith's CLR).

    Cycles between ``base_lr`` and ``max_lr``: up over ``step_size_up`` batches, down over
    ``step_size_down`` (default: the same). The amplitude is scaled by ``mode``:
    ``"triangular"`` (none), ``"triangular2"`` (halved each cycle), ``"exp_range"``
    (``gamma ** batch``), or by ``scale_fn`` (a ``jnp`` function of the cycle number, from 1,
    or of the batch, as ``scale_mode`` says). Step ``k`` is the rate batch ``k`` uses.

    Args:
      base_lr: lower bound (scalar or array).
      max_lr: upper bound of the first cycle (scalar or array).
      step_size_up: batches of the rising half (>= 1).
      step_size_down: batches of the falling half (>= 0; default ``step_size_up``).
      mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
      gamma: ``exp_range``'s decay per batch, in (0, 1].
      scale_fn: custom amplitude scaling (overrides ``mode``), built from ``jnp`` operations.
      scale_mode: ``"cycle"`` or ``"iterations"``: what ``scale_fn`` is given.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = cyclic_schedule(0.0, 1.0, step_size_up=2, mode="triangular2")
      >>> [float(sched(k)) for k in range(9)]
      [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0]

    References:
      Smith, *Cyclical Learning Rates for Training Neural Networks* (2015),
      https://arxiv.org/abs/1506.01186
    """
    fn = "cyclic_schedule"
    low = _validate.rate(fn, "base_lr", base_lr)
    high = _validate.rate(fn, "max_lr", max_lr)
    return _cyclic(fn, low, high, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)


def cyclic_momentum_schedule(
    base_momentum: float = 0.8,
    max_momentum: float = 0.9,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: CyclicMode = "triangular",
    gamma: float = 1.0,
    *,
    scale_fn: Callable[[jax.Array], Any] | None = None,
    scale_mode: ScaleMode = "cycle",
) -> optax.Schedule:
    """``CyclicLR``'s momentum (``cycle_momentum=True``): opposite to `cyclic_schedule`.

    At ``max_momentum`` where the learning rate is at ``base_lr``, falling to
    ``base_momentum`` where it peaks, with the same cycle and scaling arguments.

    Args:
      base_momentum: momentum at the learning rate's peak, in [0, 1).
      max_momentum: momentum at the learning rate's trough, in [base_momentum, 1).
      step_size_up: batches of the learning rate's rising half.
      step_size_down: batches of its falling half (default ``step_size_up``).
      mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
      gamma: ``exp_range``'s decay per batch.
      scale_fn: custom amplitude scaling (overrides ``mode``).
      scale_mode: ``"cycle"`` or ``"iterations"``.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = cyclic_momentum_schedule(0.8, 0.9, step_size_up=2)
      >>> [round(float(sched(k)), 3) for k in range(5)]
      [0.9, 0.85, 0.8, 0.85, 0.9]
    """
    fn = "cyclic_momentum_schedule"
    low, high = _validate.momentum_range(
        fn, "base_momentum", base_momentum, "max_momentum", max_momentum
    )
    dtype = jnp.result_type(float)
    return _cyclic(
        fn,
        jnp.asarray(high, dtype),
        jnp.asarray(low, dtype),
        step_size_up,
        step_size_down,
        mode,
        gamma,
        scale_fn,
        scale_mode,
    )
