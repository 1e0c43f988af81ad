"""One-cycle (super-convergence) training for JAX: pure schedules and compiled optimizers."""

from importlib import metadata as _metadata

from . import family as family
from ._deepspeed import (
    deepspeed_onecycle_momentum_schedule as deepspeed_onecycle_momentum_schedule,
    deepspeed_onecycle_schedule as deepspeed_onecycle_schedule,
)
from ._deepspeed_config import (
    DeepSpeedSchedules as DeepSpeedSchedules,
    from_deepspeed_config as from_deepspeed_config,
)
from ._facades import (
    CosineAnnealingLR as CosineAnnealingLR,
    CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts,
    MultiStepLR as MultiStepLR,
    OneCycleLR as OneCycleLR,
    ReduceLROnPlateau as ReduceLROnPlateau,
    StepLR as StepLR,
)
from ._facades_more import (
    ConstantLR as ConstantLR,
    CyclicLR as CyclicLR,
    ExponentialLR as ExponentialLR,
    LinearLR as LinearLR,
    PolynomialLR as PolynomialLR,
)
from ._family import (
    constant_schedule_with_warmup as constant_schedule_with_warmup,
    cosine_annealing_schedule as cosine_annealing_schedule,
    cosine_schedule_with_warmup as cosine_schedule_with_warmup,
    cosine_warm_restarts_schedule as cosine_warm_restarts_schedule,
    linear_schedule_with_warmup as linear_schedule_with_warmup,
    multistep_schedule as multistep_schedule,
    step_schedule as step_schedule,
    wsd_schedule as wsd_schedule,
)
from ._family_more import (
    constant_lr_schedule as constant_lr_schedule,
    cyclic_momentum_schedule as cyclic_momentum_schedule,
    cyclic_schedule as cyclic_schedule,
    exponential_schedule as exponential_schedule,
    linear_lr_schedule as linear_lr_schedule,
    polynomial_schedule as polynomial_schedule,
)
from ._finder import LRRangeTestResult as LRRangeTestResult, lr_range_test as lr_range_test
from ._huggingface import get_schedule as get_schedule
from ._hyperparams import hyperparams as hyperparams
from ._inject import ScheduledState as ScheduledState, scheduled as scheduled
from ._onecycle import (
    onecycle_momentum_schedule as onecycle_momentum_schedule,
    onecycle_schedule as onecycle_schedule,
)
from ._optimizer import SGD as SGD, SGDState as SGDState
from ._plateau import (
    ReduceLROnPlateauState as ReduceLROnPlateauState,
    reduce_lr_on_plateau as reduce_lr_on_plateau,
)
from ._scheduler import LRScheduler as LRScheduler
from ._transforms import onecycle_adamw as onecycle_adamw, onecycle_sgd as onecycle_sgd

try:
    __version__ = _metadata.version("jax-onecycle")
except _metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "family",
    "SGD",
    "SGDState",
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
]
