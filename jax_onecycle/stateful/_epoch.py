"""PyTorch's epoch schedulers with braintools' names: StepLR to ConstantLR.

Each is a `ScheduleFacade` (`_facade`): ``last_epoch`` in an int32 State, the curve a
pure schedule per parameter group (`schedules._pytorch_epoch`, `schedules._pytorch_cosine`),
usable as ``SGD(lr=...)``. Arguments are checked under the facade's own name and spelling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import optax

from .. import _validate
from ..schedules import _pytorch_epoch as epoch
from ..schedules._engine import rate_array
from ..schedules._pytorch_cosine import cosine_annealing_curve, warm_restarts_curve
from ._facade import ScheduleFacade
from ._scheduler import StepCount, concrete, per_group

__all__ = [
    "StepLR",
    "MultiStepLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "ExponentialLR",
    "PolynomialLR",
    "LinearLR",
    "ConstantLR",
]


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
        factor = epoch.check_gamma(fn, gamma)
        super().__init__(
            per_group(fn, "base_lr", base_lr, lambda b: epoch.decay_curve(b, size, factor, 1)),
            last_epoch,
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
        factor = epoch.check_gamma(fn, gamma)
        super().__init__(
            per_group(fn, "base_lr", base_lr, lambda b: epoch.multistep_curve(b, marks, factor, 1)),
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
        low = rate_array(_validate.learning_rate(fn, "eta_min", eta_min))

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

    ``T_cur`` (epochs since the last restart) and ``T_i`` (the current cycle's length) are
    read as braintools reads them (``T_cur.value``), derived from ``last_epoch``.

    Examples:
      >>> sched = CosineAnnealingWarmRestarts(base_lr=1.0, T_0=2, T_mult=2)
      >>> [round(sched(e).item(), 3) for e in range(4)]
      [1.0, 0.5, 1.0, 0.854]
      >>> sched.step(3); sched.T_cur.value, sched.T_i.value
      (1, 4)
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
        low = _validate.learning_rate(fn, "eta_min", eta_min)
        super().__init__(
            per_group(
                fn, "base_lr", base_lr, lambda b: warm_restarts_curve(b, t_0, t_mult, low, 1)
            ),
            last_epoch,
        )
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min

    def _cycle(self) -> tuple[int, int]:
        """``(T_cur, T_i)`` now: epochs since the last restart, and this cycle's length."""
        epoch = concrete(self._epoch)
        if not isinstance(epoch, int):
            raise TypeError(
                "CosineAnnealingWarmRestarts: `T_cur` and `T_i` are read outside `jit` "
                "(inside, use `last_epoch`)."
            )
        if self.T_mult == 1:  # equal cycles: no loop over every one so far
            return epoch % self.T_0, self.T_0
        length = self.T_0
        while epoch >= length:
            epoch -= length
            length *= self.T_mult
        return epoch, length

    @property
    def T_cur(self) -> StepCount:
        """braintools' ``T_cur``: epochs since the last restart (``T_cur.value`` too)."""
        return StepCount(self._cycle()[0])

    @property
    def T_i(self) -> StepCount:
        """braintools' ``T_i``: the length of the current cycle, in epochs."""
        return StepCount(self._cycle()[1])


class ExponentialLR(ScheduleFacade):
    """braintools' ``ExponentialLR`` on `exponential_schedule`: ``base_lr * gamma ** epoch``.

    Args:
      base_lr: initial learning rate, or a list (one per parameter group).
      gamma: decay per ``step()``, in (0, 1].
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = ExponentialLR(base_lr=1.0, gamma=0.5)
      >>> sched.step(); sched.step()
      >>> sched.get_last_lr(), [sched(e).item() for e in range(3)]
      ([0.25], [1.0, 0.5, 0.25])
    """

    __module__ = "jax_onecycle"

    def __init__(self, base_lr: Any = 1e-3, gamma: float = 0.95, last_epoch: int = 0):
        fn = "ExponentialLR"
        factor = epoch.check_gamma(fn, gamma)
        super().__init__(
            per_group(fn, "base_lr", base_lr, lambda b: epoch.decay_curve(b, 1, factor, 1)),
            last_epoch,
        )
        self.gamma = gamma


class PolynomialLR(ScheduleFacade):
    """braintools' ``PolynomialLR`` on `polynomial_schedule`.

    ``base_lr * (1 - min(epoch, total_iters) / total_iters) ** power``.

    Args:
      base_lr: initial learning rate, or a list (one per parameter group).
      total_iters: epochs of the decay.
      power: exponent of the decay (>= 0).
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = PolynomialLR(base_lr=1.0, total_iters=2)
      >>> [sched(e).item() for e in range(4)]
      [1.0, 0.5, 0.0, 0.0]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self, base_lr: Any = 1e-3, total_iters: int = 5, power: float = 1.0, last_epoch: int = 0
    ):
        fn = "PolynomialLR"
        total, p = epoch.check_polynomial(fn, total_iters, power)
        super().__init__(
            per_group(fn, "base_lr", base_lr, lambda b: epoch.polynomial_curve(b, total, p, 1)),
            last_epoch,
        )
        self.total_iters, self.power = total_iters, power


class LinearLR(ScheduleFacade):
    """braintools' ``LinearLR`` on `linear_lr_schedule`: factor ``start_factor`` to ``end_factor``.

    Args:
      base_lr: learning rate the factors multiply, or a list (one per parameter group).
      start_factor: factor at epoch 0, in (0, 1].
      end_factor: factor from ``total_iters`` on, in [0, 1].
      total_iters: epochs of the ramp (>= 1).
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = LinearLR(base_lr=1.0, start_factor=0.5, total_iters=2)
      >>> [sched(e).item() for e in range(4)]
      [0.5, 0.75, 1.0, 1.0]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        base_lr: Any = 1e-3,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = 0,
    ):
        fn = "LinearLR"
        start, end, total = epoch.check_linear(fn, start_factor, end_factor, total_iters)
        super().__init__(
            per_group(
                fn, "base_lr", base_lr, lambda b: epoch.linear_factor_curve(b, start, end, total, 1)
            ),
            last_epoch,
        )
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters


class ConstantLR(ScheduleFacade):
    """braintools' ``ConstantLR`` on `constant_lr_schedule`: ``factor * base_lr``, then ``base_lr``.

    Args:
      base_lr: learning rate after ``total_iters`` epochs, or a list (one per group).
      factor: multiplier before that, in [0, 1].
      total_iters: epochs at the reduced rate (>= 1).
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = ConstantLR(base_lr=1.0, factor=0.5, total_iters=2)
      >>> [sched(e).item() for e in range(4)]
      [0.5, 0.5, 1.0, 1.0]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        base_lr: Any = 1e-3,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = 0,
    ):
        fn = "ConstantLR"
        scale, total = epoch.check_constant(fn, factor, total_iters)
        super().__init__(
            per_group(
                fn, "base_lr", base_lr, lambda b: epoch.constant_factor_curve(b, scale, total, 1)
            ),
            last_epoch,
        )
        self.factor, self.total_iters = factor, total_iters
