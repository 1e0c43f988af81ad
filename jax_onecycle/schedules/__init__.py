"""Pure schedules ``count -> value``: the one-cycle curves and the family they are chosen from.

Each public function returns such a schedule, an ``optax.Schedule`` (`from_deepspeed_config`:
a `DeepSpeedSchedules` of them).

Rooms, by whose curve they reproduce:

- `_engine`: the curve engine every schedule is built on (segments over
  ``optax.join_schedules``, epoch arithmetic, the shapes shared by several references);
- `_onecycle`: the one-cycle learning-rate and momentum curves in their five conventions;
- `_pytorch_epoch`, `_pytorch_cosine`, `_pytorch_cyclic`: PyTorch's ``lr_scheduler`` family;
- `_huggingface` (the warmup schedules) and `_huggingface_names` (`get_schedule`);
- `_deepspeed` (its ``OneCycle``) and `_deepspeed_config` (`from_deepspeed_config`);
- `_horizon`: `change_horizon`, a run's horizon moved while it is in progress.

Nothing here imports brainstate; every public name is re-exported by ``jax_onecycle``.
"""

from ._compose import (
    lambda_schedule as lambda_schedule,
    multiplicative_schedule as multiplicative_schedule,
    sequential_schedule as sequential_schedule,
)
from ._deepspeed import (
    deepspeed_onecycle_momentum_schedule as deepspeed_onecycle_momentum_schedule,
    deepspeed_onecycle_schedule as deepspeed_onecycle_schedule,
)
from ._deepspeed_config import (
    DeepSpeedSchedules as DeepSpeedSchedules,
    from_deepspeed_config as from_deepspeed_config,
)
from ._horizon import change_horizon as change_horizon
from ._huggingface import (
    constant_schedule_with_warmup as constant_schedule_with_warmup,
    cosine_schedule_with_warmup as cosine_schedule_with_warmup,
    linear_schedule_with_warmup as linear_schedule_with_warmup,
    wsd_schedule as wsd_schedule,
)
from ._huggingface_names import get_schedule as get_schedule
from ._onecycle import (
    onecycle_momentum_schedule as onecycle_momentum_schedule,
    onecycle_schedule as onecycle_schedule,
)
from ._pytorch_cosine import (
    cosine_annealing_schedule as cosine_annealing_schedule,
    cosine_warm_restarts_schedule as cosine_warm_restarts_schedule,
)
from ._pytorch_cyclic import (
    cyclic_momentum_schedule as cyclic_momentum_schedule,
    cyclic_schedule as cyclic_schedule,
)
from ._pytorch_epoch import (
    constant_lr_schedule as constant_lr_schedule,
    exponential_schedule as exponential_schedule,
    linear_lr_schedule as linear_lr_schedule,
    multistep_schedule as multistep_schedule,
    polynomial_schedule as polynomial_schedule,
    step_schedule as step_schedule,
)
from ._spec import schedule_from_spec as schedule_from_spec
