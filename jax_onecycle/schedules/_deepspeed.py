"""DeepSpeed's ``OneCycle`` learning rate and momentum, with DeepSpeed's argument names.

Reference: ``deepspeed/runtime/lr_schedules.py``, class ``OneCycle`` (DeepSpeed 0.19.8). The
curve is three segments for the curve engine (``_engine.build``): up, down (optionally in
flat stairs), then the post-cycle decay.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine
from ._engine import Segment, Shape

__all__ = ["deepspeed_onecycle_schedule", "deepspeed_onecycle_momentum_schedule"]


def _check_cycle(
    fn: str,
    first_size: Any,
    second_size: Any,
    first_stairs: Any,
    second_stairs: Any,
    decay_step_size: Any,
) -> tuple[int, int, int, int, int]:
    """The cycle's sizes: every one a step count in int32 range, and their sum too."""
    first = _validate.step_count(fn, "cycle_first_step_size", first_size)
    second = (
        first
        if second_size is None
        else _validate.step_count(fn, "cycle_second_step_size", second_size, minimum=0)
    )
    stairs1 = _validate.step_count(fn, "cycle_first_stair_count", first_stairs, minimum=0)
    stairs2 = (
        stairs1
        if second_stairs is None
        else _validate.step_count(fn, "cycle_second_stair_count", second_stairs, minimum=0)
    )
    decay = _validate.step_count(fn, "decay_step_size", decay_step_size, minimum=0)
    if first + second > _validate.INT32_MAX:
        _validate.fail(
            fn, "cycle_first_step_size + cycle_second_step_size", "at most 2**31 - 1",
            first + second,
        )  # fmt: skip
    return first, second, stairs1, stairs2, decay


def _cycle(
    low: Any,
    high: Any,
    first: int,
    second: int,
    stairs1: int,
    stairs2: int,
    post: tuple[Any, Shape],
    start: Any = None,
) -> optax.Schedule:
    """DeepSpeed's OneCycle (deepspeed/runtime/lr_schedules.py, ``OneCycle``).

    Update ``k`` uses ``_get_scale_factor`` at batch iteration ``k`` (the scheduler
    is stepped after each optimizer step), the cycle covers ``k <= first + second``
    (at ``k = first + second`` the cycle position wraps to 0), then ``post`` applies.
    ``start``, when given, is what update 0 uses (DeepSpeed's constructor value).
    """
    total = first + second
    up = _engine.stairs(stairs1, from_end=False) if stairs1 > 0 else _engine.linear
    down = _engine.stairs(stairs2, from_end=True) if stairs2 > 0 else _engine.linear
    segments = [
        Segment(switch=0, origin=0.0, length=float(first), start=low, end=high, shape=up),
        Segment(
            switch=first + 1, origin=float(first), length=float(second), start=high, end=low,
            shape=down,
        ),
        Segment(
            switch=total, origin=float(total), length=math.inf, start=post[0], end=post[0],
            shape=post[1],
        ),
    ]  # fmt: skip
    if second == 0:
        del segments[1]
    if start is not None:
        hold = Segment(
            switch=0, origin=0.0, length=1.0, start=start, end=start, shape=_engine.constant
        )
        segments = [hold] + [dataclasses.replace(s, switch=max(s.switch, 1)) for s in segments]
    return _engine.build(segments, last_step=None)


def deepspeed_onecycle_schedule(
    cycle_min_lr: ArrayLike,
    cycle_max_lr: ArrayLike,
    *,
    cycle_first_step_size: int = 2000,
    cycle_second_step_size: int | None = None,
    cycle_first_stair_count: int = 0,
    cycle_second_stair_count: int | None = None,
    decay_step_size: int = 0,
    decay_lr_rate: float = 0.0,
) -> optax.Schedule:
    """DeepSpeed's ``OneCycle`` learning rate, with DeepSpeed's argument names.

    Linear from ``cycle_min_lr`` to ``cycle_max_lr`` over ``cycle_first_step_size``
    steps and back over ``cycle_second_step_size`` (default: the first), optionally in
    flat stairs; then ``cycle_min_lr / (1 + decay_lr_rate * n / decay_step_size)`` for
    ``n`` steps past the cycle (no decay when either is 0). Step ``k`` is the value the
    ``k``-th update uses when ``scheduler.step()`` follows each optimizer step, as in
    DeepSpeed's engine.

    Args:
      cycle_min_lr: learning rate at the start and the end of the cycle.
      cycle_max_lr: learning rate at the peak.
      cycle_first_step_size: steps of the rising half (> 0).
      cycle_second_step_size: steps of the falling half (>= 0; default: the first).
      cycle_first_stair_count: flat stairs in the rising half (0: continuous).
      cycle_second_stair_count: stairs in the falling half (default: the first's).
      decay_step_size: steps per decay interval after the cycle (0: no decay).
      decay_lr_rate: decay rate after the cycle.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = deepspeed_onecycle_schedule(0.01, 0.1, cycle_first_step_size=4)
      >>> [round(float(sched(k)), 4) for k in (0, 2, 4, 6, 8, 20)]
      [0.01, 0.055, 0.1, 0.055, 0.01, 0.01]
    """
    fn = "deepspeed_onecycle_schedule"
    first, second, s1, s2, decay = _check_cycle(
        fn, cycle_first_step_size, cycle_second_step_size, cycle_first_stair_count,
        cycle_second_stair_count, decay_step_size,
    )  # fmt: skip
    low = _validate.rate(fn, "cycle_min_lr", cycle_min_lr)
    high = _validate.rate(fn, "cycle_max_lr", cycle_max_lr)
    rate = _validate.non_negative(fn, "decay_lr_rate", decay_lr_rate)
    post = _engine.inverse_decay(rate, decay) if decay > 0 and rate > 0 else _engine.constant
    return _cycle(low, high, first, second, s1, s2, (low, post))


def deepspeed_onecycle_momentum_schedule(
    *,
    cycle_first_step_size: int = 2000,
    cycle_second_step_size: int | None = None,
    cycle_first_stair_count: int = 0,
    cycle_second_stair_count: int | None = None,
    decay_step_size: int = 0,
    cycle_min_mom: float = 0.8,
    cycle_max_mom: float = 0.9,
    decay_mom_rate: float = 0.0,
) -> optax.Schedule:
    """DeepSpeed's ``OneCycle`` momentum (``betas[0]``), with DeepSpeed's argument names.

    Falls from ``cycle_max_mom`` to ``cycle_min_mom`` while the learning rate rises and
    back while it falls; after the cycle, ``cycle_max_mom * (1 + decay_mom_rate * n /
    decay_step_size)``. As in DeepSpeed, the very first update uses ``cycle_min_mom``
    (the value its constructor writes into the optimizer) before the cycle takes over.

    Args:
      cycle_first_step_size: steps of the first half (> 0).
      cycle_second_step_size: steps of the second half (>= 0; default: the first).
      cycle_first_stair_count: flat stairs in the first half (0: continuous).
      cycle_second_stair_count: stairs in the second half (default: the first's).
      decay_step_size: steps per decay interval after the cycle (0: none).
      cycle_min_mom: momentum at the learning rate's peak (<= ``cycle_max_mom``).
      cycle_max_mom: momentum at the cycle's ends.
      decay_mom_rate: momentum change rate after the cycle.

    Returns:
      An ``optax.Schedule``.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = deepspeed_onecycle_momentum_schedule(cycle_first_step_size=4)
      >>> [round(float(sched(k)), 3) for k in (0, 1, 4, 8)]
      [0.8, 0.875, 0.8, 0.9]
    """
    fn = "deepspeed_onecycle_momentum_schedule"
    first, second, s1, s2, decay = _check_cycle(
        fn, cycle_first_step_size, cycle_second_step_size, cycle_first_stair_count,
        cycle_second_stair_count, decay_step_size,
    )  # fmt: skip
    low, high = _validate.momentum_range(
        fn, "cycle_min_mom", cycle_min_mom, "cycle_max_mom", cycle_max_mom
    )
    rate = _validate.real(fn, "decay_mom_rate", decay_mom_rate)
    if not math.isfinite(rate):
        _validate.fail(fn, "decay_mom_rate", "a finite number", decay_mom_rate)
    post = _engine.growth(rate, decay) if decay > 0 and rate != 0 else _engine.constant
    dtype = jnp.result_type(float)
    lo, hi = jnp.asarray(low, dtype), jnp.asarray(high, dtype)
    return _cycle(hi, lo, first, second, s1, s2, (hi, post), start=lo)
