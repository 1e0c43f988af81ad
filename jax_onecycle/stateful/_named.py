"""`SGD`, `Adam` and `AdamW`: braintools' optimizers by name, each a chain on `Optimizer`.

Each class checks its own arguments under its own name (braintools' names and defaults),
then hands `Optimizer` the optax chain of one parameter group and the name that chain
gives the momentum a scheduler with ``cycle_momentum=True`` cycles (``momentum`` for SGD,
``b1`` for Adam and AdamW, as PyTorch cycles ``betas[0]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .. import _validate
from ..optim._onecycle import adam_chain, adamw_chain, check_mask, sgd_chain
from ._optimizer import LR, Optimizer
from ._scheduler import LRScheduler, concrete

__all__ = ["SGD", "Adam", "AdamW"]


def _mask(fn: str, mask: Any, decay: Any) -> dict[str, Any]:
    """``mask`` as a static keyword of the chain (none when None), as ``optax.adamw`` takes it.

    A pytree of bools shaped like the registered weights, or a callable ``weights -> that
    pytree`` (with several groups it is called on each group's weights: pass a callable).
    """
    if mask is None:
        return {}
    if not callable(decay) and decay == 0.0:
        raise ValueError(f"{fn}: `mask` chooses what `weight_decay` applies to; it is 0.0 here.")
    if not callable(mask):
        tree = check_mask(fn, mask)
        # the chain is first built on no weights, before any are registered
        return {"mask": lambda params: tree if jax.tree.leaves(params) else params}
    return {"mask": mask}


def _betas(fn: str, betas: Any) -> tuple[float, float]:
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        _validate.fail(fn, "betas", "a pair (b1, b2) of floats in [0, 1)", betas, TypeError)
    return _validate.momentum(fn, "betas[0]", betas[0]), _validate.momentum(
        fn, "betas[1]", betas[1]
    )


class SGD(Optimizer):
    """Stochastic gradient descent in braintools' workflow, compiled end to end.

    ``register_trainable_weights(model.states(brainstate.ParamState))``, then
    ``update(grads)`` (alias ``step``) inside ``brainstate.transform.jit``. The update is
    PyTorch's SGD (``buf = m * buf + g``, ``p -= lr * buf``, weight decay added to the
    gradient, ``nesterov`` as PyTorch). The learning rate and momentum are computed from the
    one step count (or read from the scheduler) inside the compiled update, as float32
    numbers: changing them never recompiles, and bf16 weights keep bf16 buffers.

    Args:
      lr: a float, a schedule ``count -> lr`` (driven by the optimizer's own step count
        inside the compiled update), or a scheduler such as `OneCycleLR` (driven by
        ``scheduler.step()``, as in braintools; with ``cycle_momentum=True`` it also sets
        the momentum of the groups it drives).
      momentum: a float in [0, 1) or a schedule ``count -> momentum``.
      nesterov: Nesterov momentum (needs ``momentum > 0``).
      weight_decay: L2 penalty added to the gradient: a float >= 0 or a schedule.
      grad_clip_norm: clip gradients to this global norm (over every group) first.
      mask: which weights ``weight_decay`` applies to, as ``optax.adamw``'s ``mask``: None
        (all), a pytree of bools shaped like the registered weights, or a callable
        ``weights -> bools`` (with several groups, called on each group's weights), e.g. to
        leave biases and norm scales undecayed.

    Examples:
      >>> import brainstate, jax.numpy as jnp
      >>> model = brainstate.nn.Linear(3, 1)
      >>> opt = SGD(lr=OneCycleLR(max_lr=0.1, total_steps=10), momentum=0.9)
      >>> opt.register_trainable_weights(model.states(brainstate.ParamState))
      >>> @brainstate.transform.jit
      ... def train_step(x):
      ...     loss = lambda: jnp.sum(model(x) ** 2)
      ...     opt.update(brainstate.transform.grad(loss, model.states(brainstate.ParamState))())
      >>> train_step(jnp.ones(3)); opt.lr.step()
      >>> opt.step_count, round(opt.current_lr, 6)
      (1, 0.036)
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        lr: LR = 1e-3,
        momentum: float | Callable[[Any], Any] = 0.0,
        *,
        nesterov: bool = False,
        weight_decay: float | Callable[[Any], Any] = 0.0,
        grad_clip_norm: float | None = None,
        mask: Any = None,
    ):
        fn = "SGD"
        momentum = _validate.number_or_schedule(fn, "momentum", momentum, _validate.momentum)
        nesterov = _validate.boolean(fn, "nesterov", nesterov)
        decay = _validate.number_or_schedule(
            fn, "weight_decay", weight_decay, _validate.non_negative
        )
        cycled = isinstance(lr, LRScheduler) and lr.current_momentum() is not None
        if nesterov and not callable(momentum) and momentum == 0.0 and not cycled:
            raise ValueError(f"{fn}: `nesterov=True` needs `momentum` > 0, got {momentum!r}.")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, decay
        super().__init__(
            fn, sgd_chain, lr, "momentum", momentum, grad_clip_norm,
            weight_decay=None if decay == 0.0 else decay, nesterov=nesterov,
            **_mask(fn, mask, decay),
        )  # fmt: skip

    @property
    def current_momentum(self) -> Any:
        """The momentum the next update uses (group 0)."""
        return concrete(self._next("momentum")[0])


class Adam(Optimizer):
    """Adam in braintools' workflow (PyTorch's ``Adam``), compiled end to end.

    As `SGD`: ``register_trainable_weights``, ``update(grads)`` / ``step(grads)``, parameter
    groups, one compiled update, ``state_dict``. ``weight_decay`` is PyTorch's and
    braintools' L2 penalty, added to the gradient before the moments (for decoupled decay
    use `AdamW`). A scheduler with ``cycle_momentum=True`` cycles ``b1`` (``betas[0]``).

    Args:
      lr: a float, a schedule ``count -> lr`` or a scheduler such as `StepLR`.
      betas: ``(b1, b2)``, the decay rates of the moments, each in [0, 1).
      eps: added to the denominator (> 0).
      weight_decay: L2 penalty added to the gradient: a float >= 0 or a schedule.
      grad_clip_norm: clip gradients to this global norm (over every group) first.
      mask: which weights ``weight_decay`` applies to (see `SGD`).

    Examples:
      >>> import brainstate, jax.numpy as jnp
      >>> w = brainstate.ParamState(jnp.ones(2))
      >>> opt = Adam(lr=StepLR(base_lr=0.1, step_size=5))
      >>> opt.register_trainable_weights({"w": w})
      >>> opt.step({"w": jnp.ones(2)})
      >>> [round(v, 4) for v in w.value.tolist()], opt.current_lr
      ([0.9, 0.9], 0.1)
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        lr: LR = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | Callable[[Any], Any] = 0.0,
        grad_clip_norm: float | None = None,
        mask: Any = None,
    ):
        self._adam(False, lr, betas, eps, weight_decay, grad_clip_norm, mask)

    def _adam(
        self, decoupled: bool, lr: Any, betas: Any, eps: Any, weight_decay: Any,
        grad_clip_norm: Any, mask: Any,
    ) -> None:  # fmt: skip
        """Check Adam's (``decoupled=False``) or AdamW's arguments and build the chain.

        Adam's L2 penalty is left out of its chain when 0; AdamW's decoupled decay is always
        in optax's ``adamw`` (as ``torch.optim.AdamW``, whose 0 is a valid setting).
        """
        fn = "AdamW" if decoupled else "Adam"
        b1, b2 = _betas(fn, betas)
        eps = _validate.positive(fn, "eps", eps)
        decay = _validate.number_or_schedule(
            fn, "weight_decay", weight_decay, _validate.non_negative
        )
        self.betas, self.eps, self.weight_decay = (b1, b2), eps, decay
        super().__init__(
            fn, adamw_chain if decoupled else adam_chain, lr, "b1", b1, grad_clip_norm, b2=b2,
            eps=eps, weight_decay=decay if decoupled or decay != 0.0 else None,
            **_mask(fn, mask, decay),
        )  # fmt: skip


class AdamW(Adam):
    """AdamW in braintools' workflow (PyTorch's ``AdamW``): decoupled weight decay.

    As `Adam` (a subclass, as in PyTorch), with ``p -= lr * (adam_update + weight_decay *
    p)`` (default 0.01).

    Args:
      lr: a float, a schedule ``count -> lr`` or a scheduler such as `OneCycleLR`.
      betas: ``(b1, b2)``, the decay rates of the moments, each in [0, 1).
      eps: added to the denominator (> 0).
      weight_decay: decoupled weight decay: a float >= 0 or a schedule.
      grad_clip_norm: clip gradients to this global norm (over every group) first.
      mask: which weights ``weight_decay`` applies to (see `SGD`).

    Examples:
      >>> import brainstate, jax.numpy as jnp
      >>> w = brainstate.ParamState(jnp.ones(2))
      >>> opt = AdamW(lr=0.1, weight_decay=0.5)
      >>> opt.register_trainable_weights({"w": w})
      >>> opt.update({"w": jnp.ones(2)})
      >>> [round(v, 4) for v in w.value.tolist()]
      [0.85, 0.85]
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        lr: LR = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | Callable[[Any], Any] = 0.01,
        grad_clip_norm: float | None = None,
        mask: Any = None,
    ):
        self._adam(True, lr, betas, eps, weight_decay, grad_clip_norm, mask)
