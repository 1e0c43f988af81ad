"""Pure optax one-cycle optimizers: ``onecycle_sgd`` and ``onecycle_adamw``.

Each resolves the cycle keywords and the momentum keywords by the one rule of
`schedules._onecycle` (``resolve_cycle``, ``resolve_momentum``), then hands its chain,
`sgd_chain` (PyTorch's SGD) or `adamw_chain` (PyTorch's AdamW), to `scheduled`, which
injects every varying hyperparameter (float32, dtype-safe, one step count); the weight-decay
``mask`` and the clipping norm reach the chain unchanged (static).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import optax
from jax.typing import ArrayLike

from .. import _validate
from .._validate import AnnealStrategy, Convention
from ..schedules._horizon import HorizonChanges
from ..schedules._onecycle import (
    CycleSettings,
    lr_curve,
    momentum_curve,
    resolve_cycle,
    resolve_momentum,
)
from ._scheduled import scheduled

__all__ = ["onecycle_sgd", "onecycle_adamw"]

ScalarOrSchedule = optax.ScalarOrSchedule


def _clip(grad_clip_norm: float | None) -> list[optax.GradientTransformation]:
    """Clipping to the global norm first, or nothing."""
    return [optax.clip_by_global_norm(grad_clip_norm)] if grad_clip_norm is not None else []


def _l2(weight_decay: Any, mask: Any) -> list[optax.GradientTransformation]:
    """PyTorch's L2 penalty added to the gradient, or nothing (no work) for None."""
    return [optax.add_decayed_weights(weight_decay, mask)] if weight_decay is not None else []


def sgd_chain(
    learning_rate: Any,
    momentum: Any,
    weight_decay: Any = None,
    nesterov: bool = False,
    grad_clip_norm: float | None = None,
    mask: Any = None,
) -> optax.GradientTransformation:
    """PyTorch's SGD: ``g += wd * p; buf = m * buf + g; p -= lr * buf`` (or Nesterov's form).

    ``weight_decay=None`` leaves the decay out of the chain (no work in the update);
    ``mask`` limits the decay to the leaves it marks True (as ``optax.adamw``'s ``mask``);
    ``grad_clip_norm`` clips to the global norm first.
    """
    return optax.chain(
        *_clip(grad_clip_norm),
        *_l2(weight_decay, mask),
        optax.trace(decay=momentum, nesterov=nesterov),
        optax.scale_by_learning_rate(learning_rate),
    )


def adamw_chain(
    learning_rate: Any,
    b1: Any,
    b2: Any,
    eps: Any,
    weight_decay: Any,
    grad_clip_norm: float | None = None,
    mask: Any = None,
) -> optax.GradientTransformation:
    """PyTorch's AdamW (decoupled weight decay, bias correction with the current ``b1``)."""
    return optax.chain(
        *_clip(grad_clip_norm),
        optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, mask=mask),
    )


def adam_chain(
    learning_rate: Any, b1: Any, b2: Any, eps: Any, weight_decay: Any = None, mask: Any = None
) -> optax.GradientTransformation:
    """PyTorch's Adam: L2 ``weight_decay`` added to the gradient, then Adam's moments."""
    return optax.chain(*_l2(weight_decay, mask), optax.adam(learning_rate, b1=b1, b2=b2, eps=eps))


def _schedules(
    fn: str,
    max_lr: ArrayLike,
    settings: CycleSettings,
    base_momentum: float,
    max_momentum: float | None,
    cycle_momentum: bool,
) -> tuple[optax.Schedule, optax.ScalarOrSchedule, float]:
    """The cycle's learning rate, its momentum (a schedule, or a fixed momentum) and the
    highest momentum, by the one rule of `resolve_momentum`."""
    m = resolve_momentum(fn, cycle_momentum, base_momentum, max_momentum)
    lr = lr_curve(settings, max_lr, fn=fn)
    return lr, momentum_curve(settings, m.base, m.high) if m.cycle else m.high, m.high


def check_mask(fn: str, mask: Any) -> Any:
    """A weight-decay mask as ``optax.adamw`` takes it: None, a callable, or a pytree of bools."""
    if mask is None or callable(mask):
        return mask
    leaves = jax.tree.leaves(mask)
    allowed = "None, a pytree of bools (True: decayed) or a callable `params -> such a pytree`"
    if not leaves or not all(
        isinstance(v, bool | np.bool_) or getattr(v, "dtype", None) == np.bool_ for v in leaves
    ):
        _validate.fail(fn, "mask", allowed, mask, TypeError)
    return mask


def onecycle_sgd(
    max_lr: ArrayLike,
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: AnnealStrategy = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    pct_final: float | None = None,
    base_momentum: float = 0.85,
    max_momentum: float | None = None,
    cycle_momentum: bool = True,
    nesterov: bool = False,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: Any = None,
    grad_clip_norm: float | None = None,
    convention: Convention = "braintools",
    horizon_changes: HorizonChanges = (),
) -> optax.GradientTransformationExtraArgs:
    """SGD with a one-cycle learning rate and momentum cycled the other way, in one call.

    The learning rate is `onecycle_schedule` and the momentum `onecycle_momentum_schedule`,
    both injected by `scheduled` (float32, every buffer keeps its dtype): the values the last
    update used are in ``state.hyperparams["learning_rate"]`` and ``["momentum"]`` (or
    `hyperparams`); ``weight_decay`` may be a schedule too. The update is PyTorch's SGD
    (``buf = m * buf + g``, ``p -= lr * buf``; weight decay added to the gradient;
    ``nesterov`` as PyTorch), so ``convention="torch"`` trains as ``torch.optim.SGD`` +
    ``OneCycleLR`` does.

    The cycle keywords (``total_steps``, ``epochs``, ``steps_per_epoch``, ``pct_start``,
    ``anneal_strategy``, ``div_factor``, ``final_div_factor``, ``three_phase``,
    ``pct_final``, ``convention``, ``horizon_changes``) are `onecycle_schedule`'s, with its
    names, defaults and checks; ``horizon_changes`` moves the learning rate and the momentum
    alike.

    The momentum keywords follow one rule (`onecycle_adamw` and ``OneCycleLR`` too): with
    ``cycle_momentum=True`` the momentum goes ``max_momentum -> base_momentum ->
    max_momentum`` (``max_momentum=None``: 0.95, PyTorch's default); with
    ``cycle_momentum=False`` it is fixed at ``max_momentum`` (``None``: 0.9, the usual SGD
    momentum and Adam's ``b1``) and ``base_momentum`` is not used. Both lie in [0, 1);
    ``base_momentum <= max_momentum`` is required only when cycling.

    Args:
      max_lr: peak learning rate (scalar or array, possibly traced).
      base_momentum: momentum at the learning-rate peak (cycling only).
      max_momentum: momentum at the start and the end, or the fixed momentum.
      cycle_momentum: cycle the momentum.
      nesterov: Nesterov momentum, as PyTorch computes it.
      weight_decay: L2 penalty added to the gradient (PyTorch's SGD ``weight_decay``).
      mask: which leaves are decayed, as ``optax.adamw``'s ``mask``: a pytree of bools
        (True: decayed) or a callable ``params -> such a pytree``; None decays every leaf.
      grad_clip_norm: clip gradients to this global norm first (None: no clipping).

    Returns:
      An ``optax.GradientTransformation`` whose state has ``hyperparams``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = onecycle_sgd(0.1, total_steps=100, convention="torch")
      >>> params = {"w": jnp.zeros(2)}
      >>> state = opt.init(params)
      >>> updates, state = opt.update({"w": jnp.ones(2)}, state, params)
      >>> round(float(state.hyperparams["momentum"]), 2)
      0.95
    """
    fn = "onecycle_sgd"
    settings = resolve_cycle(fn, locals())
    lr, momentum, high = _schedules(
        fn, max_lr, settings, base_momentum, max_momentum, cycle_momentum
    )
    nesterov = _validate.boolean(fn, "nesterov", nesterov)
    if nesterov and high == 0.0:  # max_momentum 0: the momentum is 0 throughout
        raise ValueError(
            f"{fn}: `nesterov=True` needs a momentum > 0 (as `SGD` and PyTorch), got "
            f"max_momentum={max_momentum!r}."
        )
    decay = _validate.number_or_schedule(fn, "weight_decay", weight_decay, _validate.non_negative)
    return scheduled(
        sgd_chain,
        learning_rate=lr,
        momentum=momentum,
        weight_decay=None if decay == 0.0 else decay,
        nesterov=nesterov,
        grad_clip_norm=clip_norm(fn, grad_clip_norm),
        mask=check_mask(fn, mask),
        static_args=("grad_clip_norm",),  # a callable mask is static in `scheduled` itself
    )


def onecycle_adamw(
    max_lr: ArrayLike,
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: AnnealStrategy = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    pct_final: float | None = None,
    base_momentum: float = 0.85,
    max_momentum: float | None = None,
    cycle_momentum: bool = True,
    b2: ScalarOrSchedule = 0.999,
    eps: float = 1e-8,
    weight_decay: ScalarOrSchedule = 1e-2,
    mask: Any = None,
    grad_clip_norm: float | None = None,
    convention: Convention = "braintools",
    horizon_changes: HorizonChanges = (),
) -> optax.GradientTransformationExtraArgs:
    """AdamW with a one-cycle learning rate and ``b1`` cycled as PyTorch cycles ``betas[0]``.

    ``b1`` is the momentum of `onecycle_sgd`, by the same rule: cycled ``max_momentum ->
    base_momentum -> max_momentum`` (``max_momentum=None``: 0.95), or with
    ``cycle_momentum=False`` fixed at ``max_momentum`` (``None``: 0.9, ``optax.adamw``'s
    ``b1``). It is injected like the learning rate, so ``state.hyperparams["b1"]`` holds the
    value the last update used. Weight decay is decoupled, as in ``torch.optim.AdamW`` (whose
    default 0.01 is the default here). The cycle keywords (``total_steps`` ...
    ``horizon_changes``) are `onecycle_schedule`'s, as for `onecycle_sgd`.

    Args:
      max_lr: peak learning rate.
      base_momentum: ``b1`` at the learning-rate peak (cycling only).
      max_momentum: ``b1`` at the start and the end, or the fixed ``b1``.
      cycle_momentum: cycle ``b1``.
      b2: second-moment decay (a float or a schedule).
      eps: added to the denominator.
      weight_decay: decoupled weight decay (a float or a schedule).
      mask: which leaves are decayed, as ``optax.adamw``'s ``mask`` (see `onecycle_sgd`).
      grad_clip_norm: clip gradients to this global norm first (None: no clipping).

    Returns:
      An ``optax.GradientTransformation`` whose state has ``hyperparams``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = onecycle_adamw(1e-3, total_steps=10, cycle_momentum=False)
      >>> state = opt.init({"w": jnp.zeros(2)})
      >>> sorted(state.hyperparams), round(float(state.hyperparams["b1"]), 4)
      (['b1', 'b2', 'eps', 'learning_rate', 'weight_decay'], 0.9)
    """
    fn = "onecycle_adamw"
    settings = resolve_cycle(fn, locals())
    lr, b1, _ = _schedules(fn, max_lr, settings, base_momentum, max_momentum, cycle_momentum)
    return scheduled(
        adamw_chain,
        learning_rate=lr,
        b1=b1,
        b2=_validate.number_or_schedule(fn, "b2", b2, _validate.momentum),
        eps=_validate.positive(fn, "eps", eps),
        weight_decay=_validate.number_or_schedule(
            fn, "weight_decay", weight_decay, _validate.non_negative
        ),
        grad_clip_norm=clip_norm(fn, grad_clip_norm),
        mask=check_mask(fn, mask),
        static_args=("grad_clip_norm",),  # a callable mask is static in `scheduled` itself
    )


def clip_norm(fn: str, value: Any) -> float | None:
    """A gradient-clipping norm: None (off) or a finite number > 0."""
    return None if value is None else _validate.positive(fn, "grad_clip_norm", value)
