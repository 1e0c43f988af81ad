"""brainstate-style SGD: holds ``ParamState`` weights, runs the whole update compiled.

Everything that changes lives in brainstate States made up front: the optax state
(with the step count and the injected hyperparameters) in one ``LongTermState``.
``update(grads)`` reads each State once and writes it once, so under
``brainstate.transform.jit`` the learning rate, the momentum and the weights are one
compiled program; a scheduler's ``step()`` between calls changes a State's value,
never a shape or dtype, and so never recompiles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _validate
from ._scheduler import _concrete, _Scheduler
from ._transforms import _clip_norm, _make_tx

__all__ = ["SGD"]

LR = float | Callable[[Any], Any] | _Scheduler


def _as_states(fn: str, param_states: Any) -> dict[Any, brainstate.State]:
    """``model.states(ParamState)``, a mapping of States, or a sequence of States."""
    if isinstance(param_states, brainstate.State):
        items = {0: param_states}
    elif isinstance(param_states, Mapping):
        items = dict(param_states)
    elif isinstance(param_states, Sequence) and not isinstance(param_states, str):
        items = dict(enumerate(param_states))
    else:
        raise TypeError(
            f"{fn}: `param_states` must be a mapping or a sequence of brainstate States "
            f"(e.g. model.states(brainstate.ParamState)), got {type(param_states).__name__}."
        )
    bad = [k for k, v in items.items() if not isinstance(v, brainstate.State)]
    if bad or not items:
        raise TypeError(
            f"{fn}: `param_states` must hold brainstate States, got "
            f"{'nothing' if not items else f'{type(items[bad[0]]).__name__} at key {bad[0]!r}'}."
        )
    return items


def _split_clip(state: Any) -> tuple[Any, Any]:
    """``(clip_state, rest)`` of a chain that clips first, or ``(None, state)``."""
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return state[0], state[1]
    return None, state


def _group_states(state: Any) -> dict[int, Any]:
    """Each group's ``inject_hyperparams`` state (a single group has no partition)."""
    _, state = _split_clip(state)
    if hasattr(state, "inner_states"):
        return {g: s.inner_state for g, s in state.inner_states.items()}
    return {0: state}


def _with_group_states(state: Any, groups: dict[int, Any]) -> Any:
    """``state`` with each group's inject state replaced: the inverse of ``_group_states``."""
    clip, rest = _split_clip(state)
    if hasattr(rest, "inner_states"):
        rest = rest._replace(inner_states={
            g: s._replace(inner_state=groups[g]) for g, s in rest.inner_states.items()})
    else:
        rest = groups[0]
    return rest if clip is None else (clip, rest)


class SGD(brainstate.graph.Node):
    """Stochastic gradient descent in braintools' workflow, compiled end to end.

    ``register_trainable_weights(model.states(brainstate.ParamState))``, then
    ``update(grads)`` (alias ``step``) inside ``brainstate.transform.jit``. The update is
    PyTorch's SGD (``buf = m * buf + g``, ``p -= lr * buf``, weight decay added to the
    gradient, ``nesterov`` as PyTorch). ``lr`` and ``momentum`` reach optax through
    ``optax.inject_hyperparams``; changing them never recompiles.

    Args:
      lr: a float, a schedule ``count -> lr`` (driven by the optimizer's own step count
        inside the compiled update), or a scheduler facade such as `OneCycleLR`
        (driven by ``scheduler.step()``, as in braintools; with ``cycle_momentum=True``
        it also sets the momentum).
      momentum: a float in [0, 1) or a schedule ``count -> momentum``.
      nesterov: Nesterov momentum (needs ``momentum > 0``).
      weight_decay: L2 penalty added to the gradient.
      grad_clip_norm: clip gradients to this global norm first (None: off).

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
        weight_decay: float = 0.0,
        grad_clip_norm: float | None = None,
    ):
        fn = "SGD"
        self.lr = self._check_lr(fn, lr)
        if not callable(momentum):
            momentum = _validate.momentum(fn, "momentum", momentum)
        self.momentum = momentum
        self.nesterov = _validate.boolean(fn, "nesterov", nesterov)
        if self.nesterov and not callable(momentum) and momentum == 0.0 and not (
            isinstance(lr, _Scheduler) and lr._current_momentum() is not None
        ):
            raise ValueError(f"{fn}: `nesterov=True` needs `momentum` > 0, got {momentum!r}.")
        self.weight_decay = _validate.non_negative(fn, "weight_decay", weight_decay)
        self.grad_clip_norm = _clip_norm(fn, grad_clip_norm)
        self.param_states: dict[Any, brainstate.State] = {}
        self._group_of: dict[Any, int] = {}
        self._group_lrs: list[LR] = []
        self.tx: optax.GradientTransformation | None = None
        self.opt_state: brainstate.LongTermState | None = None

    # --- construction -------------------------------------------------------------
    @staticmethod
    def _check_lr(fn: str, lr: Any) -> LR:
        if isinstance(lr, _Scheduler) or callable(lr):
            return lr
        if isinstance(lr, bool) or not isinstance(lr, int | float | np.floating | np.integer):
            raise TypeError(
                f"{fn}: `lr` must be a float, a schedule function or a scheduler "
                f"(e.g. OneCycleLR), got {type(lr).__name__}."
            )
        return float(_validate.learning_rate(fn, "lr", lr))

    def _entry(self, group: int) -> int:
        """Which learning rate of its scheduler ``group`` follows (max_lr lists)."""
        lr = self._group_lrs[group]
        return sum(1 for other in self._group_lrs[:group] if other is lr)

    @staticmethod
    def _value(spec: Any, count: Any, entry: int = 0) -> jax.Array:
        """A float, a schedule at ``count``, or a scheduler's current value (``entry``)."""
        if isinstance(spec, _Scheduler):
            return spec._group_lr(entry)
        return spec(count) if callable(spec) else jnp.float32(spec)

    def _momentum_spec(self) -> Any:
        lr = self.lr
        if isinstance(lr, _Scheduler) and lr._current_momentum() is not None:
            return lambda count: lr._current_momentum()
        return self.momentum

    def _with_hyperparams(self, state: Any, count: Any) -> Any:
        """``state`` with every group's learning rate and the momentum for update ``count``.

        The values are computed here, from the one step count, and handed to
        ``optax.inject_hyperparams`` as numbers: no per-schedule counters ride along in
        the compiled update, and every group follows the same count.
        """
        momentum = self._value(self._momentum_spec(), count)
        groups = {}
        for g, inner in _group_states(state).items():
            old = inner.hyperparams
            lr = self._value(self._group_lrs[g], count, self._entry(g))
            groups[g] = inner._replace(hyperparams={
                **old,
                "learning_rate": jnp.asarray(lr, old["learning_rate"].dtype),
                "momentum": jnp.asarray(momentum, old["momentum"].dtype),
            })
        return _with_group_states(state, groups)

    def _build(self) -> None:
        params = self._params()
        labels = {k: self._group_of[k] for k in params}
        self.tx = _make_tx(
            [0.0] * len(self._group_lrs), 0.0, labels=labels, algorithm="sgd",
            nesterov=self.nesterov, weight_decay=self.weight_decay,
            grad_clip_norm=self.grad_clip_norm,
        )
        fresh = self.tx.init(params)
        if self.opt_state is not None:
            # A group was added: keep every existing buffer and count, matched by group
            # and by path inside the group's state.
            old = {(g, jax.tree_util.keystr(p)): v
                   for g, inner in _group_states(self.opt_state.value).items()
                   for p, v in jax.tree_util.tree_flatten_with_path(inner)[0]}
            fresh = _with_group_states(fresh, {
                g: jax.tree_util.tree_map_with_path(
                    lambda path, v, g=g: old.get((g, jax.tree_util.keystr(path)), v), inner)
                for g, inner in _group_states(fresh).items()
            })
        count = _group_states(fresh)[0].count
        fresh = self._with_hyperparams(fresh, count)
        if self.opt_state is None:
            self.opt_state = brainstate.LongTermState(fresh)
        else:
            self.opt_state.value = fresh

    def register_trainable_weights(self, param_states: Any) -> None:
        """Hold ``param_states`` (``model.states(brainstate.ParamState)``) as group 0."""
        fn = "SGD.register_trainable_weights"
        states = _as_states(fn, param_states)
        self.param_states, self._group_of, self._group_lrs = {}, {}, []
        self.opt_state = None
        self._add(states, self.lr)

    def add_param_group(self, param_states: Any, lr: LR | None = None) -> None:
        """Add a parameter group with its own learning rate (default: the optimizer's).

        With a scheduler whose ``max_lr`` is a list, group ``g`` follows entry ``g``.
        The buffers of the existing groups are kept.
        """
        fn = "SGD.add_param_group"
        if not self.param_states:
            raise ValueError(f"{fn}: call `register_trainable_weights` first.")
        states = _as_states(fn, param_states)
        clash = [k for k in states if k in self.param_states]
        if clash:
            raise ValueError(f"{fn}: `param_states` key {clash[0]!r} is already registered.")
        self._add(states, self.lr if lr is None else self._check_lr(fn, lr))

    def _add(self, states: dict[Any, brainstate.State], lr: LR) -> None:
        group = len(self._group_lrs)
        self._group_lrs.append(lr)
        for key, state in states.items():
            self.param_states[key] = state
            self._group_of[key] = group
        self._build()

    # --- the compiled update ------------------------------------------------------
    def _params(self) -> dict[Any, Any]:
        return {k: s.value for k, s in self.param_states.items()}

    def _check_groups(self, fn: str) -> None:
        for lr in {id(x): x for x in self._group_lrs if isinstance(x, _Scheduler)}.values():
            used = sum(1 for x in self._group_lrs if x is lr)
            if used != lr._num_groups:
                raise ValueError(
                    f"{fn}: the scheduler has {lr._num_groups} learning rate(s) (`max_lr`) "
                    f"but drives {used} parameter group(s); give `max_lr` one entry per group."
                )

    def update(self, grads: Mapping[Any, Any]) -> None:
        """Apply one SGD step with ``grads`` (keyed like the registered weights)."""
        fn = "SGD.update"
        if self.opt_state is None:
            raise ValueError(f"{fn}: call `register_trainable_weights` before `update`.")
        self._check_groups(fn)
        params = self._params()
        if not isinstance(grads, Mapping) or set(grads) != set(params):
            got = sorted(map(str, grads)) if isinstance(grads, Mapping) else type(grads).__name__
            raise ValueError(
                f"{fn}: `grads` must have the keys of the registered weights "
                f"{sorted(map(str, params))}, got {got}."
            )
        grads = {k: grads[k] for k in params}
        if jax.tree.structure(grads) != jax.tree.structure(params):
            raise ValueError(
                f"{fn}: `grads` must have the tree structure of the weights "
                f"{jax.tree.structure(params)}, got {jax.tree.structure(grads)}."
            )
        state = self.opt_state.value
        state = self._with_hyperparams(state, _group_states(state)[0].count)
        updates, new_state = self.tx.update(grads, state, params)
        self.opt_state.value = new_state
        for key, value in optax.apply_updates(params, updates).items():
            self.param_states[key].value = value

    step = update

    # --- introspection ------------------------------------------------------------
    def _count(self) -> jax.Array:
        return _group_states(self.opt_state.value)[0].count

    @property
    def step_count(self) -> Any:
        """Number of updates applied (an int outside ``jit``)."""
        if self.opt_state is None:
            return 0
        return _concrete(self._count())

    @property
    def current_lr(self) -> Any:
        """The learning rate the next update uses (group 0)."""
        return _concrete(self._value(self.lr, self._count() if self.opt_state is not None else 0))

    @property
    def current_momentum(self) -> Any:
        """The momentum the next update uses."""
        return _concrete(
            self._value(self._momentum_spec(), self._count() if self.opt_state is not None else 0))

    # --- checkpoints --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A plain picklable dict: the step count and every optimizer buffer (numpy)."""
        if self.opt_state is None:
            raise ValueError("SGD.state_dict: call `register_trainable_weights` first.")
        leaves = jax.tree_util.tree_flatten_with_path(self.opt_state.value)[0]
        return {
            "step_count": int(np.asarray(self._count())),
            "opt_state": {jax.tree_util.keystr(p): np.asarray(v) for p, v in leaves},
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict` saved into an optimizer with the same weights."""
        fn = "SGD.load_state_dict"
        if self.opt_state is None:
            raise ValueError(f"{fn}: call `register_trainable_weights` first.")
        saved = state_dict["opt_state"]

        def restore(path, leaf):
            key = jax.tree_util.keystr(path)
            if key not in saved or np.shape(saved[key]) != np.shape(leaf):
                raise ValueError(
                    f"{fn}: `state_dict` does not fit this optimizer: entry {key} is "
                    f"{'missing' if key not in saved else np.shape(saved[key])}, "
                    f"expected shape {np.shape(leaf)}."
                )
            return jnp.asarray(saved[key], dtype=leaf.dtype)

        self.opt_state.value = jax.tree_util.tree_map_with_path(restore, self.opt_state.value)
