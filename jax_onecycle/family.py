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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and the docs; at run time see __getattr__ below
    from jax_onecycle import (
        ConstantLR as ConstantLR,
        CosineAnnealingLR as CosineAnnealingLR,
        CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts,
        CyclicLR as CyclicLR,
        DeepSpeedSchedules as DeepSpeedSchedules,
        ExponentialLR as ExponentialLR,
        LambdaLR as LambdaLR,
        LinearLR as LinearLR,
        MultiplicativeLR as MultiplicativeLR,
        MultiStepLR as MultiStepLR,
        PolynomialLR as PolynomialLR,
        ReduceLROnPlateau as ReduceLROnPlateau,
        ReduceLROnPlateauState as ReduceLROnPlateauState,
        SequentialLR as SequentialLR,
        StepLR as StepLR,
        constant_lr_schedule as constant_lr_schedule,
        constant_schedule_with_warmup as constant_schedule_with_warmup,
        cosine_annealing_schedule as cosine_annealing_schedule,
        cosine_schedule_with_warmup as cosine_schedule_with_warmup,
        cosine_warm_restarts_schedule as cosine_warm_restarts_schedule,
        cyclic_momentum_schedule as cyclic_momentum_schedule,
        cyclic_schedule as cyclic_schedule,
        exponential_schedule as exponential_schedule,
        from_deepspeed_config as from_deepspeed_config,
        get_schedule as get_schedule,
        lambda_schedule as lambda_schedule,
        linear_lr_schedule as linear_lr_schedule,
        linear_schedule_with_warmup as linear_schedule_with_warmup,
        multiplicative_schedule as multiplicative_schedule,
        multistep_schedule as multistep_schedule,
        polynomial_schedule as polynomial_schedule,
        reduce_lr_on_plateau as reduce_lr_on_plateau,
        sequential_schedule as sequential_schedule,
        step_schedule as step_schedule,
        wsd_schedule as wsd_schedule,
    )

# Each pure schedule beside the braintools-named facade that runs it, then the rest.
__all__ = [
    "step_schedule",
    "StepLR",
    "multistep_schedule",
    "MultiStepLR",
    "cosine_annealing_schedule",
    "CosineAnnealingLR",
    "cosine_warm_restarts_schedule",
    "CosineAnnealingWarmRestarts",
    "exponential_schedule",
    "ExponentialLR",
    "polynomial_schedule",
    "PolynomialLR",
    "linear_lr_schedule",
    "LinearLR",
    "constant_lr_schedule",
    "ConstantLR",
    "cyclic_schedule",
    "cyclic_momentum_schedule",
    "CyclicLR",
    "sequential_schedule",
    "SequentialLR",
    "lambda_schedule",
    "LambdaLR",
    "multiplicative_schedule",
    "MultiplicativeLR",
    "reduce_lr_on_plateau",
    "ReduceLROnPlateauState",
    "ReduceLROnPlateau",
    "linear_schedule_with_warmup",
    "cosine_schedule_with_warmup",
    "constant_schedule_with_warmup",
    "wsd_schedule",
    "get_schedule",
    "from_deepspeed_config",
    "DeepSpeedSchedules",
]


def __getattr__(name: str) -> Any:
    """Each name is the package's own object (``jax_onecycle.X``), looked up on first use."""
    if name in __all__:
        import jax_onecycle

        return getattr(jax_onecycle, name)
    raise AttributeError(f"module 'jax_onecycle.family' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
