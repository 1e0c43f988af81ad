"""One-cycle (super-convergence) training for JAX: pure schedules and compiled optimizers."""

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from . import family as family
from .finder import LRRangeTestResult as LRRangeTestResult, lr_range_test as lr_range_test
from .optim import (
    ReduceLROnPlateauState as ReduceLROnPlateauState,
    ScheduledState as ScheduledState,
    hyperparams as hyperparams,
    onecycle_adamw as onecycle_adamw,
    onecycle_sgd as onecycle_sgd,
    reduce_lr_on_plateau as reduce_lr_on_plateau,
    scheduled as scheduled,
)
from .schedules import (
    DeepSpeedSchedules as DeepSpeedSchedules,
    constant_lr_schedule as constant_lr_schedule,
    constant_schedule_with_warmup as constant_schedule_with_warmup,
    cosine_annealing_schedule as cosine_annealing_schedule,
    cosine_schedule_with_warmup as cosine_schedule_with_warmup,
    cosine_warm_restarts_schedule as cosine_warm_restarts_schedule,
    cyclic_momentum_schedule as cyclic_momentum_schedule,
    cyclic_schedule as cyclic_schedule,
    deepspeed_onecycle_momentum_schedule as deepspeed_onecycle_momentum_schedule,
    deepspeed_onecycle_schedule as deepspeed_onecycle_schedule,
    exponential_schedule as exponential_schedule,
    from_deepspeed_config as from_deepspeed_config,
    change_horizon as change_horizon,
    get_schedule as get_schedule,
    lambda_schedule as lambda_schedule,
    linear_lr_schedule as linear_lr_schedule,
    linear_schedule_with_warmup as linear_schedule_with_warmup,
    multiplicative_schedule as multiplicative_schedule,
    multistep_schedule as multistep_schedule,
    onecycle_momentum_schedule as onecycle_momentum_schedule,
    onecycle_schedule as onecycle_schedule,
    polynomial_schedule as polynomial_schedule,
    schedule_from_spec as schedule_from_spec,
    sequential_schedule as sequential_schedule,
    step_schedule as step_schedule,
    wsd_schedule as wsd_schedule,
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
        SGDState as SGDState,
        StepCount as StepCount,
        StepLR as StepLR,
    )

# The names of the brainstate side (`jax_onecycle.stateful`). Importing brainstate sets JAX's
# `jax_enable_x64` flag, so `import jax_onecycle` leaves the subpackage alone until one of
# these names is first used.
STATEFUL_NAMES = frozenset(
    {
        "SGD",
        "SGDState",
        "Adam",
        "AdamW",
        "Optimizer",
        "StepCount",
        "LRScheduler",
        "OneCycleLR",
        "StepLR",
        "MultiStepLR",
        "CosineAnnealingLR",
        "CosineAnnealingWarmRestarts",
        "ReduceLROnPlateau",
        "ExponentialLR",
        "PolynomialLR",
        "LinearLR",
        "ConstantLR",
        "CyclicLR",
        "SequentialLR",
        "LambdaLR",
        "MultiplicativeLR",
    }
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

__all__ = [
    "family",
    "SGD",
    "SGDState",
    "Adam",
    "AdamW",
    "Optimizer",
    "StepCount",
    "LRScheduler",
    "scheduled",
    "ScheduledState",
    "hyperparams",
    "OneCycleLR",
    "onecycle_sgd",
    "onecycle_adamw",
    "lr_range_test",
    "LRRangeTestResult",
    "step_schedule",
    "multistep_schedule",
    "cosine_annealing_schedule",
    "cosine_warm_restarts_schedule",
    "linear_schedule_with_warmup",
    "cosine_schedule_with_warmup",
    "constant_schedule_with_warmup",
    "wsd_schedule",
    "StepLR",
    "MultiStepLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "ReduceLROnPlateau",
    "reduce_lr_on_plateau",
    "ReduceLROnPlateauState",
    "deepspeed_onecycle_momentum_schedule",
    "deepspeed_onecycle_schedule",
    "onecycle_momentum_schedule",
    "onecycle_schedule",
    "from_deepspeed_config",
    "DeepSpeedSchedules",
    "get_schedule",
    "change_horizon",
    "schedule_from_spec",
    "exponential_schedule",
    "polynomial_schedule",
    "linear_lr_schedule",
    "constant_lr_schedule",
    "cyclic_schedule",
    "cyclic_momentum_schedule",
    "ExponentialLR",
    "PolynomialLR",
    "LinearLR",
    "ConstantLR",
    "CyclicLR",
    "sequential_schedule",
    "lambda_schedule",
    "multiplicative_schedule",
    "SequentialLR",
    "LambdaLR",
    "MultiplicativeLR",
]
