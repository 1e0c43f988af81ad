"""DeepSpeed's ``OneCycle`` learning rate and momentum, with DeepSpeed's argument names.

Reference: ``deepspeed/runtime/lr_schedules.py``, class ``OneCycle`` (DeepSpeed 0.19.8). The
curve is three segments for the curve engine (``_engine.build``): up, down (optionally in
flat stairs), then the post-cycle decay. Each entry point checks its arguments once
(`check_cycle`, `check_lr`, `check_momentum`, under the names the user wrote) and builds
with `lr_cycle` / `momentum_cycle`; `from_deepspeed_config` does the same for a config's
``OneCycle`` block.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine
from ._engine import Segment, Shape
from ._spec import recorded

__all__ = [
    "deepspeed_onecycle_schedule",
    "deepspeed_onecycle_momentum_schedule",
    "DeepSpeedCycle",
    "check_cycle",
    "check_lr",
    "check_momentum",
    "lr_cycle",
    "momentum_cycle",
]


@dataclasses.dataclass(frozen=True)
class DeepSpeedCycle:
    """The validated sizes of a DeepSpeed ``OneCycle``, shared by its learning rate and momentum.

    Attributes:
      first: steps of the first half (> 0).
      second: steps of the second half (>= 0).
      first_stairs: flat stairs in the first half (0: continuous).
      second_stairs: flat stairs in the second half.
      decay_step_size: steps per decay interval after the cycle (0: no decay).
    """

    first: int
    second: int
    first_stairs: int
    second_stairs: int
    decay_step_size: int


def check_cycle(
    fn: str, params: Mapping[str, Any], spell: Callable[[str], str] = str
) -> DeepSpeedCycle:
    """The cycle's sizes, from DeepSpeed's parameter names; the halves' sum in int32 range too.

    ``params`` maps DeepSpeed's names to the values given; ``spell(name)`` is how the user
    wrote the argument (a keyword, or an entry of a config). Checked once per entry point.
    """
    first = _validate.step_count(
        fn, spell("cycle_first_step_size"), params["cycle_first_step_size"]
    )
    second, stairs2 = params["cycle_second_step_size"], params["cycle_second_stair_count"]
    if second is not None:
        second = _validate.step_count(fn, spell("cycle_second_step_size"), second, minimum=0)
    stairs1 = _validate.step_count(
        fn, spell("cycle_first_stair_count"), params["cycle_first_stair_count"], minimum=0
    )
    if stairs2 is not None:
        stairs2 = _validate.step_count(fn, spell("cycle_second_stair_count"), stairs2, minimum=0)
    decay = _validate.step_count(fn, spell("decay_step_size"), params["decay_step_size"], minimum=0)
    second = first if second is None else second
    if first + second > _validate.INT32_MAX:
        name = f"{spell('cycle_first_step_size')} + {spell('cycle_second_step_size')}"
        _validate.fail(fn, name, "at most 2**31 - 1", first + second)
    return DeepSpeedCycle(
        first=first,
        second=second,
        first_stairs=stairs1,
        second_stairs=stairs1 if stairs2 is None else stairs2,
        decay_step_size=decay,
    )


def check_lr(
    fn: str, params: Mapping[str, Any], spell: Callable[[str], str] = str
) -> tuple[Any, Any, float]:
    """``cycle_min_lr``, ``cycle_max_lr`` (arrays) and ``decay_lr_rate``, checked."""
    low = _engine.rate_array(
        _validate.learning_rate(fn, spell("cycle_min_lr"), params["cycle_min_lr"])
    )
    high = _engine.rate_array(
        _validate.learning_rate(fn, spell("cycle_max_lr"), params["cycle_max_lr"])
    )
    rate = _validate.non_negative(fn, spell("decay_lr_rate"), params["decay_lr_rate"])
    return low, high, rate


def check_momentum(
    fn: str, params: Mapping[str, Any], spell: Callable[[str], str] = str
) -> tuple[float, float, float]:
    """``cycle_min_mom <= cycle_max_mom`` in [0, 1) and a finite ``decay_mom_rate``."""
    low, high = _validate.momentum_range(
        fn, spell("cycle_min_mom"), params["cycle_min_mom"],
        spell("cycle_max_mom"), params["cycle_max_mom"],
    )  # fmt: skip
    rate = _validate.real(fn, spell("decay_mom_rate"), params["decay_mom_rate"])
    if not math.isfinite(rate):
        _validate.fail(fn, spell("decay_mom_rate"), "a finite number", params["decay_mom_rate"])
    return low, high, rate


def lr_cycle(cycle: DeepSpeedCycle, low: Any, high: Any, decay_lr_rate: float) -> optax.Schedule:
    """The learning rate of a checked cycle: up, down, then ``low / (1 + rate * n / size)``."""
    size = cycle.decay_step_size
    use = size > 0 and decay_lr_rate > 0
    post = _engine.inverse_decay(decay_lr_rate, size) if use else _engine.constant
    return _cycle(low, high, cycle, (low, post))


def momentum_cycle(
    cycle: DeepSpeedCycle, low: float, high: float, decay_mom_rate: float
) -> optax.Schedule:
    """The momentum of a checked cycle: down, up, then ``high * (1 + rate * n / size)``;
    ``low`` at the very first update (DeepSpeed's constructor value)."""
    size = cycle.decay_step_size
    use = size > 0 and decay_mom_rate != 0
    post = _engine.growth(decay_mom_rate, size) if use else _engine.constant
    lo, hi = _engine.rate_array(low), _engine.rate_array(high)
    return _cycle(hi, lo, cycle, (hi, post), start=lo)


def _cycle(
    low: Any, high: Any, cycle: DeepSpeedCycle, post: tuple[Any, Shape], start: Any = None
) -> optax.Schedule:
    """DeepSpeed's OneCycle (deepspeed/runtime/lr_schedules.py, ``OneCycle``).

    Update ``k`` uses ``_get_scale_factor`` at batch iteration ``k`` (the scheduler
    is stepped after each optimizer step), the cycle covers ``k <= first + second``
    (at ``k = first + second`` the cycle position wraps to 0), then ``post`` applies.
    ``start``, when given, is what update 0 uses (DeepSpeed's constructor value).
    """
    first, second, stairs1, stairs2 = (
        cycle.first, cycle.second, cycle.first_stairs, cycle.second_stairs
    )  # fmt: skip
    total = first + second
    up = _engine.stairs(stairs1, from_end=False) if stairs1 > 0 else _engine.linear
    down = _engine.stairs(stairs2, from_end=True) if stairs2 > 0 else _engine.linear
    segments = [
        Segment(switch=0, origin=0.0, length=float(first), start=low, end=high, shape=up),
        Segment(
            switch=first + 1, origin=float(first), length=float(second), start=high, end=low,
            shape=down,
        ),
        _engine.span(total, math.inf, post[0], post[0], post[1]),
    ]  # fmt: skip
    if second == 0:
        del segments[1]
    if start is not None:
        hold = Segment(
            switch=0, origin=0.0, length=1.0, start=start, end=start, shape=_engine.constant
        )
        segments = [hold] + [dataclasses.replace(s, switch=max(s.switch, 1)) for s in segments]
    return _engine.build(segments, last_step=None)


@recorded("deepspeed_onecycle_schedule")
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

    Examples:
      >>> sched = deepspeed_onecycle_schedule(0.01, 0.1, cycle_first_step_size=4)
      >>> [round(float(sched(k)), 4) for k in (0, 2, 4, 6, 8, 20)]
      [0.01, 0.055, 0.1, 0.055, 0.01, 0.01]
    """
    fn = "deepspeed_onecycle_schedule"
    given = locals()
    return lr_cycle(check_cycle(fn, given), *check_lr(fn, given))


@recorded("deepspeed_onecycle_momentum_schedule")
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

    Examples:
      >>> sched = deepspeed_onecycle_momentum_schedule(cycle_first_step_size=4)
      >>> [round(float(sched(k)), 3) for k in (0, 1, 4, 8)]
      [0.8, 0.875, 0.8, 0.9]
    """
    fn = "deepspeed_onecycle_momentum_schedule"
    given = locals()
    return momentum_cycle(check_cycle(fn, given), *check_momentum(fn, given))
