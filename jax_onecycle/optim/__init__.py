"""The optax side: injection, the one-cycle optimizers, the plateau transform, `hyperparams`.

- `_scheduled`: `scheduled`, ``inject_hyperparams`` with float32 hyperparameters and buffers
  that keep their dtypes;
- `_onecycle`: `onecycle_sgd` and `onecycle_adamw`, both built on `scheduled`;
- `_plateau`: the pure ReduceLROnPlateau rule and its optax transform `reduce_lr_on_plateau`;
- `_hyperparams`: `hyperparams`, every injected hyperparameter of an optimizer state.

Nothing here imports brainstate.
"""

from ._hyperparams import hyperparams as hyperparams
from ._onecycle import onecycle_adamw as onecycle_adamw, onecycle_sgd as onecycle_sgd
from ._plateau import (
    ReduceLROnPlateauState as ReduceLROnPlateauState,
    reduce_lr_on_plateau as reduce_lr_on_plateau,
)
from ._scheduled import ScheduledState as ScheduledState, scheduled as scheduled
