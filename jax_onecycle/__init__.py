"""One-cycle (super-convergence) training for JAX: pure schedules and compiled optimizers.

Every public function and class checks its arguments where they are given: one out of range
raises ``ValueError`` or ``TypeError`` naming it, its value and what is allowed, before
anything is traced.
"""

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from . import family as family
from .finder import LRRangeTestResult as LRRangeTestResult, lr_range_test as lr_range_test
from .optim import (
    ReduceLROnPlateauState as ReduceLROnPlateauState,
    ScheduledState as SGDState,  # the state of every optimizer: no brainstate needed
    ScheduledState as ScheduledState,
    hyperparams as hyperparams,
    onecycle_adamw as onecycle_adamw,
    onecycle_sgd as onecycle_sgd,
    reduce_lr_on_plateau as reduce_lr_on_plateau,
    scheduled as scheduled,
)
from .schedules import *  # noqa: F403 - every pure schedule, the family's (`family.__all__`) too
from .schedules import (
    change_horizon as change_horizon,
    deepspeed_onecycle_momentum_schedule as deepspeed_onecycle_momentum_schedule,
    deepspeed_onecycle_schedule as deepspeed_onecycle_schedule,
    onecycle_momentum_schedule as onecycle_momentum_schedule,
    onecycle_schedule as onecycle_schedule,
    schedule_from_spec as schedule_from_spec,
)

if TYPE_CHECKING:  # the brainstate side, imported on first use (see __getattr__)
    from .stateful import (
        SGD as SGD,
        Adam as Adam,
        AdamW as AdamW,
        ConstantLR as ConstantLR,
        CosineAnnealingLR as CosineAnnealingLR,
        CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts,
        CyclicLR as CyclicLR,
        ExponentialLR as ExponentialLR,
        LambdaLR as LambdaLR,
        LinearLR as LinearLR,
        LRScheduler as LRScheduler,
        MultiplicativeLR as MultiplicativeLR,
        MultiStepLR as MultiStepLR,
        OneCycleLR as OneCycleLR,
        Optimizer as Optimizer,
        PolynomialLR as PolynomialLR,
        ReduceLROnPlateau as ReduceLROnPlateau,
        SequentialLR as SequentialLR,
        StepCount as StepCount,
        StepLR as StepLR,
    )


def __getattr__(name: str) -> Any:
    if name in STATEFUL_NAMES:
        from . import stateful

        value = getattr(stateful, name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'jax_onecycle' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | STATEFUL_NAMES)


try:
    __version__ = _metadata.version("jax-onecycle")
except _metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

# Every public name: those of `family` (written once, in `family.__all__`) and the rest.
__all__ = [
    "family",
    "onecycle_schedule",
    "onecycle_momentum_schedule",
    "onecycle_sgd",
    "onecycle_adamw",
    "OneCycleLR",
    "deepspeed_onecycle_schedule",
    "deepspeed_onecycle_momentum_schedule",
    "change_horizon",
    "schedule_from_spec",
    "scheduled",
    "ScheduledState",
    "hyperparams",
    "SGD",
    "SGDState",
    "Adam",
    "AdamW",
    "Optimizer",
    "StepCount",
    "LRScheduler",
    "lr_range_test",
    "LRRangeTestResult",
]
__all__ += family.__all__

# The brainstate side (`jax_onecycle.stateful`): the public names that no import above defines.
# Importing brainstate sets JAX's `jax_enable_x64` flag, so `import jax_onecycle` leaves the
# subpackage alone until one of these names is first used (`__getattr__`); the TYPE_CHECKING
# block lists them for type checkers and the docs.
STATEFUL_NAMES = frozenset(__all__) - set(globals())
