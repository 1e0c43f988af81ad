"""The brainstate side: schedulers with braintools' surface and the compiled optimizers.

The only part of the package that imports brainstate; ``jax_onecycle`` imports this
subpackage the first time one of its names is used. brainstate's own first import runs
``brainstate.environ.set(precision=32)``, which sets ``jax_enable_x64`` to False; to keep
float64, call ``brainstate.environ.set(precision=64)`` after it (docs/api.md, "Importing:
brainstate and 64-bit mode").

- `_scheduler`: `LRScheduler`, the base every scheduler below stands on; `_facade`:
  `ScheduleFacade`, the machinery of the facades over pure schedules;
- `_onecycle`: `OneCycleLR`; `_epoch`: StepLR to ConstantLR; `_cyclic`: `CyclicLR`;
- `_plateau`: `ReduceLROnPlateau`; `_compose`: `SequentialLR`, `LambdaLR`, `MultiplicativeLR`;
- `_optimizer`: `Optimizer`, any `scheduled` optax optimizer on ``brainstate.ParamState``
  weights, one compiled update; `_groups`: its weights and parameter groups;
- `_named`: `SGD`, `Adam`, `AdamW` (braintools' names and defaults) on it;
- `_state_io`: what all of them save and restore, and the one checker of it.
"""

from ..optim import ScheduledState as SGDState  # noqa: F401 - the state of every optimizer
from ._compose import (
    LambdaLR as LambdaLR,
    MultiplicativeLR as MultiplicativeLR,
    SequentialLR as SequentialLR,
)
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
from ._named import SGD as SGD, Adam as Adam, AdamW as AdamW
from ._onecycle import OneCycleLR as OneCycleLR
from ._optimizer import Optimizer as Optimizer
from ._plateau import ReduceLROnPlateau as ReduceLROnPlateau
from ._scheduler import LRScheduler as LRScheduler, StepCount as StepCount
