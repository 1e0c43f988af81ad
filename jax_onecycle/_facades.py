"""The braintools-named facades: `OneCycleLR`, the PyTorch epoch schedulers, `ReduceLROnPlateau`.

Each validates its own arguments under its own name and spelling, builds pure schedules
(`_onecycle`, `_family`) or the plateau rule (`_plateau`), and hands them to the machinery
of `_scheduler` (`ScheduleFacade`, `LRScheduler`): no curve maths lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from . import _plateau, _validate
from ._family import (
    cosine_annealing_curve,
    cosine_warm_restarts_schedule,
    multistep_schedule,
    step_schedule,
)
from ._onecycle import lr_curve, momentum_curve, resolve_cycle
from ._scheduler import LRScheduler, ScheduleFacade, as_list, concrete, per_group
from ._validate import AnnealStrategy, Convention

__all__ = [
    "OneCycleLR",
    "StepLR",
    "MultiStepLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "ReduceLROnPlateau",
]


class OneCycleLR(ScheduleFacade):
    """braintools' ``OneCycleLR``, on `onecycle_schedule`, with momentum that works.

    ``step()`` after each batch advances ``last_epoch``; ``get_lr()`` is the schedule at
    ``last_epoch``, one value per parameter group (``max_lr`` as a list). Passed as
    ``SGD(lr=scheduler)`` it drives the learning rate inside the compiled update, and
    with ``cycle_momentum=True`` the momentum too (overriding ``SGD``'s ``momentum=``,
    as PyTorch does). Called as ``scheduler(count)`` it is an optax schedule.

    Args:
      max_lr: peak learning rate, or a list of them (one per parameter group).
      total_steps: steps in the cycle, or give ``epochs`` and ``steps_per_epoch``.
      epochs: number of epochs, with ``steps_per_epoch``.
      steps_per_epoch: steps per epoch, with ``epochs``.
      pct_start: fraction of the cycle spent increasing the learning rate.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      div_factor: ``max_lr / initial``.
      final_div_factor: divisor of the final learning rate.
      last_epoch: starting step (to resume).
      three_phase: PyTorch's three-phase variant.
      pct_final: end of the second phase of a three-phase cycle (see `onecycle_schedule`).
      cycle_momentum: also cycle the momentum of an ``SGD`` built on this scheduler.
      base_momentum: momentum at the learning-rate peak.
      max_momentum: momentum at the start and the end.
      convention: ``"braintools"``, ``"torch"``, ``"fastai"`` or ``"optax"``.

    Examples:
      >>> sched = OneCycleLR(max_lr=0.1, total_steps=100)
      >>> round(sched.get_lr()[0], 6)
      0.004
      >>> for _ in range(30):
      ...     sched.step()
      >>> sched.last_epoch, round(sched.get_last_lr()[0], 6)
      (30, 0.1)
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        max_lr: float | Sequence[float] = 0.01,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: AnnealStrategy = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        last_epoch: int = 0,
        *,
        three_phase: bool = False,
        pct_final: float | None = None,
        cycle_momentum: bool = False,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        convention: Convention = "braintools",
    ):
        fn = "OneCycleLR"
        self.max_lrs = as_list(fn, "max_lr", max_lr)
        settings = resolve_cycle(
            fn, total_steps, epochs=epochs, steps_per_epoch=steps_per_epoch,
            pct_start=pct_start, anneal_strategy=anneal_strategy, div_factor=div_factor,
            final_div_factor=final_div_factor, three_phase=three_phase, pct_final=pct_final,
            convention=convention,
        )  # fmt: skip
        cycle_momentum = _validate.boolean(fn, "cycle_momentum", cycle_momentum)
        low, high = _validate.momentum_range(
            fn, "base_momentum", base_momentum, "max_momentum", max_momentum
        )
        schedules = [lr_curve(settings, m, fn=fn) for m in self.max_lrs]
        momentum = momentum_curve(settings, low, high) if cycle_momentum else None
        super().__init__(schedules, last_epoch, momentum)
        self._settings = settings  # the validated cycle (_onecycle.CycleSettings)
        self.total_steps = settings.total_steps
        self.pct_start = settings.pct_start
        self.anneal_strategy = settings.anneal_strategy
        self.div_factor = settings.div_factor
        self.final_div_factor = settings.final_div_factor
        self.three_phase = three_phase
        self.pct_final = settings.pct_final
        self.cycle_momentum = cycle_momentum
        self.convention = settings.convention


class StepLR(ScheduleFacade):
    """braintools' ``StepLR`` on `step_schedule`: ``base_lr * gamma ** (epoch // step_size)``.

    Args:
      base_lr: initial learning rate, or a list (one per parameter group).
      step_size: epochs between decays.
      gamma: multiplicative decay.
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = StepLR(base_lr=0.1, step_size=2, gamma=0.5)
      >>> [round(sched(e).item(), 3) for e in range(5)]
      [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self, base_lr: Any = 1e-3, step_size: int = 30, gamma: float = 0.1, last_epoch: int = 0
    ):
        fn = "StepLR"  # checked here, so errors name the facade and its own spelling
        size = _validate.step_count(fn, "step_size", step_size)
        factor = _validate.fraction(fn, "gamma", gamma, allow_one=True)
        super().__init__(
            per_group(fn, "base_lr", base_lr, lambda b: step_schedule(b, size, factor)), last_epoch
        )
        self.step_size, self.gamma = step_size, gamma


class MultiStepLR(ScheduleFacade):
    """braintools' ``MultiStepLR`` on `multistep_schedule`: decay at each milestone.

    Args:
      base_lr: initial learning rate, or a list (one per parameter group).
      milestones: non-decreasing epochs at which to multiply by ``gamma``.
      gamma: multiplicative decay.
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = MultiStepLR(base_lr=1.0, milestones=[1, 3], gamma=0.1)
      >>> [round(sched(e).item(), 3) for e in range(4)]
      [1.0, 0.1, 0.1, 0.01]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        base_lr: Any = 1e-3,
        milestones: Sequence[int] = (30, 60, 90),
        gamma: float = 0.1,
        last_epoch: int = 0,
    ):
        fn = "MultiStepLR"
        marks = _validate.milestones(fn, "milestones", milestones)
        factor = _validate.fraction(fn, "gamma", gamma, allow_one=True)
        super().__init__(
            per_group(fn, "base_lr", base_lr, lambda b: multistep_schedule(b, marks, factor)),
            last_epoch,
        )
        self.milestones, self.gamma = list(milestones), gamma


class CosineAnnealingLR(ScheduleFacade):
    """braintools' ``CosineAnnealingLR``: cosine from ``base_lr`` to ``eta_min`` over ``T_max``.

    As braintools (and unlike PyTorch, whose curve rises again; see
    `cosine_annealing_schedule`), the rate holds ``eta_min`` after ``T_max``.

    Args:
      base_lr: initial learning rate, or a list (one per parameter group).
      T_max: epochs of the anneal.
      eta_min: final learning rate.
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = CosineAnnealingLR(base_lr=1.0, T_max=2)
      >>> [round(sched(e).item(), 3) for e in range(5)]
      [1.0, 0.5, 0.0, 0.0, 0.0]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self, base_lr: Any = 1e-3, T_max: int = 50, eta_min: float = 0.0, last_epoch: int = 0
    ):
        fn = "CosineAnnealingLR"
        t_max = _validate.step_count(fn, "T_max", T_max)
        low = _validate.rate(fn, "eta_min", eta_min)

        def held(b: Any) -> optax.Schedule:  # braintools holds eta_min past T_max
            return cosine_annealing_curve(jnp.asarray(b, low.dtype), t_max, low, hold=True)

        super().__init__(per_group(fn, "base_lr", base_lr, held), last_epoch)
        self.T_max, self.eta_min = T_max, eta_min


class CosineAnnealingWarmRestarts(ScheduleFacade):
    """braintools' ``CosineAnnealingWarmRestarts`` on `cosine_warm_restarts_schedule`.

    Args:
      base_lr: initial learning rate, or a list (one per parameter group).
      T_0: epochs of the first cycle.
      T_mult: growth factor of the cycle length (an integer >= 1).
      eta_min: lowest learning rate.
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = CosineAnnealingWarmRestarts(base_lr=1.0, T_0=2)
      >>> [round(sched(e).item(), 3) for e in range(4)]
      [1.0, 0.5, 1.0, 0.5]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        base_lr: Any = 1e-3,
        T_0: int = 10,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = 0,
    ):
        fn = "CosineAnnealingWarmRestarts"
        t_0 = _validate.step_count(fn, "T_0", T_0)
        t_mult = _validate.step_count(fn, "T_mult", T_mult)
        _validate.learning_rate(fn, "eta_min", eta_min)
        super().__init__(
            per_group(
                fn,
                "base_lr",
                base_lr,
                lambda b: cosine_warm_restarts_schedule(b, t_0, t_mult, eta_min),
            ),
            last_epoch,
        )
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min


class ReduceLROnPlateau(LRScheduler):
    """PyTorch's ``ReduceLROnPlateau``: cut the rate when a metric stops improving.

    ``step(metric)`` once per epoch; the decision is a pure, jittable state update
    (PyTorch's, quirks included: ``best`` is still tracked during cooldown, a cut smaller
    than ``eps`` is skipped), kept in one brainstate State, so ``step`` also works inside
    a compiled epoch loop and ``SGD(lr=scheduler)`` applies the new rate without
    recompiling.

    Args:
      lr: initial learning rate, or a list (one per parameter group).
      mode: ``"min"`` (the metric should fall) or ``"max"``.
      factor: multiplier of a cut, in (0, 1).
      patience: bad epochs tolerated before a cut.
      threshold: least change that counts as an improvement.
      threshold_mode: ``"rel"`` or ``"abs"``.
      cooldown: epochs after a cut during which bad epochs are not counted.
      min_lr: lowest learning rate (a float or one per group).
      eps: a cut smaller than this is skipped.

    Examples:
      >>> sched = ReduceLROnPlateau(0.1, patience=1)
      >>> for loss in [1.0, 1.0, 1.0, 1.0]:
      ...     sched.step(loss)
      >>> round(sched.get_last_lr()[0], 6), sched.last_epoch
      (0.01, 4)
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        lr: Any = 1e-3,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: Any = 0.0,
        eps: float = 1e-8,
    ):
        fn = "ReduceLROnPlateau"
        lrs = per_group(fn, "lr", lr, float)
        min_lrs = per_group(fn, "min_lr", min_lr, float)
        if len(min_lrs) not in (1, len(lrs)):
            raise ValueError(
                f"{fn}: `min_lr` must be a float or one per group ({len(lrs)}), got {min_lr!r}."
            )
        _, self._hyper = _plateau.check_args(
            fn,
            lrs,
            mode=mode,
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
            min_lr=min_lrs,
            eps=eps,
        )
        self._hyper["min_lr"] = jnp.asarray(min_lrs, jnp.float32)
        super().__init__(len(lrs))
        self._state = brainstate.LongTermState(
            _plateau.init(jnp.asarray(lrs, jnp.float32), self._hyper["mode"])
        )

    def step(self, metric: ArrayLike) -> None:
        """Record one epoch's ``metric`` (one real number; traced inside ``jit`` is fine)."""
        metric = _plateau.check_metric("ReduceLROnPlateau.step", "metric", metric)
        self._state.value = _plateau.update(self._state.value, metric, **self._hyper)

    def group_lr(self, group: int) -> jax.Array:
        return self._state.value.lr[group]

    def __call__(self, count: ArrayLike) -> jax.Array:
        """The learning rate of group 0 now: a plateau policy has no curve in ``count``."""
        return self._state.value.lr[0] + jnp.zeros(jnp.shape(count), jnp.float32)

    @property
    def last_epoch(self) -> Any:
        """Number of metrics seen (an int outside ``jit``)."""
        return concrete(self._state.value.last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """A plain, picklable dict of every counter (numpy values)."""
        return {k: np.asarray(v) for k, v in self._state.value._asdict().items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the counters, with the dtypes and shapes they were made with.

        A dict that does not fit (a missing or extra entry, a wrong type or shape, a
        negative count, a NaN rate, another scheduler's dict) is refused whole: nothing
        is loaded.
        """
        self._state.value = _plateau.restore(
            "ReduceLROnPlateau.load_state_dict", state_dict, self._state.value
        )
