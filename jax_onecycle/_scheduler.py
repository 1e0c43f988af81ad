"""Stateful, braintools-compatible scheduler facades over the pure schedules.

A facade keeps one counter, ``last_epoch``, in a brainstate ``State`` (int32, made up
front), and evaluates pure schedules at it: no curve maths lives here. Because the
counter is a State, ``scheduler.step()`` works outside and inside
``brainstate.transform.jit``, and an ``SGD`` built on the facade reads the current
learning rate inside its compiled update without ever recompiling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from . import _validate
from ._schedules import onecycle_momentum_schedule, onecycle_schedule

__all__ = ["OneCycleLR"]


def _concrete(value: Any) -> Any:
    """A Python number when ``value`` is concrete, else ``value`` itself (a tracer)."""
    if isinstance(value, jax.core.Tracer):
        return value
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value


def _as_list(fn: str, name: str, value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        if len(value) == 0:
            raise ValueError(f"{fn}: `{name}` must not be an empty list, got {value!r}.")
        return list(value)
    return [value]


class _Scheduler(brainstate.graph.Node):
    """Facade machinery: a ``last_epoch`` State and one learning rate per parameter group.

    Subclasses implement ``_lr(group, epoch)`` (positive learning rate of ``group`` at
    ``epoch``, jnp only) and may implement ``_momentum(epoch)``.
    """

    def __init__(self, num_groups: int, last_epoch: int = 0):
        fn = type(self).__name__
        last_epoch = _validate.integer(fn, "last_epoch", last_epoch, minimum=0)
        self._num_groups = num_groups
        self._epoch = brainstate.LongTermState(jnp.asarray(last_epoch, dtype=jnp.int32))

    # --- subclass hooks -----------------------------------------------------------
    def _lr(self, group: int, epoch: jax.Array) -> jax.Array:
        raise NotImplementedError

    def _momentum(self, epoch: jax.Array) -> jax.Array | None:
        return None

    # --- what SGD reads inside its compiled update ---------------------------------
    def _group_lr(self, group: int) -> jax.Array:
        return self._lr(group, self._epoch.value)

    def _current_momentum(self) -> jax.Array | None:
        return self._momentum(self._epoch.value)

    # --- braintools / PyTorch surface ---------------------------------------------
    @property
    def last_epoch(self) -> Any:
        """Number of ``step()`` calls so far (an int outside ``jit``)."""
        return _concrete(self._epoch.value)

    @last_epoch.setter
    def last_epoch(self, value: Any) -> None:
        self._epoch.value = jnp.asarray(value, dtype=jnp.int32)

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to ``epoch``); works inside ``brainstate.transform.jit``."""
        if epoch is None:
            self._epoch.value = self._epoch.value + jnp.int32(1)
        else:
            self._epoch.value = jnp.asarray(epoch, dtype=jnp.int32)

    def get_lr(self) -> list[Any]:
        """Learning rate of each parameter group at ``last_epoch``."""
        return [_concrete(self._group_lr(g)) for g in range(self._num_groups)]

    def get_last_lr(self) -> list[Any]:
        """The learning rates the next update uses (PyTorch's ``get_last_lr``)."""
        return self.get_lr()

    def __call__(self, count: ArrayLike) -> jax.Array:
        """The positive learning rate of group 0 at ``count``: an optax schedule."""
        return self._lr(0, jnp.asarray(count))

    def state_dict(self) -> dict[str, Any]:
        """A plain, picklable dict: ``{"last_epoch": int}``."""
        return {"last_epoch": int(np.asarray(self._epoch.value))}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``last_epoch`` (same dtype: nothing compiled is invalidated)."""
        self.last_epoch = _validate.integer(
            f"{type(self).__name__}.load_state_dict", "state_dict['last_epoch']",
            state_dict["last_epoch"], minimum=0,
        )


class _ScheduleFacade(_Scheduler):
    """A facade over pure schedules: one per group, plus an optional momentum schedule."""

    def __init__(
        self,
        schedules: Sequence[optax.Schedule],
        last_epoch: int = 0,
        momentum: optax.Schedule | None = None,
    ):
        super().__init__(len(schedules), last_epoch)
        self._schedules = list(schedules)
        self._momentum_schedule = momentum

    def _lr(self, group: int, epoch: jax.Array) -> jax.Array:
        return self._schedules[group](epoch)

    def _momentum(self, epoch: jax.Array) -> jax.Array | None:
        if self._momentum_schedule is None:
            return None
        return self._momentum_schedule(epoch)


class OneCycleLR(_ScheduleFacade):
    """braintools' ``OneCycleLR``, on :func:`onecycle_schedule`, with momentum that works.

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
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        last_epoch: int = 0,
        *,
        three_phase: bool = False,
        cycle_momentum: bool = False,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        convention: str = "braintools",
    ):
        fn = "OneCycleLR"
        self.max_lrs = [
            _validate.learning_rate(fn, "max_lr", m) for m in _as_list(fn, "max_lr", max_lr)
        ]
        shared = dict(epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=pct_start,
                      anneal_strategy=anneal_strategy, three_phase=three_phase,
                      convention=convention)
        schedules = [
            onecycle_schedule(m, total_steps, div_factor=div_factor,
                              final_div_factor=final_div_factor, **shared)
            for m in self.max_lrs
        ]
        momentum = None
        if _validate.boolean(fn, "cycle_momentum", cycle_momentum):
            momentum = onecycle_momentum_schedule(
                total_steps, base_momentum=base_momentum, max_momentum=max_momentum, **shared
            )
        super().__init__(schedules, last_epoch, momentum)
        self.total_steps = _validate.total_steps(fn, total_steps, epochs, steps_per_epoch)
        self.pct_start = float(pct_start)
        self.anneal_strategy = anneal_strategy
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)
        self.three_phase = three_phase
        self.cycle_momentum = cycle_momentum
        self.convention = convention
