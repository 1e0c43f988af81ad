"""The curve engine: the package's curves are data (segments) handed to `build`.

A curve is a list of `Segment` s, each a ramp of some `Shape` between two values over a
real-valued stretch of steps. `build` turns the list into ``optax.join_schedules`` over one
`ramp` per segment. Each reference (braintools, PyTorch, fastai, optax, DeepSpeed, Hugging
Face) has its own module that turns its arguments into segments, and the shapes they need
(``log_ramp`` and ``stair_growth`` for DeepSpeed, ``cosine_cycles`` for Hugging Face, ...)
live here with the common ones, as do the count helpers (`steps`, `epoch_of`, `per_epoch`,
`rate_array`); what no segment can say (PyTorch's periodic cosine tail, CyclicLR's folding
and amplitude scaling) stays in the reference's module, around the built curve.

Fractional knots (``pct_start * total_steps = 2.5``) are handled by giving each segment two
numbers: the integer step where ``join_schedules`` switches to it (``switch``) and the real
position where its ramp starts (``origin``); the ramp is evaluated at
``count - switch + (switch - origin)``.

The names in ``__all__`` are used by the other modules of the package; a leading
underscore means "this module only".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from .._validate import INT32_MAX

__all__ = [
    "Shape",
    "Segment",
    "build",
    "segments_from_knots",
    "steps",
    "linear",
    "cos",
    "stairs",
    "inverse_decay",
    "growth",
    "constant",
    "exponential",
    "cosine_cycles",
    "one_minus_sqrt",
    "power",
    "inverse_sqrt",
    "hard_restarts",
    "log_ramp",
    "stair_growth",
    "rate_array",
    "span",
    "hold",
    "epoch_of",
    "per_epoch",
]

# A shape maps (start value, end value, x, y, length) to a value, where x is the
# distance travelled from the segment's origin and y = length - x the distance left,
# both computed without cancellation. Using y near the end keeps a ramp exact to
# float32 precision where it approaches a tiny final value.
Shape = Callable[[Any, Any, Any, Any, float], Any]
# What `build` returns: an optax schedule that always gives an array.
Curve = Callable[[ArrayLike], jax.Array]


# ---- shapes -----------------------------------------------------------------------------


def linear(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
    """Straight line from ``a`` to ``b``, evaluated from the nearer end."""
    return jnp.where(x <= y, a + (b - a) * (x / length), b + (a - b) * (y / length))


def cos(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
    """Half cosine from ``a`` to ``b`` (the one half-cosine of the package).

    ``(1 - cos(pi t)) / 2 == sin(pi t / 2) ** 2``, evaluated from the nearer end.
    """

    def w(t: Any) -> Any:
        return jnp.square(jnp.sin(0.5 * jnp.pi * t))

    return jnp.where(x <= y, a + (b - a) * w(x / length), b + (a - b) * w(y / length))


def stairs(count: int, from_end: bool) -> Shape:
    """``count`` flat stairs, quantised from the segment's start or from its end."""

    def shape(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
        if from_end:
            return b + (a - b) * jnp.floor(y * count / length) / count
        return a + (b - a) * jnp.floor(x * count / length) / count

    return shape


def inverse_decay(rate: float, size: float) -> Shape:
    """``a / (1 + rate * x / size)``: DeepSpeed's post-cycle learning-rate decay."""
    return lambda a, b, x, y, length: a / (1.0 + rate * (x / size))


def growth(rate: float, size: float) -> Shape:
    """``a * (1 + rate * x / size)``: DeepSpeed's post-cycle momentum change."""
    return lambda a, b, x, y, length: a * (1.0 + rate * (x / size))


def constant(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
    """``a`` throughout."""
    return a + jnp.zeros_like(x)


def exponential(factor: float) -> Shape:
    """``a * factor ** x``: one multiplicative decay per unit of ``x`` (open-ended)."""
    return lambda a, b, x, y, length: a * jnp.power(jnp.asarray(factor, x.dtype), x)


def cosine_cycles(cycles: float, size: float) -> Shape:
    """``b + (a - b) * cos(pi * cycles * x / size) ** 2``, for any ``x`` (not clamped).

    Hugging Face's ``0.5 * (1 + cos(2 pi cycles progress))``. The phase is reduced
    exactly (``fmod``) before dividing, and measured from the cosine's zero, so the curve
    keeps float32 accuracy after many cycles and near a tiny value.
    """

    def shape(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
        r = jnp.remainder(cycles * x, size)  # t = cycles * x / size; t mod 1 == r / size
        v = jnp.abs(r - 0.5 * size) / size  # cos(pi t) ** 2 == sin(pi v) ** 2
        return b + (a - b) * jnp.square(jnp.sin(jnp.pi * v))

    return shape


def one_minus_sqrt(warmup: bool) -> Shape:
    """Hugging Face's ``1-sqrt`` shapes, without cancellation near either end.

    Warmup ``a + (b - a) (1 - sqrt(1 - p))``, decay ``b + (a - b) (1 - sqrt(p))``, using
    ``1 - sqrt(1 - u) == u / (1 + sqrt(1 - u))``.
    """

    def shape(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
        if not warmup:  # the decay is the warmup seen from the end
            a, b, x, y = b, a, y, x
        return a + (b - a) * (x / length) / (1.0 + jnp.sqrt(y / length))

    return shape


def power(p: float) -> Shape:
    """``b + (a - b) * (y / length) ** p``: polynomial decay (``0 ** 0 == 1``, as in Python)."""
    return lambda a, b, x, y, length: b + (a - b) * jnp.power(y / length, p)


def inverse_sqrt(timescale: float) -> Shape:
    """``a / sqrt(1 + x / timescale)`` (open-ended): Hugging Face's ``inverse_sqrt`` decay."""
    return lambda a, b, x, y, length: a * jnp.reciprocal(jnp.sqrt(1.0 + x / timescale))


def hard_restarts(cycles: float) -> Shape:
    """``cycles`` half cosines from ``a`` to ``b``, each restarting at ``a``.

    Hugging Face's ``0.5 (1 + cos(pi ((cycles * p) % 1)))``; the phase is reduced exactly
    (``remainder`` of ``cycles * x`` by ``length``) and evaluated from the nearer end of the
    restart, so the curve keeps float32 accuracy near ``b``.
    """

    def shape(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
        r = jnp.remainder(cycles * x, length)  # travelled in this restart
        u = length - r  # left in it

        def w(d: Any) -> Any:
            return jnp.square(jnp.sin(0.5 * jnp.pi * (d / length)))

        return jnp.where(r <= u, a + (b - a) * w(r), b + (a - b) * w(u))

    return shape


def log_ramp(a: Any, b: Any, x: Any, y: Any, length: float) -> Any:
    """``a + (b - a) * log(x) / log(length)``, ``a`` for ``x <= 1``: DeepSpeed's log warmup."""
    return a + (b - a) * (jnp.log(jnp.maximum(x, 1.0)) / math.log(length))


def stair_growth(rate: float, size: float) -> Shape:
    """``a * (1 + rate * floor(x / size))``: DeepSpeed's LR range test staircase."""
    return lambda a, b, x, y, length: a * (1.0 + rate * jnp.floor(x / size))


# ---- segments and the builder -------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Segment:
    """One ramp of a curve. Built with keywords: ``Segment(switch=0, origin=0.0, ...)``.

    Attributes:
      switch: first integer step this segment covers (a ``join_schedules`` boundary).
      origin: real-valued step where the segment's ramp starts.
      length: real-valued length of the ramp (``inf`` for an open-ended segment).
      start: value at ``origin``.
      end: value at ``origin + length``.
      shape: how the ramp goes from ``start`` to ``end``.
    """

    switch: int
    origin: float
    length: float
    start: Any
    end: Any
    shape: Shape


def span(at: int, length: float, start: Any, end: Any, shape: Shape) -> Segment:
    """A segment that switches in at integer step ``at`` and starts its ramp there."""
    return Segment(switch=at, origin=float(at), length=length, start=start, end=end, shape=shape)


def hold(at: int, value: Any) -> Segment:
    """``value`` from integer step ``at`` on: an open-ended constant segment."""
    return span(at, math.inf, value, value, constant)


def rate_array(value: Any) -> jax.Array:
    """A checked rate or momentum as JAX's default float dtype.

    float32 (float64 only with ``jax_enable_x64``), whatever the value's own dtype.
    """
    return jnp.asarray(value, jnp.result_type(float))


def steps(count: ArrayLike) -> jax.Array:
    """A step count as int32 in [0, 2**31 - 1], whatever its dtype (a float is floored).

    Narrow integers (int8, int16, uint8, ...) are widened before clamping, so a bound such
    as 2**31 - 1 is never converted into their dtype (where it would wrap).
    """
    count = jnp.asarray(count)
    if not jnp.issubdtype(count.dtype, jnp.integer):  # 2**31 - 128: the last float32 below 2**31
        return jnp.clip(jnp.floor(count), 0, 2**31 - 128).astype(jnp.int32)
    info = np.iinfo(count.dtype)
    if info.max <= INT32_MAX:  # fits in int32: widen first
        return jnp.maximum(count.astype(jnp.int32), 0)
    return jnp.clip(count, 0, INT32_MAX).astype(jnp.int32)


def epoch_of(count: ArrayLike, steps_per_epoch: int) -> jax.Array:
    """The epoch that batch ``count`` belongs to: ``count // steps_per_epoch`` (any dtype)."""
    return steps(count) // steps_per_epoch


def per_epoch(curve: optax.Schedule, steps_per_epoch: int) -> optax.Schedule:
    """``curve`` of the epoch ``count // steps_per_epoch`` (any integer or float count)."""
    return lambda count: curve(epoch_of(count, steps_per_epoch))


def _count(count: ArrayLike) -> jax.Array:
    """An integer count as int32 (`steps`); a float count stays real-valued, clamped at 0."""
    count = jnp.asarray(count)
    if jnp.issubdtype(count.dtype, jnp.integer):
        return steps(count)
    return jnp.maximum(count, 0)


def ramp(seg: Segment) -> optax.Schedule:
    """The schedule of one segment, for counts measured from its ``switch``."""
    length = seg.length if seg.length > 0 else 1.0  # a zero-length segment stays finite
    # ... and is complete at once: it gives its end value (fastai's pct_start=1 at T).
    offset = float(seg.switch - seg.origin) if seg.length > 0 else length
    tail = float(seg.origin + length - seg.switch) if math.isfinite(length) else math.inf

    def schedule(count: ArrayLike) -> jax.Array:
        c = jnp.asarray(count, dtype=jnp.result_type(float))
        x = jnp.clip(c + offset, 0.0, length)
        y = jnp.clip(tail - c, 0.0, length)
        return seg.shape(seg.start, seg.end, x, y, length)

    return schedule


def build(segments: Sequence[Segment], last_step: int | None) -> Curve:
    """``join_schedules`` over the segments; steps are clamped to [0, last_step].

    Any integer dtype is accepted for the step (int8 to uint64; see `steps`).
    """
    joined = optax.join_schedules([ramp(s) for s in segments], [s.switch for s in segments[1:]])
    dtype = jnp.result_type(float)

    def schedule(count: ArrayLike) -> jax.Array:
        count = _count(count)
        if last_step is not None:
            count = jnp.minimum(count, last_step)
        return jnp.asarray(joined(count), dtype=dtype)

    return schedule


def segments_from_knots(
    knots: Sequence[float], values: Sequence[Any], shapes: Sequence[Shape], left_closed: bool
) -> list[Segment]:
    """Segments between consecutive knots.

    ``left_closed`` says who owns an integer step that lands exactly on a knot:
    True gives it to the earlier segment (``step <= end``, PyTorch and braintools),
    False to the later one (``step >= start``, fastai and optax).

    Examples:
      >>> segs = segments_from_knots([0.0, 2.5, 10.0], [0.0, 1.0, 0.0], [linear, cos], True)
      >>> [s.switch for s in segs], [s.origin for s in segs]
      ([0, 3], [0.0, 2.5])
      >>> curve = build(segs, last_step=10)
      >>> [round(float(curve(k)), 3) for k in (0, 2, 3, 10, 11)]
      [0.0, 0.8, 0.989, 0.0, 0.0]
    """
    segments, previous = [], 0
    for i, shape in enumerate(shapes):
        if i == 0:
            switch = 0
        else:
            k = knots[i]
            switch = math.floor(k) + 1 if left_closed else math.ceil(k)
            switch = max(switch, previous, 0)
        previous = switch
        segments.append(
            Segment(
                switch=switch,
                origin=knots[i],
                length=knots[i + 1] - knots[i],
                start=values[i],
                end=values[i + 1],
                shape=shape,
            )
        )
    return segments
