"""Pure optax one-cycle optimizers, and the one function that builds every optax chain.

``_make_tx`` is the only place an optax chain is assembled: ``onecycle_sgd``,
``onecycle_adamw``, the brainstate ``SGD`` (each parameter group) and its resume path
all call it, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optax
from jax.typing import ArrayLike

from . import _validate
from ._schedules import _onecycle_pair

__all__ = ["onecycle_sgd", "onecycle_adamw"]


def _sgd(
    learning_rate: Any,
    momentum: Any,
    weight_decay: Any,
    nesterov: bool,
    grad_clip_norm: float | None,
) -> optax.GradientTransformation:
    """PyTorch's SGD: ``g += wd * p; buf = m * buf + g; p -= lr * buf`` (or Nesterov's form)."""
    return optax.chain(
        *([optax.clip_by_global_norm(grad_clip_norm)] if grad_clip_norm is not None else []),
        *([optax.add_decayed_weights(weight_decay)] if weight_decay else []),
        optax.trace(decay=momentum, nesterov=nesterov),
        optax.scale_by_learning_rate(learning_rate),
    )


def _adamw(
    learning_rate: Any,
    b1: Any,
    b2: Any,
    eps: Any,
    weight_decay: Any,
    grad_clip_norm: float | None,
) -> optax.GradientTransformation:
    """PyTorch's AdamW (decoupled weight decay, bias correction with the current ``b1``)."""
    return optax.chain(
        *([optax.clip_by_global_norm(grad_clip_norm)] if grad_clip_norm is not None else []),
        optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay),
    )


def _make_tx(
    learning_rate: optax.ScalarOrSchedule | Sequence[optax.ScalarOrSchedule],
    momentum: optax.ScalarOrSchedule,
    *,
    labels: Any = None,
    algorithm: str = "sgd",
    nesterov: bool = False,
    weight_decay: float = 0.0,
    grad_clip_norm: float | None = None,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """The single builder of every optax chain of this package.

    The learning rate and the momentum (``b1`` for AdamW) go through
    ``optax.inject_hyperparams``: they sit in ``state.hyperparams``, schedules are
    evaluated inside the compiled update, and changing a numeric value in the state
    never recompiles. With ``labels`` (a pytree prefix of the parameters giving each
    leaf its group index), ``learning_rate`` holds one entry per parameter group and
    the groups are one ``optax.partition`` of the same algorithm (a single group needs
    none); gradient clipping then applies to the global norm over all groups, first.
    """

    def group(lr: optax.ScalarOrSchedule, clip: float | None) -> optax.GradientTransformation:
        if algorithm == "sgd":
            return optax.inject_hyperparams(
                _sgd, static_args=("weight_decay", "nesterov", "grad_clip_norm")
            )(
                learning_rate=lr, momentum=momentum, weight_decay=weight_decay,
                nesterov=nesterov, grad_clip_norm=clip,
            )
        return optax.inject_hyperparams(_adamw, static_args=("grad_clip_norm",))(
            learning_rate=lr, b1=momentum, b2=b2, eps=eps,
            weight_decay=weight_decay, grad_clip_norm=clip,
        )

    if labels is None:
        return group(learning_rate, grad_clip_norm)
    if len(learning_rate) == 1:  # one group: no partition, one pytree level less per call
        tx = group(learning_rate[0], None)
    else:
        tx = optax.partition({g: group(lr, None) for g, lr in enumerate(learning_rate)}, labels)
    if grad_clip_norm is not None:
        tx = optax.chain(optax.clip_by_global_norm(grad_clip_norm), tx)
    return tx


def _schedules(
    fn: str,
    max_lr: ArrayLike,
    total_steps: int | None,
    cycle: dict[str, Any],
    base_momentum: float,
    max_momentum: float,
    cycle_momentum: bool,
) -> tuple[optax.Schedule, optax.ScalarOrSchedule]:
    cycle_momentum = _validate.boolean(fn, "cycle_momentum", cycle_momentum)
    (lr,), momentum = _onecycle_pair(
        [max_lr], total_steps, cycle_momentum=cycle_momentum,
        base_momentum=base_momentum, max_momentum=max_momentum, **cycle,
    )
    if momentum is None:
        momentum = _validate.momentum(fn, "max_momentum", max_momentum)
    return lr, momentum


def onecycle_sgd(
    max_lr: ArrayLike,
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    cycle_momentum: bool = True,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    grad_clip_norm: float | None = None,
    convention: str = "braintools",
) -> optax.GradientTransformation:
    """SGD with a one-cycle learning rate and momentum cycled the other way, in one call.

    The learning rate is `onecycle_schedule` and the momentum
    `onecycle_momentum_schedule` (or ``max_momentum`` held fixed when
    ``cycle_momentum=False``), both injected with ``optax.inject_hyperparams``: the
    values the last update used are in ``state.hyperparams["learning_rate"]`` and
    ``["momentum"]``. The update is PyTorch's SGD (``buf = m * buf + g``,
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
    cycle = dict(epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=pct_start,
                 anneal_strategy=anneal_strategy, div_factor=div_factor,
                 final_div_factor=final_div_factor, three_phase=three_phase,
                 convention=convention)
    lr, momentum = _schedules(fn, max_lr, total_steps, cycle, base_momentum, max_momentum,
                              cycle_momentum)
    return _make_tx(
        lr, momentum, algorithm="sgd",
        nesterov=_validate.boolean(fn, "nesterov", nesterov),
        weight_decay=_validate.non_negative(fn, "weight_decay", weight_decay),
        grad_clip_norm=_clip_norm(fn, grad_clip_norm),
    )


def onecycle_adamw(
    max_lr: ArrayLike,
    total_steps: int | None = None,
    *,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    cycle_momentum: bool = True,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    grad_clip_norm: float | None = None,
    convention: str = "braintools",
) -> optax.GradientTransformation:
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
    cycle = dict(epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=pct_start,
                 anneal_strategy=anneal_strategy, div_factor=div_factor,
                 final_div_factor=final_div_factor, three_phase=three_phase,
                 convention=convention)
    lr, b1 = _schedules(fn, max_lr, total_steps, cycle, base_momentum, max_momentum,
                        cycle_momentum)
    b2 = _validate.momentum(fn, "b2", b2)
    return _make_tx(
        lr, b1, algorithm="adamw", b2=b2, eps=_validate.positive(fn, "eps", eps),
        weight_decay=_validate.non_negative(fn, "weight_decay", weight_decay),
        grad_clip_norm=_clip_norm(fn, grad_clip_norm),
    )


def _clip_norm(fn: str, value: Any) -> float | None:
    return None if value is None else _validate.positive(fn, "grad_clip_norm", value)
