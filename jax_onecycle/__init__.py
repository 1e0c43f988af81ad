"""One-cycle (super-convergence) training for JAX: pure schedules and compiled optimizers."""

from ._schedules import (
    deepspeed_onecycle_momentum_schedule as deepspeed_onecycle_momentum_schedule,
    deepspeed_onecycle_schedule as deepspeed_onecycle_schedule,
    onecycle_momentum_schedule as onecycle_momentum_schedule,
    onecycle_schedule as onecycle_schedule,
)

__version__ = "0.1.0"

__all__ = [
    "deepspeed_onecycle_momentum_schedule",
    "deepspeed_onecycle_schedule",
    "onecycle_momentum_schedule",
    "onecycle_schedule",
]
