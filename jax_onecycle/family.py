"""The scheduler family people choose one-cycle from, with PyTorch / Hugging Face parity.

``jax_onecycle.family`` gathers the members that are not the one-cycle policy itself:
PyTorch's epoch schedulers and their braintools-named facades, Hugging Face's warmup
schedules and scheduler names, DeepSpeed configs, and the plateau policy. Every name here
is also importable from ``jax_onecycle`` directly; both spellings are the same objects.

Examples:
  >>> from jax_onecycle import family
  >>> import jax_onecycle as jo
  >>> family.step_schedule is jo.step_schedule
  True
  >>> round(float(family.get_schedule("linear", 1.0, num_warmup_steps=2,
  ...                                 num_training_steps=10)(1)), 3)
  0.5
"""

from ._deepspeed_config import (
    DeepSpeedSchedules as DeepSpeedSchedules,
    from_deepspeed_config as from_deepspeed_config,
)
from ._facades import (
    CosineAnnealingLR as CosineAnnealingLR,
    CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts,
    MultiStepLR as MultiStepLR,
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
from ._huggingface import get_schedule as get_schedule
from ._plateau import (
    ReduceLROnPlateauState as ReduceLROnPlateauState,
    reduce_lr_on_plateau as reduce_lr_on_plateau,
)

__all__ = [
    "step_schedule",
    "multistep_schedule",
    "cosine_annealing_schedule",
    "cosine_warm_restarts_schedule",
    "exponential_schedule",
    "polynomial_schedule",
    "linear_lr_schedule",
    "constant_lr_schedule",
    "cyclic_schedule",
    "cyclic_momentum_schedule",
    "linear_schedule_with_warmup",
    "cosine_schedule_with_warmup",
    "constant_schedule_with_warmup",
    "wsd_schedule",
    "get_schedule",
    "from_deepspeed_config",
    "DeepSpeedSchedules",
    "reduce_lr_on_plateau",
    "ReduceLROnPlateauState",
    "StepLR",
    "MultiStepLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "ExponentialLR",
    "PolynomialLR",
    "LinearLR",
    "ConstantLR",
    "CyclicLR",
    "ReduceLROnPlateau",
]
