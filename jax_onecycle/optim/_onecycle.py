"""Pure optax one-cycle optimizers, and the chains every optimizer of the package runs.

`sgd_chain` (PyTorch's SGD) and `adamw_chain` (PyTorch's AdamW) are the only places an
optax chain is assembled: ``onecycle_sgd``, ``onecycle_adamw``, the brainstate ``SGD``
(each parameter group) and ``lr_range_test`` all build on them, and every varying
hyperparameter reaches them through `scheduled` (float32, dtype-safe, one step count).
"""

from __future__ import annotations

from typing import Any

import optax
from jax.typing import ArrayLike

from .. import _validate
from .._validate import AnnealStrategy, Convention
from ..schedules._onecycle import CycleSettings, lr_curve, momentum_curve, resolve_cycle
from ._scheduled import scheduled

__all__ = ["onecycle_sgd", "onecycle_adamw"]

ScalarOrSchedule = optax.ScalarOrSchedule


def sgd_chain(
    learning_rate: Any,
    momentum: Any,
    weight_decay: Any = None,
    nesterov: bool = False,
    grad_clip_norm: float | None = None,
) -> optax.GradientTransformation:
    """PyTorch's SGD: ``g += wd * p; buf = m * buf + g; p -= lr * buf`` (or Nesterov's form).

    ``weight_decay=None`` leaves the decay out of the chain (no work in the update);
    ``grad_clip_norm`` clips to the global norm first.
    """
    return optax.chain(
        *([optax.clip_by_global_norm(grad_clip_norm)] if grad_clip_norm is not None else []),
        *([optax.add_decayed_weights(weight_decay)] if weight_decay is not None else []),
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
) -> optax.GradientTransformation:
    """PyTorch's AdamW (decoupled weight decay, bias correction with the current ``b1``)."""
    return optax.chain(
        *([optax.clip_by_global_norm(grad_clip_norm)] if grad_clip_norm is not None else []),
        optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay),
    )


def _scheduled_or_number(fn: str, name: str, value: Any, check: Any) -> Any:
    """A schedule as it is, or a number through ``check(fn, name, value)``."""
    return value if callable(value) else check(fn, name, value)


def _schedules(
    fn: str,
    max_lr: ArrayLike,
    settings: CycleSettings,
    base_momentum: float,
    max_momentum: float,
    cycle_momentum: bool,
) -> tuple[optax.Schedule, optax.ScalarOrSchedule, float]:
    """The cycle's learning rate, its momentum (a schedule, or ``max_momentum`` held) and
    the highest momentum. Every argument is validated, used or not."""
    cycle_momentum = _validate.boolean(fn, "cycle_momentum", cycle_momentum)
    low, high = _validate.momentum_range(
        fn, "base_momentum", base_momentum, "max_momentum", max_momentum
    )
    lr = lr_curve(settings, max_lr, fn=fn)
    momentum = momentum_curve(settings, low, high) if cycle_momentum else high
    return lr, momentum, high


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
    max_momentum: float = 0.95,
    cycle_momentum: bool = True,
    nesterov: bool = False,
    weight_decay: ScalarOrSchedule = 0.0,
    grad_clip_norm: float | None = None,
    convention: Convention = "braintools",
) -> optax.GradientTransformationExtraArgs:
    """SGD with a one-cycle learning rate and momentum cycled the other way, in one call.

    The learning rate is `onecycle_schedule` and the momentum
    `onecycle_momentum_schedule` (or ``max_momentum`` held fixed when
    ``cycle_momentum=False``), both injected by `scheduled` (float32, every buffer keeps
    its dtype): the values the last update used are in ``state.hyperparams["learning_rate"]``
    and ``["momentum"]`` (or `hyperparams`); ``weight_decay`` may be a schedule too.
    The update is PyTorch's SGD (``buf = m * buf + g``,
    ``p -= lr * buf``; weight decay added to the gradient; ``nesterov`` as PyTorch), so
    ``convention="torch"`` trains as ``torch.optim.SGD`` + ``OneCycleLR`` does.

    Args:
      max_lr: peak learning rate (scalar or array, possibly traced).
      total_steps: steps in the cycle, or ``epochs`` and ``steps_per_epoch``.
      epochs: number of epochs, with ``steps_per_epoch``.
      steps_per_epoch: steps per epoch, with ``epochs``.
      pct_start: fraction of the cycle spent increasing the learning rate.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      div_factor: ``max_lr / initial``.
      final_div_factor: divisor of the final learning rate (see ``convention``).
      three_phase: PyTorch's three-phase variant.
      pct_final: end of the second phase of a three-phase cycle (see `onecycle_schedule`).
      base_momentum: momentum at the learning-rate peak.
      max_momentum: momentum at the start and the end (or the fixed momentum).
      cycle_momentum: cycle the momentum; if False it stays at ``max_momentum``.
      nesterov: Nesterov momentum, as PyTorch computes it.
      weight_decay: L2 penalty added to the gradient (PyTorch's SGD ``weight_decay``).
      grad_clip_norm: clip gradients to this global norm first (None: no clipping).
      convention: ``"braintools"``, ``"torch"``, ``"fastai"`` or ``"optax"``.

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
    settings = resolve_cycle(
        fn, total_steps, epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=pct_start,
        anneal_strategy=anneal_strategy, div_factor=div_factor,
        final_div_factor=final_div_factor, three_phase=three_phase, pct_final=pct_final,
        convention=convention,
    )  # fmt: skip
    lr, momentum, high = _schedules(
        fn, max_lr, settings, base_momentum, max_momentum, cycle_momentum
    )
    nesterov = _validate.boolean(fn, "nesterov", nesterov)
    if nesterov and high == 0.0:  # max_momentum 0: the momentum is 0 throughout
        raise ValueError(
            f"{fn}: `nesterov=True` needs a momentum > 0 (as `SGD` and PyTorch), got "
            f"max_momentum={max_momentum!r}."
        )
    decay = _scheduled_or_number(fn, "weight_decay", weight_decay, _validate.non_negative)
    return scheduled(
        sgd_chain,
        learning_rate=lr,
        momentum=momentum,
        weight_decay=None if decay == 0.0 else decay,
        nesterov=nesterov,
        grad_clip_norm=clip_norm(fn, grad_clip_norm),
        static_args=("grad_clip_norm",),
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
    max_momentum: float = 0.95,
    cycle_momentum: bool = True,
    b2: ScalarOrSchedule = 0.999,
    eps: float = 1e-8,
    weight_decay: ScalarOrSchedule = 1e-2,
    grad_clip_norm: float | None = None,
    convention: Convention = "braintools",
) -> optax.GradientTransformationExtraArgs:
    """AdamW with a one-cycle learning rate and ``b1`` cycled as PyTorch cycles ``betas[0]``.

    ``b1`` follows `onecycle_momentum_schedule` (``max_momentum`` ->
    ``base_momentum`` -> ``max_momentum``), injected like the learning rate, so
    ``state.hyperparams["b1"]`` holds the value the last update used. Weight decay is
    decoupled, as in ``torch.optim.AdamW`` (whose default 0.01 is the default here).

    Args:
      max_lr: peak learning rate.
      total_steps: steps in the cycle, or ``epochs`` and ``steps_per_epoch``.
      epochs: number of epochs, with ``steps_per_epoch``.
      steps_per_epoch: steps per epoch, with ``epochs``.
      pct_start: fraction of the cycle spent increasing the learning rate.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      div_factor: ``max_lr / initial``.
      final_div_factor: divisor of the final learning rate.
      three_phase: PyTorch's three-phase variant.
      pct_final: end of the second phase of a three-phase cycle (see `onecycle_schedule`).
      base_momentum: ``b1`` at the learning-rate peak.
      max_momentum: ``b1`` at the start and the end (or fixed, without cycling).
      cycle_momentum: cycle ``b1``.
      b2: second-moment decay.
      eps: added to the denominator.
      weight_decay: decoupled weight decay.
      grad_clip_norm: clip gradients to this global norm first (None: no clipping).
      convention: ``"braintools"``, ``"torch"``, ``"fastai"`` or ``"optax"``.

    Returns:
      An ``optax.GradientTransformation`` whose state has ``hyperparams``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = onecycle_adamw(1e-3, total_steps=10)
      >>> state = opt.init({"w": jnp.zeros(2)})
      >>> sorted(state.hyperparams)
      ['b1', 'b2', 'eps', 'learning_rate', 'weight_decay']
    """
    fn = "onecycle_adamw"
    settings = resolve_cycle(
        fn, total_steps, epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=pct_start,
        anneal_strategy=anneal_strategy, div_factor=div_factor,
        final_div_factor=final_div_factor, three_phase=three_phase, pct_final=pct_final,
        convention=convention,
    )  # fmt: skip
    lr, b1, _ = _schedules(fn, max_lr, settings, base_momentum, max_momentum, cycle_momentum)
    return scheduled(
        adamw_chain,
        learning_rate=lr,
        b1=b1,
        b2=_scheduled_or_number(fn, "b2", b2, _validate.momentum),
        eps=_validate.positive(fn, "eps", eps),
        weight_decay=_scheduled_or_number(fn, "weight_decay", weight_decay, _validate.non_negative),
        grad_clip_norm=clip_norm(fn, grad_clip_norm),
        static_args=("grad_clip_norm",),
    )


def clip_norm(fn: str, value: Any) -> float | None:
    """A gradient-clipping norm: None (off) or a finite number > 0."""
    return None if value is None else _validate.positive(fn, "grad_clip_norm", value)
