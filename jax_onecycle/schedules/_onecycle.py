"""The one-cycle policy: its conventions as data, its settings resolved once, its two curves.

`resolve_cycle` validates the cycle keywords shared by every one-cycle entry point
(`onecycle_schedule`, `onecycle_momentum_schedule`, ``onecycle_sgd``, ``onecycle_adamw``,
``OneCycleLR``) once, into a frozen `CycleSettings`, and `resolve_momentum` their momentum
keywords by one rule; `lr_curve` and `momentum_curve` turn settings into schedules through
the curve engine (``_engine.build``), with the settings' ``horizon_changes`` applied
(`_horizon`). The conventions (braintools, PyTorch, fastai, optax) differ in the knot table
of `CycleSettings.knots`, in the warmup's shape (linear for braintools) and in the final
learning rate's divisor (see `lr_curve`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import optax
from jax.typing import ArrayLike

from .. import _validate
from .._validate import ANNEAL_STRATEGIES, AnnealStrategy, Convention
from . import _engine
from ._horizon import HorizonChanges, apply_horizon_changes, check_horizon_changes
from ._spec import recorded

__all__ = [
    "CycleSettings",
    "resolve_cycle",
    "lr_curve",
    "momentum_curve",
    "MomentumSettings",
    "resolve_momentum",
    "onecycle_schedule",
    "onecycle_momentum_schedule",
]

OPTAX_PCT_FINAL = 0.85  # optax.linear_onecycle_schedule's default pct_final
CYCLED_MAX_MOMENTUM = 0.95  # max_momentum=None when the momentum is cycled (PyTorch's default)
FIXED_MOMENTUM = 0.9  # max_momentum=None when it is not: Adam's b1, the usual SGD momentum


@dataclasses.dataclass(frozen=True)
class CycleSettings:
    """The validated shape of one cycle, shared by its learning-rate and momentum curves.

    Attributes:
      total_steps: steps ``T`` in the cycle (``epochs * steps_per_epoch`` if so given).
      pct_start: fraction of the cycle spent increasing the learning rate.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      div_factor: ``max_lr / initial``.
      final_div_factor: divisor of the final learning rate (see the convention).
      three_phase: whether the curve has three phases. Always True for
        ``convention="optax"`` with ``anneal_strategy="linear"``, because
        ``optax.linear_onecycle_schedule`` is three-phase.
      pct_final: end of the second phase when ``three_phase`` (else None).
      convention: whose curve is reproduced.
      horizon_changes: validated ``(at_step, new_total_steps)`` pairs applied to both
        curves, in order (`change_horizon`).
    """

    total_steps: int
    pct_start: float
    anneal_strategy: AnnealStrategy
    div_factor: float
    final_div_factor: float
    three_phase: bool
    pct_final: float | None
    convention: Convention
    horizon_changes: tuple[tuple[int, int], ...] = ()

    def knots(self) -> tuple[list[float], bool, int]:
        """Knots, membership rule at a knot, and last in-cycle step (the convention table)."""
        p, f, t = self.pct_start, self.pct_final, self.total_steps
        if self.convention == "torch":  # torch/optim/lr_scheduler.py, OneCycleLR._schedule_phases
            inner = [p * t - 1] + ([f * t - 2] if f is not None else [])
            return [0.0, *inner, t - 1.0], True, t - 1
        if self.convention == "optax":  # optax/schedules/_schedule.py, *_onecycle_schedule
            inner = [int(p * t)] + ([int(f * t)] if f is not None else [])
            return [0.0, *map(float, inner), float(t)], False, t
        inner = [p * t] + ([f * t] if f is not None else [])
        # braintools: step <= pct_start * T is warmup; fastai: pos >= pct is the next phase.
        return [0.0, *inner, float(t)], self.convention == "braintools", t


# The cycle keywords every one-cycle entry point takes, with their defaults (the entry points'
# signatures spell the same defaults; a test holds them equal).
CYCLE_DEFAULTS: dict[str, Any] = {
    "total_steps": None,
    "epochs": None,
    "steps_per_epoch": None,
    "pct_start": 0.3,
    "anneal_strategy": "cos",
    "div_factor": 25.0,
    "final_div_factor": 1e4,
    "three_phase": False,
    "pct_final": None,
    "convention": "braintools",
    "horizon_changes": (),
}


def resolve_cycle(
    fn: str, given: Mapping[str, Any] | None = None, /, **keywords: Any
) -> CycleSettings:
    """Validate the cycle keywords of entry point ``fn`` once, into `CycleSettings`.

    The keywords come from ``given`` (an entry point's ``locals()``: only the cycle keywords
    are read) and ``keywords``; a keyword given neither way takes its default.

    Raises:
      ValueError, TypeError: naming ``fn``, the argument, its value and what is allowed.

    Examples:
      >>> s = resolve_cycle("f", epochs=2, steps_per_epoch=5, anneal_strategy="linear",
      ...                   convention="optax")
      >>> s.total_steps, s.three_phase, s.pct_final
      (10, True, 0.85)
    """
    k = _validate.keywords("resolve_cycle", CYCLE_DEFAULTS, given, keywords)
    convention, pct_start, pct_final = k["convention"], k["pct_start"], k["pct_final"]
    convention = _validate.choice(fn, "convention", convention, _validate.CONVENTIONS)
    total = _validate.total_steps(fn, k["total_steps"], k["epochs"], k["steps_per_epoch"])
    # PyTorch and fastai accept pct_start == 1 (no annealing); braintools and optax refuse it.
    pct_start = _validate.fraction(
        fn, "pct_start", pct_start, allow_one=convention in ("torch", "fastai")
    )
    anneal = _validate.choice(fn, "anneal_strategy", k["anneal_strategy"], ANNEAL_STRATEGIES)
    three_phase = _validate.boolean(fn, "three_phase", k["three_phase"])
    div = _validate.positive(fn, "div_factor", k["div_factor"])
    final_div = _validate.positive(fn, "final_div_factor", k["final_div_factor"])
    optax_linear = convention == "optax" and anneal == "linear"
    three = three_phase or optax_linear
    if pct_final is not None and not three:
        raise ValueError(
            f"{fn}: `pct_final` is only used with three_phase=True (or convention='optax' "
            f"with anneal_strategy='linear'), got pct_final={pct_final!r} with three_phase=False."
        )
    if three:
        default, default_text = (
            (OPTAX_PCT_FINAL, "0.85")
            if convention == "optax"
            else (2.0 * pct_start, "2 * pct_start")
        )
        final = default if pct_final is None else _validate.real(fn, "pct_final", pct_final)
        # PyTorch lets the second phase run past the end (pct_start > 0.5): reproduce it.
        upper = 2.0 if convention == "torch" else 1.0
        if not pct_start < final <= upper:
            raise ValueError(
                f"{fn}: `pct_final` (default {default_text}) must be in (pct_start, {upper:g}] = "
                f"({pct_start!r}, {upper:g}] with a three-phase cycle, got {final!r}."
            )
        pct_final = final
    return CycleSettings(
        total_steps=total,
        pct_start=pct_start,
        anneal_strategy=anneal,
        div_factor=div,
        final_div_factor=final_div,
        three_phase=three,
        pct_final=pct_final if three else None,
        convention=convention,
        horizon_changes=check_horizon_changes(fn, k["horizon_changes"], total),
    )


@dataclasses.dataclass(frozen=True)
class MomentumSettings:
    """The validated momentum keywords of a one-cycle entry point.

    Attributes:
      cycle: whether the momentum is cycled (``high -> base -> high``).
      base: the lowest momentum of the cycle (unused when not cycling).
      high: the highest momentum of the cycle, or the fixed momentum when not cycling.
    """

    cycle: bool
    base: float
    high: float


def resolve_momentum(
    fn: str, cycle_momentum: Any, base_momentum: Any, max_momentum: Any
) -> MomentumSettings:
    """The one rule for the momentum keywords of every one-cycle entry point.

    ``max_momentum=None`` is 0.95 when the momentum is cycled (PyTorch's ``max_momentum``) and
    0.9 when it is not (``optax.adamw``'s ``b1``, the usual SGD momentum; PyTorch leaves the
    optimizer's own momentum alone then); a value given is used as given. Both bounds must
    lie in [0, 1); ``base_momentum <= max_momentum`` only matters, and is only checked, when
    cycling.

    Examples:
      >>> [resolve_momentum("f", cycle, 0.85, None).high for cycle in (True, False)]
      [0.95, 0.9]
      >>> resolve_momentum("f", False, 0.85, 0.8).high  # a fixed momentum below base_momentum
      0.8
    """
    cycle = _validate.boolean(fn, "cycle_momentum", cycle_momentum)
    base = _validate.momentum(fn, "base_momentum", base_momentum)
    if max_momentum is None:
        high = CYCLED_MAX_MOMENTUM if cycle else FIXED_MOMENTUM
    else:
        high = _validate.momentum(fn, "max_momentum", max_momentum)
    if cycle:
        _validate.ordered(fn, "base_momentum", base, "max_momentum", high)
    return MomentumSettings(cycle=cycle, base=base, high=high)


def _cycle(settings: CycleSettings, values: list[Any]) -> optax.Schedule:
    """``values`` at the knots of ``settings``, joined by the convention's shapes."""
    knots, left_closed, last = settings.knots()
    anneal = _engine.cos if settings.anneal_strategy == "cos" else _engine.linear
    warmup = _engine.linear if settings.convention == "braintools" else anneal
    shapes = [warmup] + [anneal] * (len(knots) - 2)
    curve = _engine.build(_engine.segments_from_knots(knots, values, shapes, left_closed), last)
    return apply_horizon_changes(curve, settings.total_steps, settings.horizon_changes)


def lr_curve(settings: CycleSettings, max_lr: ArrayLike, *, fn: str) -> optax.Schedule:
    """The learning-rate curve of ``settings`` for one peak ``max_lr`` (validated here).

    The initial and final rates derived from the divisors must be finite in float32.
    """
    peak = _engine.rate_array(_validate.learning_rate(fn, "max_lr", max_lr))
    s = settings
    torch_like = s.convention in ("torch", "optax")
    if not _validate.is_tracer(max_lr):
        top = float(np.max(np.asarray(max_lr, dtype=np.float64), initial=0.0))
        initial = top / s.div_factor
        if initial > _validate.F32_MAX:
            _validate.fail(
                fn,
                "div_factor",
                f"large enough that max_lr / div_factor is a finite float32 "
                f"(>= {top / _validate.F32_MAX:.3g})",
                s.div_factor,
            )
        final = (initial if torch_like else top) / s.final_div_factor
        if final > _validate.F32_MAX:
            _validate.fail(
                fn,
                "final_div_factor",
                "large enough that the final learning rate is a finite "
                f"float32 (>= {(initial if torch_like else top) / _validate.F32_MAX:.3g})",
                s.final_div_factor,
            )
    initial = peak / s.div_factor
    final = (initial if torch_like else peak) / s.final_div_factor
    values = [initial, peak] + ([initial] if s.three_phase else []) + [final]
    return _cycle(s, values)


def momentum_curve(settings: CycleSettings, base: float, high: float) -> optax.Schedule:
    """The momentum curve of ``settings``: ``high -> base -> high``, held after.

    ``base`` and ``high`` come from `resolve_momentum`. With three phases the
    momentum is back at ``high`` where the learning rate is back at its initial value and
    stays there through the final phase (PyTorch's ``three_phase``; the same for the
    three-phase optax curve).
    """
    lo, hi = _engine.rate_array(base), _engine.rate_array(high)
    return _cycle(settings, [hi, lo, hi] + ([hi] if settings.three_phase else []))


@recorded("onecycle_schedule")
def onecycle_schedule(
    max_lr: ArrayLike,
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: AnnealStrategy = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    pct_final: float | None = None,
    convention: Convention = "braintools",
    horizon_changes: HorizonChanges = (),
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
    ``convention="optax"`` with ``anneal_strategy="linear"`` is
    ``optax.linear_onecycle_schedule``, which always has three phases (``pct_final``
    default 0.85, the optax default of every three-phase optax curve).
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
      pct_final: end of the second phase of a three-phase cycle (optax's ``pct_final``).
      convention: ``"braintools"``, ``"torch"``, ``"fastai"`` or ``"optax"``.
      horizon_changes: ``(at_step, new_total_steps)`` pairs applied in order, the first to
        the cycle's total, each later one to the previous ``new_total_steps``
        (`change_horizon`).

    Returns:
      An ``optax.Schedule`` mapping a step count to a learning rate.

    Examples:
      >>> import jax.numpy as jnp
      >>> sched = onecycle_schedule(0.1, total_steps=10, pct_start=0.25, convention="torch")
      >>> [round(float(v), 4) for v in sched(jnp.array([0, 1, 2, 9]))]
      [0.004, 0.076, 0.0989, 0.0]

    References:
      Smith & Topin, *Super-Convergence* (2017), https://arxiv.org/abs/1708.07120
    """
    fn = "onecycle_schedule"
    return lr_curve(resolve_cycle(fn, locals()), max_lr, fn=fn)


@recorded("onecycle_momentum_schedule")
def onecycle_momentum_schedule(
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    base_momentum: float = 0.85,
    max_momentum: float | None = None,
    pct_start: float = 0.3,
    anneal_strategy: AnnealStrategy = "cos",
    three_phase: bool = False,
    pct_final: float | None = None,
    convention: Convention = "braintools",
    horizon_changes: HorizonChanges = (),
) -> optax.Schedule:
    """Momentum for a one-cycle run: moves opposite to `onecycle_schedule`.

    It falls from ``max_momentum`` to ``base_momentum`` while the learning rate rises,
    climbs back to ``max_momentum`` while it falls, and holds there afterwards (with
    three phases, it stays at ``max_momentum`` in the final phase, as PyTorch does; so
    for ``convention="optax"`` with a linear anneal). The phase boundaries and shapes are
    those of the learning-rate schedule of the same ``convention`` (PyTorch's
    ``cycle_momentum``, fastai's ``moms=(max, base, max)``). The cycle keywords
    (``total_steps``, ``epochs``, ``steps_per_epoch``, ``pct_start``, ``anneal_strategy``,
    ``three_phase``, ``pct_final``, ``convention``, ``horizon_changes``) are those of
    `onecycle_schedule`, with the same defaults and checks.

    Args:
      base_momentum: lowest momentum, reached at the learning rate's peak.
      max_momentum: highest momentum, at the start and the end (None: 0.95).

    Returns:
      An ``optax.Schedule`` mapping a step count to a momentum coefficient.

    Examples:
      >>> sched = onecycle_momentum_schedule(total_steps=10, convention="torch")
      >>> [round(float(sched(s)), 3) for s in (0, 2, 9, 100)]
      [0.95, 0.85, 0.95, 0.95]
    """
    fn = "onecycle_momentum_schedule"
    settings = resolve_cycle(fn, locals())
    momentum = resolve_momentum(fn, True, base_momentum, max_momentum)
    return momentum_curve(settings, momentum.base, momentum.high)
