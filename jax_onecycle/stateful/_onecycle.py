"""`OneCycleLR`: the braintools-named one-cycle facade over the pure one-cycle curves.

It validates its own arguments under its own name, builds the learning-rate (and, with
``cycle_momentum=True``, the momentum) curve per parameter group from `schedules._onecycle`,
and hands them to the facade machinery of `_scheduler`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import _validate
from .._validate import AnnealStrategy, Convention
from ..schedules._onecycle import lr_curve, momentum_curve, resolve_cycle
from ._scheduler import ScheduleFacade, as_list

__all__ = ["OneCycleLR"]


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
