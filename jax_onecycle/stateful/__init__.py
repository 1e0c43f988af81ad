"""The brainstate side: schedulers with braintools' surface and the compiled `SGD`.

The only part of the package that imports brainstate (importing it sets JAX's
``jax_enable_x64`` flag as brainstate does; see the docs). ``jax_onecycle`` imports this
subpackage the first time one of its names is used.

- `_scheduler`: `LRScheduler` and the facade machinery every scheduler below stands on;
- `_onecycle`: `OneCycleLR`; `_epoch`: StepLR to ConstantLR; `_cyclic`: `CyclicLR`;
- `_plateau`: `ReduceLROnPlateau`;
- `_optimizer`: `SGD`, holding ``brainstate.ParamState`` weights, one compiled update.
"""

from ._cyclic import CyclicLR as CyclicLR
from ._epoch import (
    ConstantLR as ConstantLR,
    CosineAnnealingLR as CosineAnnealingLR,
    CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts,
    ExponentialLR as ExponentialLR,
    LinearLR as LinearLR,
    MultiStepLR as MultiStepLR,
    PolynomialLR as PolynomialLR,
    StepLR as StepLR,
)
from ._onecycle import OneCycleLR as OneCycleLR
from ._optimizer import SGD as SGD, SGDState as SGDState
from ._plateau import ReduceLROnPlateau as ReduceLROnPlateau
from ._scheduler import LRScheduler as LRScheduler
