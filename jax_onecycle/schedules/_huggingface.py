"""Hugging Face's warmup schedules as pure schedules: linear, cosine and constant with warmup, WSD.

``transformers``' ``get_*_schedule_with_warmup`` and ``get_wsd_schedule``, value for value,
including past ``num_training_steps``: a warmup segment (`warmup_segments`, shared with
`get_schedule`) then a decay of the curve engine (`_engine`) with its ``cosine_cycles`` and
``one_minus_sqrt`` shapes. Each public function checks its arguments, then builds with its
``*_curve`` function, which `get_schedule` calls with the arguments it has checked itself.
Reference: ``transformers/optimization.py``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import optax
from jax.typing import ArrayLike

from .. import _validate
from .._validate import WsdShape
from ._engine import (
    Segment,
    Shape,
    build,
    constant,
    cos,
    cosine_cycles,
    hold,
    linear,
    one_minus_sqrt,
    rate_array,
    span,
)
from ._spec import recorded

__all__ = [
    "linear_schedule_with_warmup",
    "cosine_schedule_with_warmup",
    "constant_schedule_with_warmup",
    "wsd_schedule",
]  # the public names; the plain-named builders below serve `get_schedule`

WSD_TYPES = _validate.WSD_SHAPES


def warmup_segments(start: Any, peak: Any, steps: int, shape: Shape = linear) -> list[Segment]:
    """Hugging Face's warmup from ``start`` to ``peak``: ``step / max(1, steps)``; none if 0."""
    return (
        [Segment(switch=0, origin=0.0, length=float(steps), start=start, end=peak, shape=shape)]
        if steps
        else []
    )


def after_warmup(lr: Any, warmup: int, *segments: Segment) -> optax.Schedule:
    """Hugging Face's linear warmup from 0 over ``warmup`` steps, then ``segments``."""
    return build(warmup_segments(lr * 0.0, lr, warmup) + list(segments), last_step=None)


def _at(step: int) -> int:
    return min(step, _validate.INT32_MAX)  # a switch past the int32 range is never reached


def _check_warmup(fn: str, warmup: Any, total: Any) -> tuple[int, int]:
    total = _validate.step_count(fn, "num_training_steps", total)
    warmup = _validate.step_count(fn, "num_warmup_steps", warmup, minimum=0)
    if warmup > total:
        raise ValueError(
            f"{fn}: `num_warmup_steps` must be <= `num_training_steps` = {total}, got {warmup}."
        )
    return warmup, total


@recorded("linear_schedule_with_warmup")
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

    Examples:
      >>> sched = linear_schedule_with_warmup(1.0, 2, 6)
      >>> [float(sched(k)) for k in range(8)]
      [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    fn = "linear_schedule_with_warmup"
    lr = rate_array(_validate.learning_rate(fn, "base_lr", base_lr))
    return linear_warmup_curve(lr, *_check_warmup(fn, num_warmup_steps, num_training_steps))


def linear_warmup_curve(lr: Any, warmup: int, total: int) -> optax.Schedule:
    """`linear_schedule_with_warmup` for checked arguments (``lr`` an array)."""
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
    return after_warmup(lr, warmup, decay)


@recorded("cosine_schedule_with_warmup")
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

    Examples:
      >>> sched = cosine_schedule_with_warmup(1.0, 1, 5)
      >>> [round(float(sched(k)), 3) for k in range(7)]
      [0.0, 1.0, 0.854, 0.5, 0.146, 0.0, 0.146]
    """
    fn = "cosine_schedule_with_warmup"
    lr = rate_array(_validate.learning_rate(fn, "base_lr", base_lr))
    warmup, total = _check_warmup(fn, num_warmup_steps, num_training_steps)
    return cosine_warmup_curve(lr, warmup, total, _validate.positive(fn, "num_cycles", num_cycles))


def cosine_warmup_curve(lr: Any, warmup: int, total: int, cycles: float) -> optax.Schedule:
    """`cosine_schedule_with_warmup` for checked arguments (``lr`` an array)."""
    shape = cosine_cycles(cycles, max(1, total - warmup))
    return after_warmup(lr, warmup, span(warmup, math.inf, lr, lr * 0.0, shape))


@recorded("constant_schedule_with_warmup")
def constant_schedule_with_warmup(base_lr: ArrayLike, num_warmup_steps: int) -> optax.Schedule:
    """Hugging Face's ``get_constant_schedule_with_warmup``: linear from 0, then ``base_lr``.

    Args:
      base_lr: learning rate after warmup (scalar or array, possibly traced).
      num_warmup_steps: steps of warmup (>= 0).

    Examples:
      >>> sched = constant_schedule_with_warmup(1.0, 4)
      >>> [float(sched(k)) for k in range(6)]
      [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    fn = "constant_schedule_with_warmup"
    lr = rate_array(_validate.learning_rate(fn, "base_lr", base_lr))
    return constant_warmup_curve(
        lr, _validate.step_count(fn, "num_warmup_steps", num_warmup_steps, minimum=0)
    )


def constant_warmup_curve(lr: Any, warmup: int) -> optax.Schedule:
    """`constant_schedule_with_warmup` for checked arguments (``lr`` an array)."""
    return after_warmup(lr, warmup, hold(warmup, lr))


@recorded("wsd_schedule")
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

    Examples:
      >>> sched = wsd_schedule(1.0, 2, 2, 2, min_lr_ratio=0.1, decay_type="linear")
      >>> [round(float(sched(k)), 3) for k in range(8)]
      [0.1, 0.55, 1.0, 1.0, 1.0, 0.55, 0.1, 0.1]
    """
    fn = "wsd_schedule"
    lr = rate_array(_validate.learning_rate(fn, "base_lr", base_lr))
    w = _validate.step_count(fn, "num_warmup_steps", num_warmup_steps, minimum=0)
    s = _validate.step_count(fn, "num_stable_steps", num_stable_steps, minimum=0)
    d = _validate.step_count(fn, "num_decay_steps", num_decay_steps, minimum=0)
    options = check_wsd_options(fn, str, min_lr_ratio, decay_type, warmup_type, num_cycles)
    return wsd_curve(lr, w, s, d, options)


@dataclasses.dataclass(frozen=True)
class WsdOptions:
    """The checked shape keywords of `wsd_schedule`."""

    min_lr_ratio: float
    decay_type: WsdShape
    warmup_type: WsdShape
    num_cycles: float


def check_wsd_options(
    fn: str,
    spell: Callable[[str], str],
    min_lr_ratio: Any = 0.0,
    decay_type: Any = "cosine",
    warmup_type: Any = "linear",
    num_cycles: Any = 0.5,
) -> WsdOptions:
    """`wsd_schedule`'s shape keywords, each named as ``spell(name)`` (the user's spelling)."""
    return WsdOptions(
        min_lr_ratio=_validate.fraction(
            fn, spell("min_lr_ratio"), min_lr_ratio, allow_zero=True, allow_one=True
        ),
        decay_type=_validate.choice(fn, spell("decay_type"), decay_type, WSD_TYPES),
        warmup_type=_validate.choice(fn, spell("warmup_type"), warmup_type, WSD_TYPES),
        num_cycles=_validate.positive(fn, spell("num_cycles"), num_cycles),
    )


def wsd_curve(lr: Any, w: int, s: int, d: int, options: WsdOptions) -> optax.Schedule:
    """`wsd_schedule` for checked arguments (``lr`` an array)."""
    decay_type, warmup_type, cycles = options.decay_type, options.warmup_type, options.num_cycles
    low = lr * options.min_lr_ratio
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
