"""Pure one-cycle schedules: every curve is data handed to one builder.

A curve is a list of knots (real-valued step positions), the value at each knot
and a ramp shape per phase. `_build` turns that into
``optax.join_schedules`` over one ramp per phase. Conventions (braintools,
PyTorch, fastai, optax, DeepSpeed) differ only in the knots, the membership
rule at a knot and the shapes, never in code.

Fractional knots (``pct_start * total_steps = 2.5``) are handled by giving each
phase two numbers: the integer step where ``join_schedules`` switches to it
(``switch``) and the real position where its ramp starts (``origin``); the ramp
is evaluated at ``count - switch + (switch - origin)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from . import _validate

__all__ = [
    "onecycle_schedule",
    "onecycle_momentum_schedule",
    "deepspeed_onecycle_schedule",
    "deepspeed_onecycle_momentum_schedule",
]

CONVENTIONS = ("braintools", "torch", "fastai", "optax")
ANNEAL_STRATEGIES = ("cos", "linear")

# A shape maps (start value, end value, x, y, length) to a value, where x is the
# distance travelled from the phase's origin and y = length - x the distance left,
# both computed without cancellation. Using y near the end keeps a ramp exact to
# float32 precision where it approaches a tiny final value.
Shape = Callable[[Any, Any, Any, Any, float], Any]


def _linear(a, b, x, y, length):
    return jnp.where(x <= y, a + (b - a) * (x / length), b + (a - b) * (y / length))


def _cos(a, b, x, y, length):
    # (1 - cos(pi t)) / 2 == sin(pi t / 2) ** 2, evaluated from the nearer end.
    def w(t):
        return jnp.square(jnp.sin(0.5 * jnp.pi * t))

    return jnp.where(x <= y, a + (b - a) * w(x / length), b + (a - b) * w(y / length))


def _stairs(count: int, from_end: bool) -> Shape:
    """``count`` flat stairs, quantised from the phase's start or from its end."""

    def shape(a, b, x, y, length):
        if from_end:
            return b + (a - b) * jnp.floor(y * count / length) / count
        return a + (b - a) * jnp.floor(x * count / length) / count

    return shape


def _inverse_decay(rate: float, size: float) -> Shape:
    """``a / (1 + rate * x / size)``: DeepSpeed's post-cycle learning-rate decay."""
    return lambda a, b, x, y, length: a / (1.0 + rate * (x / size))


def _growth(rate: float, size: float) -> Shape:
    """``a * (1 + rate * x / size)``: DeepSpeed's post-cycle momentum change."""
    return lambda a, b, x, y, length: a * (1.0 + rate * (x / size))


def _constant(a, b, x, y, length):
    return a + jnp.zeros_like(x)


class _Segment(NamedTuple):
    switch: int  # first integer step this phase covers (a join_schedules boundary)
    origin: float  # real-valued step where the phase's ramp starts
    length: float  # real-valued length of the ramp (inf for open-ended phases)
    start: Any  # value at origin
    end: Any  # value at origin + length
    shape: Shape


def _ramp(seg: _Segment) -> optax.Schedule:
    length = seg.length if seg.length > 0 else 1.0  # a zero-length phase stays finite
    # ... and is complete at once: it gives its end value (fastai's pct_start=1 at T).
    offset = float(seg.switch - seg.origin) if seg.length > 0 else length
    tail = float(seg.origin + length - seg.switch) if math.isfinite(length) else math.inf

    def schedule(count: ArrayLike) -> jnp.ndarray:
        c = jnp.asarray(count, dtype=jnp.result_type(float))
        x = jnp.clip(c + offset, 0.0, length)
        y = jnp.clip(tail - c, 0.0, length)
        return seg.shape(seg.start, seg.end, x, y, length)

    return schedule


def _build(segments: Sequence[_Segment], last_step: int | None) -> optax.Schedule:
    """``join_schedules`` over the segments; steps are clamped to [0, last_step]."""
    joined = optax.join_schedules(
        [_ramp(s) for s in segments], [s.switch for s in segments[1:]]
    )
    dtype = jnp.result_type(float)

    def schedule(count: ArrayLike) -> jnp.ndarray:
        count = jnp.maximum(jnp.asarray(count), 0)
        if last_step is not None:
            count = jnp.minimum(count, last_step)
        return jnp.asarray(joined(count), dtype=dtype)

    return schedule


def _segments_from_knots(
    knots: Sequence[float], values: Sequence[Any], shapes: Sequence[Shape], left_closed: bool
) -> list[_Segment]:
    """Phases between consecutive knots.

    ``left_closed`` says who owns an integer step that lands exactly on a knot:
    True gives it to the earlier phase (``step <= end``, PyTorch and braintools),
    False to the later one (``step >= start``, fastai and optax).
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
            _Segment(switch, knots[i], knots[i + 1] - knots[i], values[i], values[i + 1], shape)
        )
    return segments


def _cycle_knots(
    convention: str, total: int, pct_start: float, pct_final: float | None
) -> tuple[list[float], bool, int]:
    """Knots, membership rule and last in-cycle step of each convention (the table)."""
    p, f, t = pct_start, pct_final, total
    if convention == "torch":  # torch/optim/lr_scheduler.py, OneCycleLR._schedule_phases
        inner = [p * t - 1] + ([f * t - 2] if f is not None else [])
        return [0.0, *inner, t - 1.0], True, t - 1
    if convention == "optax":  # optax/schedules/_schedule.py, *_onecycle_schedule
        inner = [int(p * t)] + ([int(f * t)] if f is not None else [])
        return [0.0, *map(float, inner), float(t)], False, t
    inner = [p * t] + ([f * t] if f is not None else [])
    # braintools: step <= pct_start * T is warmup; fastai: pos >= pct is the next phase.
    return [0.0, *inner, float(t)], convention == "braintools", t


def _cycle(
    values: Sequence[Any],
    total: int,
    pct_start: float,
    pct_final: float | None,
    anneal_strategy: str,
    three_phase: bool,
    convention: str,
) -> optax.Schedule:
    knots, left_closed, last = _cycle_knots(
        convention, total, pct_start, pct_final if three_phase else None
    )
    anneal = _cos if anneal_strategy == "cos" else _linear
    warmup = _linear if convention == "braintools" else anneal
    shapes = [warmup] + [anneal] * (len(knots) - 2)
    return _build(_segments_from_knots(knots, values, shapes, left_closed), last)


def _check_cycle(
    fn: str,
    total_steps: Any,
    epochs: Any,
    steps_per_epoch: Any,
    pct_start: Any,
    anneal_strategy: Any,
    three_phase: Any,
    pct_final: Any,
    convention: Any,
) -> tuple[int, float, float | None]:
    convention = _validate.choice(fn, "convention", convention, CONVENTIONS)
    total = _validate.total_steps(fn, total_steps, epochs, steps_per_epoch)
    # PyTorch and fastai accept pct_start == 1 (no annealing); braintools and optax refuse it.
    pct_start = _validate.fraction(
        fn, "pct_start", pct_start, allow_one=convention in ("torch", "fastai")
    )
    _validate.choice(fn, "anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)
    three_phase = _validate.boolean(fn, "three_phase", three_phase)
    if pct_final is not None and not three_phase:
        raise ValueError(
            f"{fn}: `pct_final` is only used with three_phase=True, got pct_final={pct_final!r} "
            "with three_phase=False."
        )
    if three_phase:
        final = 2.0 * pct_start if pct_final is None else _validate.real(fn, "pct_final", pct_final)
        # PyTorch lets the second phase run past the end (pct_start > 0.5): reproduce it.
        upper = 2.0 if convention == "torch" else 1.0
        if not pct_start < final <= upper:
            raise ValueError(
                f"{fn}: `pct_final` (default 2 * pct_start) must be in (pct_start, {upper:g}] = "
                f"({pct_start!r}, {upper:g}] with three_phase=True, got {final!r}."
            )
        pct_final = final
    return total, pct_start, pct_final


def onecycle_schedule(
    max_lr: ArrayLike,
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    pct_final: float | None = None,
    convention: str = "braintools",
) -> optax.Schedule:
    r"""One-cycle learning rate: warm up from ``max_lr / div_factor`` to ``max_lr``, then anneal.

    ``convention`` picks whose curve is reproduced value for value:

    | convention | initial | final | phase ends |
    |---|---|---|---|
    | `"braintools"` | `max_lr / div_factor` | `max_lr / final_div_factor` | `pct_start * T`, `T` |
    | `"torch"` | `max_lr / div_factor` | `initial / final_div_factor` | `pct_start*T-1`, `T-1` |
    | `"fastai"` | `max_lr / div_factor` | `max_lr / final_div_factor` | `pct_start * T`, `T` |
    | `"optax"` | `max_lr / div_factor` | `initial / final_div_factor` | `int(pct_start * T)`, `T` |

    braintools warms up linearly; the others use ``anneal_strategy`` for every phase.
    With ``three_phase=True`` the rate returns to the initial value at ``pct_final``
    (default ``2 * pct_start``) before the final anneal, as PyTorch's ``three_phase``.
    Past the end of the cycle the final value is held; negative steps give the first.

    Args:
      max_lr: peak learning rate; a scalar or an array, possibly traced (for ``jax.vmap``).
      total_steps: number of steps T in the cycle, or give ``epochs`` and ``steps_per_epoch``.
      epochs: number of epochs, with ``steps_per_epoch``.
      steps_per_epoch: number of steps per epoch, with ``epochs``.
      pct_start: fraction of the cycle spent increasing the rate.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      div_factor: ``max_lr / initial``.
      final_div_factor: divisor of the final value (see the table).
      three_phase: use the three-phase schedule.
      pct_final: end of the second phase with ``three_phase`` (optax's ``pct_final``).
      convention: ``"braintools"``, ``"torch"``, ``"fastai"`` or ``"optax"``.

    Returns:
      An ``optax.Schedule`` mapping a step count to a learning rate.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> import jax.numpy as jnp
      >>> sched = onecycle_schedule(0.1, total_steps=10, pct_start=0.25, convention="torch")
      >>> [round(float(v), 4) for v in sched(jnp.array([0, 1, 2, 9]))]
      [0.004, 0.076, 0.0989, 0.0]

    References:
      Smith & Topin, *Super-Convergence* (2017), https://arxiv.org/abs/1708.07120
    """
    fn = "onecycle_schedule"
    total, pct_start, pct_final = _check_cycle(
        fn, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy,
        three_phase, pct_final, convention,
    )
    _validate.learning_rate(fn, "max_lr", max_lr)
    div = _validate.positive(fn, "div_factor", div_factor)
    final_div = _validate.positive(fn, "final_div_factor", final_div_factor)

    peak = jnp.asarray(max_lr, dtype=jnp.result_type(float))
    initial = peak / div
    final = initial / final_div if convention in ("torch", "optax") else peak / final_div
    values = [initial, peak] + ([initial] if three_phase else []) + [final]
    return _cycle(
        values, total, pct_start, pct_final, anneal_strategy, three_phase, convention
    )


def onecycle_momentum_schedule(
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    three_phase: bool = False,
    pct_final: float | None = None,
    convention: str = "braintools",
) -> optax.Schedule:
    """Momentum for a one-cycle run: moves opposite to `onecycle_schedule`.

    It falls from ``max_momentum`` to ``base_momentum`` while the learning rate rises,
    climbs back to ``max_momentum`` while it falls, and holds there afterwards (with
    ``three_phase``, it stays at ``max_momentum`` in the final phase, as PyTorch does).
    The phase boundaries and shapes are those of the learning-rate schedule of the same
    ``convention`` (PyTorch's ``cycle_momentum``, fastai's ``moms=(max, base, max)``).

    Args:
      total_steps: number of steps T in the cycle, or give ``epochs`` and ``steps_per_epoch``.
      epochs: number of epochs, with ``steps_per_epoch``.
      steps_per_epoch: number of steps per epoch, with ``epochs``.
      base_momentum: lowest momentum, reached at the learning rate's peak.
      max_momentum: highest momentum, at the start and the end.
      pct_start: fraction of the cycle spent increasing the learning rate.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      three_phase: use the three-phase schedule.
      pct_final: end of the second phase with ``three_phase``.
      convention: ``"braintools"``, ``"torch"``, ``"fastai"`` or ``"optax"``.

    Returns:
      An ``optax.Schedule`` mapping a step count to a momentum coefficient.

    Raises:
      ValueError, TypeError: for an argument out of range, naming it and its value.

    Examples:
      >>> sched = onecycle_momentum_schedule(total_steps=10, convention="torch")
      >>> [round(float(sched(s)), 3) for s in (0, 2, 9, 100)]
      [0.95, 0.85, 0.95, 0.95]
    """
    fn = "onecycle_momentum_schedule"
    total, pct_start, pct_final = _check_cycle(
        fn, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy,
        three_phase, pct_final, convention,
    )
    low = _validate.momentum(fn, "base_momentum", base_momentum)
    high = _validate.momentum(fn, "max_momentum", max_momentum)
    if low > high:
        raise ValueError(
            f"{fn}: `base_momentum` must be <= `max_momentum`, got base_momentum={low!r} "
            f"and max_momentum={high!r}."
        )
    values = [high, low, high] + ([high] if three_phase else [])
    return _cycle(
        values, total, pct_start, pct_final, anneal_strategy, three_phase, convention
    )


def _onecycle_pair(
    max_lrs: Sequence[ArrayLike],
    total_steps: int | None,
    *,
    cycle_momentum: bool,
    base_momentum: float,
    max_momentum: float,
    div_factor: float,
    final_div_factor: float,
    **shared: Any,
) -> tuple[list[optax.Schedule], optax.Schedule | None]:
    """One learning-rate schedule per peak and, when cycling, the cycle's momentum schedule.

    ``shared`` holds the keywords both schedules take (epochs, steps_per_epoch, pct_start,
    anneal_strategy, three_phase, pct_final, convention); the optimizers and the
    ``OneCycleLR`` facade all build their curves here.
    """
    lrs = [
        onecycle_schedule(m, total_steps, div_factor=div_factor,
                          final_div_factor=final_div_factor, **shared)
        for m in max_lrs
    ]
    momentum = None
    if cycle_momentum:
        momentum = onecycle_momentum_schedule(
            total_steps, base_momentum=base_momentum, max_momentum=max_momentum, **shared
        )
    return lrs, momentum


def _check_deepspeed_cycle(
    fn: str,
    first_size: Any,
    second_size: Any,
    first_stairs: Any,
    second_stairs: Any,
    decay_step_size: Any,
) -> tuple[int, int, int, int, int]:
    first = _validate.integer(fn, "cycle_first_step_size", first_size)
    second = first if second_size is None else _validate.integer(
        fn, "cycle_second_step_size", second_size, minimum=0
    )
    stairs1 = _validate.integer(fn, "cycle_first_stair_count", first_stairs, minimum=0)
    stairs2 = stairs1 if second_stairs is None else _validate.integer(
        fn, "cycle_second_stair_count", second_stairs, minimum=0
    )
    decay = _validate.integer(fn, "decay_step_size", decay_step_size, minimum=0)
    return first, second, stairs1, stairs2, decay


def _deepspeed_cycle(
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
    up = _stairs(stairs1, from_end=False) if stairs1 > 0 else _linear
    down = _stairs(stairs2, from_end=True) if stairs2 > 0 else _linear
    segments = [
        _Segment(0, 0.0, float(first), low, high, up),
        _Segment(first + 1, float(first), float(second), high, low, down),
        _Segment(total, float(total), math.inf, post[0], post[0], post[1]),
    ]
    if second == 0:
        del segments[1]
    if start is not None:
        segments = [_Segment(0, 0.0, 1.0, start, start, _constant)] + [
            s._replace(switch=max(s.switch, 1)) for s in segments
        ]
    return _build(segments, last_step=None)


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

    Examples:
      >>> sched = deepspeed_onecycle_schedule(0.01, 0.1, cycle_first_step_size=4)
      >>> [round(float(sched(k)), 4) for k in (0, 2, 4, 6, 8, 20)]
      [0.01, 0.055, 0.1, 0.055, 0.01, 0.01]
    """
    fn = "deepspeed_onecycle_schedule"
    first, second, s1, s2, decay = _check_deepspeed_cycle(
        fn, cycle_first_step_size, cycle_second_step_size, cycle_first_stair_count,
        cycle_second_stair_count, decay_step_size,
    )
    low = jnp.asarray(_validate.learning_rate(fn, "cycle_min_lr", cycle_min_lr), jnp.float32)
    high = jnp.asarray(_validate.learning_rate(fn, "cycle_max_lr", cycle_max_lr), jnp.float32)
    rate = _validate.non_negative(fn, "decay_lr_rate", decay_lr_rate)
    post = _inverse_decay(rate, decay) if decay > 0 and rate > 0 else _constant
    return _deepspeed_cycle(low, high, first, second, s1, s2, (low, post))


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
      cycle_min_mom: momentum at the learning rate's peak.
      cycle_max_mom: momentum at the cycle's ends.
      decay_mom_rate: momentum change rate after the cycle.

    Returns:
      An ``optax.Schedule``.

    Examples:
      >>> sched = deepspeed_onecycle_momentum_schedule(cycle_first_step_size=4)
      >>> [round(float(sched(k)), 3) for k in (0, 1, 4, 8)]
      [0.8, 0.875, 0.8, 0.9]
    """
    fn = "deepspeed_onecycle_momentum_schedule"
    first, second, s1, s2, decay = _check_deepspeed_cycle(
        fn, cycle_first_step_size, cycle_second_step_size, cycle_first_stair_count,
        cycle_second_stair_count, decay_step_size,
    )
    low = _validate.momentum(fn, "cycle_min_mom", cycle_min_mom)
    high = _validate.momentum(fn, "cycle_max_mom", cycle_max_mom)
    rate = _validate.real(fn, "decay_mom_rate", decay_mom_rate)
    if not math.isfinite(rate):
        raise ValueError(f"{fn}: `decay_mom_rate` must be finite, got {decay_mom_rate!r}.")
    post = _growth(rate, decay) if decay > 0 and rate != 0 else _constant
    return _deepspeed_cycle(
        jnp.float32(high), jnp.float32(low), first, second, s1, s2,
        (jnp.float32(high), post), start=jnp.float32(low),
    )
