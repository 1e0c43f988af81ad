"""PyTorch's CyclicLR as pure schedules: `cyclic_schedule`, `cyclic_momentum_schedule`.

One period is built once from curve-engine segments (`_engine`) and folded onto, exactly,
with integer arithmetic; per batch, momentum opposite to the learning rate. The cycle is
checked once (`check_shape`) and built by `cyclic_curve`, which the ``CyclicLR`` facade calls
too.
Reference: ``torch/optim/lr_scheduler.py`` (torch 2.13).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal, get_args

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine as engine
from ._spec import recorded

__all__ = ["cyclic_schedule", "cyclic_momentum_schedule"]

CyclicMode = Literal["triangular", "triangular2", "exp_range"]

ScaleMode = Literal["cycle", "iterations"]

CYCLIC_MODES: tuple[str, ...] = get_args(CyclicMode)

SCALE_MODES: tuple[str, ...] = get_args(ScaleMode)


@dataclasses.dataclass(frozen=True)
class CyclicShape:
    """The checked cycle of a CyclicLR, shared by its learning rate and momentum.

    Attributes:
      up: batches of the rising half (>= 1).
      down: batches of the falling half (>= 0).
      mode: the amplitude scaling, when ``scale_fn`` is None.
      gamma: ``exp_range``'s decay per batch.
      scale_fn: custom amplitude scaling, or None.
      scale_mode: what ``scale_fn`` is given (``"cycle"`` or ``"iterations"``).
    """

    up: int
    down: int
    mode: str
    gamma: float
    scale_fn: Callable[[jax.Array], Any] | None
    scale_mode: str


def check_shape(
    fn: str,
    step_size_up: Any,
    step_size_down: Any,
    mode: Any,
    gamma: Any,
    scale_fn: Any,
    scale_mode: Any,
) -> CyclicShape:
    """CyclicLR's cycle arguments, checked once (the schedules and the ``CyclicLR`` facade)."""
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
    return CyclicShape(up, down, mode, gamma, scale_fn, scale_mode)


def cyclic_curve(start: Any, peak: Any, shape: CyclicShape) -> optax.Schedule:
    """``start + (peak - start) * triangle(k) * scale``: PyTorch's CyclicLR for one value.

    ``triangle`` rises from 0 to 1 over ``up`` batches and falls back over ``down`` (one
    period, built once by the engine and evaluated at ``k mod period``); ``scale`` is 1,
    ``2 ** -(cycle - 1)`` (``triangular2``, ``cycle = k // period + 1``), ``gamma ** k``
    (``exp_range``), or ``scale_fn`` of the cycle or of ``k``. ``start`` and ``peak`` are
    checked values (learning rates, or momenta).
    """
    up, down, mode, gamma = shape.up, shape.down, shape.mode, shape.gamma
    scale_fn, scale_mode = shape.scale_fn, shape.scale_mode
    start, peak = engine.rate_array(start), engine.rate_array(peak)
    period = up + down
    knots = [0.0, float(up), float(period)]
    triangle = engine.build(
        engine.segments_from_knots(knots, [0.0, 1.0, 0.0], [engine.linear] * 2, True),
        last_step=None,
    )
    dtype = jnp.result_type(float)

    def schedule(count: ArrayLike) -> jax.Array:
        k = engine.steps(count)
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


@recorded("cyclic_schedule")
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

    Examples:
      >>> sched = cyclic_schedule(0.0, 1.0, step_size_up=2, mode="triangular2")
      >>> [float(sched(k)) for k in range(9)]
      [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0]

    References:
      Smith, *Cyclical Learning Rates for Training Neural Networks* (2015),
      https://arxiv.org/abs/1506.01186
    """
    fn = "cyclic_schedule"
    low = _validate.learning_rate(fn, "base_lr", base_lr)
    high = _validate.learning_rate(fn, "max_lr", max_lr)
    shape = check_shape(fn, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
    return cyclic_curve(low, high, shape)


@recorded("cyclic_momentum_schedule")
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

    Examples:
      >>> sched = cyclic_momentum_schedule(0.8, 0.9, step_size_up=2)
      >>> [round(float(sched(k)), 3) for k in range(5)]
      [0.9, 0.85, 0.8, 0.85, 0.9]
    """
    fn = "cyclic_momentum_schedule"
    low, high = _validate.momentum_range(
        fn, "base_momentum", base_momentum, "max_momentum", max_momentum
    )
    shape = check_shape(fn, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
    return cyclic_curve(high, low, shape)
