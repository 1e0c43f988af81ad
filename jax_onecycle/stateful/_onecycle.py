"""`OneCycleLR`: the braintools-named one-cycle facade over the pure one-cycle curves.

It validates its own arguments under its own name, builds the learning-rate (and, with
``cycle_momentum=True``, the momentum) curve per parameter group from `schedules._onecycle`,
applies its horizon changes with `schedules._horizon` (the same function the optax entry
points use, so both forms give the same values), and hands the curves to the facade
machinery of `_facade`. Every value it gives is float32, whatever ``jax_enable_x64``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .. import _validate
from .._validate import AnnealStrategy, Convention
from ..schedules._horizon import (
    HorizonChanges,
    apply_horizon_changes,
    check_change,
    check_horizon_changes,
)
from ..schedules._onecycle import lr_curve, momentum_curve, resolve_cycle, resolve_momentum
from ._facade import ScheduleFacade
from ._scheduler import as_list

__all__ = ["OneCycleLR"]


def _float32(curve: Callable[[ArrayLike], Any]) -> Callable[[ArrayLike], jax.Array]:
    """``curve`` rounded to float32 (a hyperparameter is float32 whatever the x64 flag)."""
    return lambda count: jnp.asarray(curve(count), jnp.float32)


def _changes_record(changes: Sequence[tuple[int, int]]) -> jax.Array | None:
    """The horizon changes as the record State keeps them: none while there are none (a
    plain run's compiled update passes no extra leaf), else a device array whose shape
    grows with each change (a new trace of the compiled update, once per change)."""
    return jnp.asarray(changes, jnp.int32).reshape(len(changes), 2) if changes else None


class OneCycleLR(ScheduleFacade):
    """braintools' ``OneCycleLR``, on `onecycle_schedule`, with momentum that works.

    ``step()`` after each batch advances ``last_epoch``; ``get_lr()`` is the schedule at
    ``last_epoch``, one value per parameter group (``max_lr`` as a list). Passed as
    ``SGD(lr=scheduler)`` it drives the learning rate inside the compiled update, and
    with ``cycle_momentum=True`` the momentum too (overriding ``SGD``'s ``momentum=``,
    as PyTorch does). Called as ``scheduler(count)`` it is an optax schedule. Values are
    float32.

    `change_horizon` moves the end of the run from the current step on (the curve stretched
    or squeezed, continuous; see `jax_onecycle.change_horizon`); ``horizon_changes`` lists the
    changes made so far (the constructor's first), ``total_steps`` stays the constructor's.
    ``state_dict()`` records the settings and the changes: a fresh ``OneCycleLR`` with the
    original arguments resumes on the changed curve after ``load_state_dict``.

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
      max_momentum: momentum at the start and the end (None: 0.95); the momentum keywords
        are used only with ``cycle_momentum=True`` (see `onecycle_sgd`).
      convention: ``"braintools"``, ``"torch"``, ``"fastai"`` or ``"optax"``.
      horizon_changes: ``(at_step, new_total_steps)`` pairs applied in order, as for
        `onecycle_schedule` (a setting: a state dict saved with others is refused).

    Examples:
      >>> sched = OneCycleLR(max_lr=0.1, total_steps=100)
      >>> round(sched.get_lr()[0], 6)
      0.004
      >>> for _ in range(30):
      ...     sched.step()
      >>> sched.last_epoch, round(sched.get_last_lr()[0], 6)
      (30, 0.1)
      >>> sched.change_horizon(150)  # the run now ends at step 150
      >>> sched.horizon_changes, sched.total_steps, float(sched(150)) == float(sched(1000))
      (((30, 150),), 100, True)
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
        max_momentum: float | None = None,
        convention: Convention = "braintools",
        horizon_changes: HorizonChanges = (),
    ):
        fn = "OneCycleLR"
        self.max_lrs = as_list(fn, "max_lr", max_lr)
        settings = resolve_cycle(fn, locals(), horizon_changes=())  # changes: checked below
        momentum = resolve_momentum(fn, cycle_momentum, base_momentum, max_momentum)
        cycle_momentum, low, high = momentum.cycle, momentum.base, momentum.high
        changes = check_horizon_changes(fn, horizon_changes, settings.total_steps)
        # The curves as built, before any change of horizon: every change is applied to them.
        self._curves = [lr_curve(settings, m, fn=fn) for m in self.max_lrs]
        self._momentum_curve = momentum_curve(settings, low, high) if cycle_momentum else None
        self._initial_changes = changes
        self.total_steps = settings.total_steps
        self._changes = changes
        lrs, momentum = self._changed_curves()
        super().__init__(lrs, last_epoch, momentum)
        # The changes in the record State: its shape changes with each change, so a compiled
        # update (brainstate.transform.jit) that read this scheduler is traced once more and
        # takes the new curve; between changes nothing recompiles.
        self._set_curve_record("horizon", _changes_record(changes))
        self.pct_start = settings.pct_start
        self.anneal_strategy = settings.anneal_strategy
        self.div_factor = settings.div_factor
        self.final_div_factor = settings.final_div_factor
        self.three_phase = settings.three_phase  # the curve's: optax linear has three phases
        self.pct_final = settings.pct_final
        self.cycle_momentum = cycle_momentum
        self.convention = settings.convention

    # --- the horizon ---------------------------------------------------------------------
    @property
    def horizon_changes(self) -> tuple[tuple[int, int], ...]:
        """Every ``(at_step, new_total_steps)`` change, in order (the constructor's first)."""
        return self._changes

    def _changed_curves(self) -> tuple[list[Any], Any]:
        total, changes = self.total_steps, self._changes
        lrs = [_float32(apply_horizon_changes(c, total, changes)) for c in self._curves]
        momentum = self._momentum_curve
        if momentum is not None:
            momentum = _float32(apply_horizon_changes(momentum, total, changes))
        return lrs, momentum

    def _set_changes(self, changes: tuple[tuple[int, int], ...]) -> None:
        self._changes = changes
        self._schedules, self._momentum_schedule = self._changed_curves()
        self._set_curve_record("horizon", _changes_record(changes))

    def change_horizon(self, new_total_steps: int) -> None:
        """End the run at ``new_total_steps`` instead, from the current ``last_epoch`` on.

        The learning rate (and the momentum) so far is kept and the rest of the curve is
        stretched or squeezed onto the steps that remain: `jax_onecycle.change_horizon` at
        ``at_step = last_epoch`` of the current total (``total_steps``, or the last change's
        ``new_total_steps``). An ``SGD`` built on this scheduler follows at its next update
        (one new trace of a compiled update). Call it outside ``jit``.

        Raises:
          ValueError, TypeError: for ``new_total_steps <= last_epoch``, a non-integer, a
            run already at or past its end, or a call inside ``jit``.
        """
        fn = f"{type(self).__name__}.change_horizon"
        at = self._epoch
        if _validate.is_tracer(at):
            raise TypeError(f"{fn}: call it outside `jit` (`last_epoch` is traced here).")
        total = self._changes[-1][1] if self._changes else self.total_steps
        total_name = "horizon_changes[-1][1]" if self._changes else "total_steps"
        a, _, n = check_change(
            fn, int(np.asarray(at)), total, new_total_steps,
            names=("last_epoch", total_name, "new_total_steps"),
        )  # fmt: skip
        if self._changes and a < self._changes[-1][0]:
            _validate.fail(
                fn,
                "last_epoch",
                f">= the last change's at_step {self._changes[-1][0]} "
                "(a change cannot go back in time)",
                a,
            )
        self._set_changes((*self._changes, (a, n)))

    # --- saved state ---------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        """``{"horizon_changes": [[at_step, new_total_steps], ...]}``, the constructor's first."""
        return {"horizon_changes": [list(c) for c in self._changes]}

    def restore_extra(self, fn: str, entries: Mapping[str, Any]) -> Callable[[], None]:
        """Check the saved changes (they extend the constructor's) and return their loader."""
        saved = entries["horizon_changes"]
        if isinstance(saved, np.ndarray | jax.Array):  # read back from an array file
            saved = np.asarray(saved).tolist()
        name = "state_dict['horizon_changes']"
        try:
            changes = check_horizon_changes(fn, saved, self.total_steps)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{err} (in `{name}`) Nothing was loaded.") from None
        initial = self._initial_changes
        if changes[: len(initial)] != initial:
            _validate.fail(
                fn, name, f"changes that begin with this scheduler's own {list(initial)}", saved
            )
        return lambda: self._set_changes(changes)
