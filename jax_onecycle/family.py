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

from typing import Any

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


def __getattr__(name: str) -> Any:
    """Each name is the package's own object (``jax_onecycle.X``), looked up on first use."""
    if name in __all__:
        import jax_onecycle

        return getattr(jax_onecycle, name)
    raise AttributeError(f"module 'jax_onecycle.family' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
