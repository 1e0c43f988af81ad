"""One-cycle (super-convergence) training for JAX: pure schedules and compiled optimizers."""

from ._optimizer import SGD as SGD
from ._scheduler import OneCycleLR as OneCycleLR
from ._schedules import (
    deepspeed_onecycle_momentum_schedule as deepspeed_onecycle_momentum_schedule,
    deepspeed_onecycle_schedule as deepspeed_onecycle_schedule,
    onecycle_momentum_schedule as onecycle_momentum_schedule,
    onecycle_schedule as onecycle_schedule,
)
from ._transforms import onecycle_adamw as onecycle_adamw, onecycle_sgd as onecycle_sgd

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "OneCycleLR",
    "onecycle_sgd",
    "onecycle_adamw",
    "deepspeed_onecycle_momentum_schedule",
    "deepspeed_onecycle_schedule",
    "onecycle_momentum_schedule",
    "onecycle_schedule",
]
