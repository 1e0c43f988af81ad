"""`CyclicLR`: PyTorch's cyclical learning rate with braintools' name, as a facade.

It follows PyTorch where braintools 0.3 is broken (its ``CyclicLR`` ignores
``step_size_down``) and, with ``cycle_momentum=True``, drives the momentum of an ``SGD``
built on it, as ``OneCycleLR`` does. The curves are `schedules._pytorch_cyclic`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .. import _validate
from ..schedules import _pytorch_cyclic
from ._facade import ScheduleFacade
from ._scheduler import per_group

__all__ = ["CyclicLR"]


class CyclicLR(ScheduleFacade):
    """braintools' ``CyclicLR`` (PyTorch's curve) on `cyclic_schedule`, stepped per batch.

    Cycles each group's rate between ``base_lr`` and ``max_lr`` (triangular, triangular2,
    exp_range or ``scale_fn``). With ``cycle_momentum=True`` an ``SGD`` built on it cycles
    its momentum between ``max_momentum`` and ``base_momentum``, opposite to the rate
    (`cyclic_momentum_schedule`), overriding ``SGD``'s ``momentum=`` as PyTorch does.
    Unlike braintools 0.3, ``step_size_down`` is honoured.

    Args:
      base_lr: lower learning rate, or a list (one per parameter group).
      max_lr: upper learning rate, or a list (one per group, or one for all).
      step_size_up: batches of the rising half.
      step_size_down: batches of the falling half (default ``step_size_up``).
      mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
      gamma: ``exp_range``'s decay per batch.
      scale_fn: custom amplitude scaling of the cycle or batch (``jnp`` operations).
      scale_mode: ``"cycle"`` or ``"iterations"``.
      last_epoch: starting batch (to resume).
      cycle_momentum: also cycle the momentum of an ``SGD`` built on this scheduler.
      base_momentum: momentum at the rate's peak.
      max_momentum: momentum at the rate's trough.

    Examples:
      >>> sched = CyclicLR(base_lr=0.0, max_lr=1.0, step_size_up=2, cycle_momentum=True)
      >>> sched.step()
      >>> sched.get_last_lr(), round(float(sched.current_momentum()), 3)
      ([0.5], 0.85)
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        base_lr: Any = 1e-3,
        max_lr: Any = 1e-2,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[jax.Array], Any] | None = None,
        scale_mode: str = "cycle",
        last_epoch: int = 0,
        *,
        cycle_momentum: bool = False,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
    ):
        fn = "CyclicLR"
        lows = per_group(fn, "base_lr", base_lr, lambda b: b)  # per_group checks each
        highs = per_group(fn, "max_lr", max_lr, lambda m: m)
        self.max_lrs = list(highs)  # as given: one, or one per group
        if len(highs) == 1:
            highs = highs * len(lows)
        if len(highs) != len(lows):
            raise ValueError(
                f"{fn}: `max_lr` must be a float or one per group ({len(lows)}), got {max_lr!r}."
            )
        shape = _pytorch_cyclic.check_shape(
            fn, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode
        )
        schedules = [_pytorch_cyclic.cyclic_curve(lo, hi, shape) for lo, hi in zip(lows, highs)]
        momentum = None
        if _validate.boolean(fn, "cycle_momentum", cycle_momentum):
            low, high = _validate.momentum_range(
                fn, "base_momentum", base_momentum, "max_momentum", max_momentum
            )
            momentum = _pytorch_cyclic.cyclic_curve(high, low, shape)
        super().__init__(schedules, last_epoch, momentum)
        self.step_size_up, self.step_size_down = step_size_up, step_size_down
        self.mode, self.gamma, self.scale_mode = mode, gamma, scale_mode
        self.cycle_momentum = cycle_momentum
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
