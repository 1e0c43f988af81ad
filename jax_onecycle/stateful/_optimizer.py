"""brainstate-style SGD: holds ``ParamState`` weights, runs the whole update compiled.

Everything that changes lives in one brainstate ``State`` made in ``__init__``: an
`SGDState` with the one step count and, per parameter group, the hyperparameters the last
update used and the optax state of the group's weights. ``update(grads)`` reads it once
and writes it once, so under ``brainstate.transform.jit`` the learning rate, the momentum
and the weights are one compiled program; a scheduler's ``step()`` between calls changes a
State's value, never a shape or dtype, and so never recompiles. Hyperparameters are
float32 whatever the weights' dtype, and every buffer keeps its dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.experimental import multihost_utils

from .. import _validate
from ..optim._onecycle import clip_norm, sgd_chain
from ..optim._scheduled import hyper, keep_dtypes
from ._scheduler import LRScheduler, concrete

__all__ = ["SGD", "SGDState"]

LR = float | Callable[[Any], Any] | LRScheduler
_DUPLICATE = "some parameters appear in more than one parameter group"


class GroupState(NamedTuple):
    """One parameter group: its hyperparameters as the last update used them, its buffers."""

    hyperparams: dict[str, jax.Array]
    inner_state: Any


class SGDState(NamedTuple):
    """The state of `SGD`: the one step count and a `GroupState` per parameter group."""

    count: jax.Array  # pyright: ignore[reportIncompatibleMethodOverride]
    groups: tuple[GroupState, ...]


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
    seen: dict[int, Any] = {}
    for key, state in items.items():
        if id(state) in seen:
            raise ValueError(
                f"{fn}: {_DUPLICATE}: the State at key {key!r} is also given at key "
                f"{seen[id(state)]!r}."
            )
        seen[id(state)] = key
    return items


def _host(value: Any) -> np.ndarray:
    """``value`` as a numpy array on this host, gathered first if other processes hold parts."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        return np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return np.asarray(value)


class SGD(brainstate.graph.Node):
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
        the momentum).
      momentum: a float in [0, 1) or a schedule ``count -> momentum``.
      nesterov: Nesterov momentum (needs ``momentum > 0``).
      weight_decay: L2 penalty added to the gradient.
      grad_clip_norm: clip gradients to this global norm (over every group) first.

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
        if (
            self.nesterov
            and not callable(momentum)
            and momentum == 0.0
            and not (isinstance(lr, LRScheduler) and lr.current_momentum() is not None)
        ):
            raise ValueError(f"{fn}: `nesterov=True` needs `momentum` > 0, got {momentum!r}.")
        self.weight_decay = _validate.non_negative(fn, "weight_decay", weight_decay)
        self.grad_clip_norm = clip_norm(fn, grad_clip_norm)
        self.param_states: dict[Any, brainstate.State] = {}
        self._group_of: dict[Any, int] = {}
        self._group_lrs: list[LR] = []
        self.tx = optax.GradientTransformation(self._init, self._update)  # type: ignore[arg-type]
        self.opt_state = brainstate.LongTermState(SGDState(jnp.zeros([], jnp.int32), ()))

    def __reduce__(self) -> Any:
        raise TypeError(
            "SGD cannot be pickled: it holds the model's ParamStates. Save "
            "`opt.state_dict()` (a plain picklable dict) and restore it with "
            "`load_state_dict` into an SGD registered on the same weights."
        )

    # --- construction -------------------------------------------------------------
    @staticmethod
    def _check_lr(fn: str, lr: Any) -> LR:
        if isinstance(lr, LRScheduler) or callable(lr):
            return lr
        if isinstance(lr, bool) or not isinstance(lr, int | float | np.floating | np.integer):
            raise TypeError(
                f"{fn}: `lr` must be a float, a schedule function or a scheduler "
                f"(e.g. OneCycleLR), got {type(lr).__name__}."
            )
        return float(_validate.learning_rate(fn, "lr", lr))

    @staticmethod
    def _value(spec: Any, count: Any, entry: int = 0) -> jax.Array:
        """A float, a schedule at ``count``, or a scheduler's current value, as float32."""
        if isinstance(spec, LRScheduler):
            return hyper(spec.group_lr(entry))
        return hyper(spec(count) if callable(spec) else spec)

    def _momentum_spec(self) -> Any:
        lr = self.lr
        if isinstance(lr, LRScheduler) and lr.current_momentum() is not None:
            return lambda count: lr.current_momentum()
        return self.momentum

    def _hyperparams(self, count: Any) -> list[dict[str, jax.Array]]:
        """Each group's learning rate and momentum for the update at ``count``.

        Before any weights are registered there is one group, with the optimizer's ``lr``.
        A scheduler with several learning rates (``max_lr`` lists) gives its entry ``e`` to
        the ``e``-th group it drives.
        """
        momentum = self._value(self._momentum_spec(), count)
        lrs = self._group_lrs or [self.lr]
        return [
            {
                "learning_rate": self._value(lr, count, sum(o is lr for o in lrs[:g])),
                "momentum": momentum,
            }
            for g, lr in enumerate(lrs)
        ]

    def _chain(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        decay = self.weight_decay or None
        return sgd_chain(hp["learning_rate"], hp["momentum"], decay, self.nesterov)

    def _split(self, tree: Mapping[Any, Any]) -> list[dict[Any, Any]]:
        """``tree`` (keyed like the weights) as one dict per group; unknown keys: group 0."""
        parts: list[dict[Any, Any]] = [{} for _ in range(max(len(self._group_lrs), 1))]
        for key, value in tree.items():
            parts[self._group_of.get(key, 0)][key] = value
        return parts

    # --- the optax transformation (SGD.tx) ----------------------------------------
    def _init(self, params: Mapping[Any, Any]) -> SGDState:
        count = jnp.zeros([], jnp.int32)
        groups = tuple(
            GroupState(hp, self._chain(hp).init(part))
            for hp, part in zip(self._hyperparams(count), self._split(params), strict=True)
        )
        return SGDState(count, groups)

    def _update(
        self, grads: Mapping[Any, Any], state: SGDState, params: Mapping[Any, Any]
    ) -> tuple[dict[Any, Any], SGDState]:
        if self.grad_clip_norm is not None:
            clip = optax.clip_by_global_norm(self.grad_clip_norm)
            grads = clip.update(grads, optax.EmptyState())[0]  # type: ignore[assignment]
        updates: dict[Any, Any] = {}
        groups = []
        for hp, group, g_part, p_part in zip(
            self._hyperparams(state.count),
            state.groups,
            self._split(grads),
            self._split(params),
            strict=True,
        ):
            u, inner = self._chain(hp).update(g_part, group.inner_state, p_part)
            updates.update(keep_dtypes(u, g_part))
            groups.append(GroupState(hp, keep_dtypes(inner, group.inner_state)))
        return updates, SGDState(jnp.asarray(optax.safe_increment(state.count)), tuple(groups))

    # --- weights and groups ---------------------------------------------------------
    def _claim(self, fn: str, states: dict[Any, brainstate.State]) -> dict[Any, brainstate.State]:
        """The States of ``states`` not registered yet; refuse clashes with registered ones."""
        owner = {id(s): k for k, s in self.param_states.items()}
        new = {}
        for key, state in states.items():
            if key in self.param_states:
                if self.param_states[key] is not state:
                    raise ValueError(
                        f"{fn}: `param_states` key {key!r} is already registered with another "
                        "State; give the new weights keys of their own."
                    )
                continue
            if id(state) in owner:
                raise ValueError(
                    f"{fn}: {_DUPLICATE}: the State at key {key!r} is already registered "
                    f"at key {owner[id(state)]!r}."
                )
            new[key] = state
        return new

    def register_trainable_weights(self, param_states: Any) -> None:
        """Hold ``param_states`` (``model.states(brainstate.ParamState)``) as group 0.

        Registering again adds the weights not registered yet to group 0, as braintools
        merges them; weights already registered keep their buffers, and the step count is
        kept (re-running a notebook cell loses nothing). A key registered with another State,
        or one State under two keys, is refused.
        """
        fn = "SGD.register_trainable_weights"
        states = self._claim(fn, _as_states(fn, param_states))
        if not self._group_lrs:
            self._group_lrs.append(self.lr)
        self._add(states, 0)

    def add_param_group(self, param_states: Any, lr: LR | None = None) -> None:
        """Add a parameter group with its own learning rate (default: the optimizer's).

        With a scheduler whose ``max_lr`` is a list, group ``g`` follows entry ``g``.
        The buffers of the existing groups are kept. Weights already in a group are refused,
        as PyTorch refuses them.
        """
        fn = "SGD.add_param_group"
        if not self.param_states:
            raise ValueError(f"{fn}: call `register_trainable_weights` first.")
        states = _as_states(fn, param_states)
        new = self._claim(fn, states)
        if len(new) != len(states):
            key = next(k for k in states if k not in new)
            raise ValueError(f"{fn}: {_DUPLICATE}: key {key!r} is already registered.")
        self._group_lrs.append(self.lr if lr is None else self._check_lr(fn, lr))
        self._add(new, len(self._group_lrs) - 1)

    def _add(self, states: dict[Any, brainstate.State], group: int) -> None:
        """Register ``states`` in ``group``: fresh buffers for them, every other one kept."""
        old = self.opt_state.value
        for key, state in states.items():
            self.param_states[key] = state
            self._group_of[key] = group
        fresh = self._init(self._params())
        kept = list(fresh.groups)
        for g, (before, now) in enumerate(zip(old.groups, fresh.groups, strict=False)):
            saved = {
                jax.tree_util.keystr(p): v
                for p, v in jax.tree_util.tree_flatten_with_path(before.inner_state)[0]
            }
            inner = jax.tree_util.tree_map_with_path(
                lambda p, v, saved=saved: saved.get(jax.tree_util.keystr(p), v), now.inner_state
            )
            kept[g] = GroupState(before.hyperparams, inner)
        self.opt_state.value = SGDState(old.count, tuple(kept))

    # --- the compiled update ------------------------------------------------------
    def _params(self) -> dict[Any, Any]:
        return {k: s.value for k, s in self.param_states.items()}

    def _check_groups(self, fn: str) -> None:
        for lr in {id(x): x for x in self._group_lrs if isinstance(x, LRScheduler)}.values():
            used = sum(1 for x in self._group_lrs if x is lr)
            if used != lr.num_groups:
                raise ValueError(
                    f"{fn}: the scheduler has {lr.num_groups} learning rate(s) (`max_lr`) "
                    f"but drives {used} parameter group(s); give `max_lr` one entry per group."
                )

    def _check_grads(self, fn: str, grads: Any, params: dict[Any, Any]) -> dict[Any, Any]:
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
        for (path, g), p in zip(
            jax.tree_util.tree_flatten_with_path(grads)[0], jax.tree.leaves(params), strict=True
        ):
            if jnp.shape(g) != jnp.shape(p):
                raise ValueError(
                    f"{fn}: `grads{jax.tree_util.keystr(path)}` has shape {jnp.shape(g)}, but "
                    f"the weight has shape {jnp.shape(p)}."
                )
        return grads

    def update(self, grads: Mapping[Any, Any]) -> None:
        """Apply one SGD step with ``grads`` (keyed like the registered weights)."""
        fn = "SGD.update"
        if not self.param_states:
            raise ValueError(f"{fn}: call `register_trainable_weights` before `update`.")
        self._check_groups(fn)
        params = self._params()
        grads = self._check_grads(fn, grads, params)
        updates, new_state = self.tx.update(grads, self.opt_state.value, params)
        self.opt_state.value = new_state
        new_params: dict[Any, Any] = optax.apply_updates(params, updates)  # type: ignore[assignment]
        for key, value in new_params.items():
            self.param_states[key].value = value

    step = update

    # --- introspection ------------------------------------------------------------
    @property
    def step_count(self) -> Any:
        """Number of updates applied (an int outside ``jit``)."""
        return concrete(self.opt_state.value.count)

    def _next(self) -> dict[str, jax.Array]:
        """Group 0's learning rate and momentum for the next update."""
        return self._hyperparams(self.opt_state.value.count)[0]

    @property
    def current_lr(self) -> Any:
        """The learning rate the next update uses (group 0)."""
        return concrete(self._next()["learning_rate"])

    @property
    def current_momentum(self) -> Any:
        """The momentum the next update uses."""
        return concrete(self._next()["momentum"])

    # --- checkpoints --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A plain picklable dict: the step count and every optimizer buffer (numpy).

        A buffer sharded over the devices of several processes is gathered whole on every
        process (``multihost_utils.process_allgather``), so in a multi-process run every
        process must call ``state_dict()``, as it calls any collective.
        """
        if not self.param_states:
            raise ValueError("SGD.state_dict: call `register_trainable_weights` first.")
        leaves = jax.tree_util.tree_flatten_with_path(self.opt_state.value)[0]
        return {
            "step_count": int(_host(self.opt_state.value.count)),
            "opt_state": {jax.tree_util.keystr(p): _host(v) for p, v in leaves},
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict` saved into an optimizer with the same weights and groups.

        Every entry is checked before anything changes: a dict that does not fit (a missing
        or an extra entry, a shape that differs, a non-numeric or non-finite buffer, a step
        count that disagrees with the saved count) is refused whole with a ValueError naming
        the entry. Each buffer is restored with the dtype and the sharding of the buffer it
        replaces.
        """
        fn = "SGD.load_state_dict"
        if not self.param_states:
            raise ValueError(f"{fn}: call `register_trainable_weights` first.")
        if not isinstance(state_dict, Mapping):
            _validate.fail(
                fn, "state_dict", "a dict made by SGD.state_dict()", state_dict, TypeError
            )
        if set(state_dict) != {"step_count", "opt_state"}:
            _validate.fail(
                fn,
                "state_dict",
                'a dict with exactly the keys "step_count" and '
                '"opt_state" (made by SGD.state_dict())',
                sorted(map(str, state_dict)),
            )
        saved = state_dict["opt_state"]
        if not isinstance(saved, Mapping):
            _validate.fail(
                fn, "state_dict['opt_state']", "a dict of arrays", type(saved).__name__, TypeError
            )
        count = _validate.step_count(
            fn, "state_dict['step_count']", state_dict["step_count"], minimum=0
        )
        current = self.opt_state.value
        leaves = jax.tree_util.tree_flatten_with_path(current)[0]
        expected = {jax.tree_util.keystr(p): leaf for p, leaf in leaves}
        extra = sorted(set(saved) - set(expected))
        missing = sorted(set(expected) - set(saved))
        if extra or missing:
            raise ValueError(
                f"{fn}: `state_dict` does not fit this optimizer: "
                + "; ".join(
                    filter(
                        None,
                        [
                            f"entries it lacks: {', '.join(missing)}" if missing else "",
                            f"entries this optimizer does not have: {', '.join(map(str, extra))}"
                            if extra
                            else "",
                        ],
                    )
                )
                + ". Nothing was loaded."
            )
        restored = {
            key: self._restored(fn, key, saved[key], leaf) for key, leaf in expected.items()
        }
        if int(np.asarray(restored[".count"])) != count:
            raise ValueError(
                f"{fn}: `state_dict['step_count']` is {count} but the saved optimizer count is "
                f"{int(np.asarray(restored['.count']))}. Nothing was loaded."
            )
        self.opt_state.value = jax.tree_util.tree_map_with_path(
            lambda p, _: restored[jax.tree_util.keystr(p)], current
        )

    @staticmethod
    def _restored(fn: str, key: str, value: Any, leaf: jax.Array) -> jax.Array:
        """``value`` checked against ``leaf`` and placed like it (dtype and sharding)."""
        name = f"state_dict['opt_state'][{key!r}]"
        try:
            array = np.asarray(value)
        except Exception:  # noqa: BLE001 - anything numpy cannot read is refused below
            array = np.asarray(None, dtype=object)
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or (
            np.issubdtype(array.dtype, np.complexfloating)
        ):
            _validate.fail(
                fn,
                name,
                f"a real numeric array of shape {np.shape(leaf)}",
                value if array.dtype != object else type(value).__name__,
                TypeError,
            )
        if array.shape != np.shape(leaf):
            raise ValueError(
                f"{fn}: `state_dict` does not fit this optimizer: `{name}` has shape "
                f"{array.shape}, expected {np.shape(leaf)}. "
                "Nothing was loaded."
            )
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            raise ValueError(
                f"{fn}: `state_dict` does not fit this optimizer: `{name}` holds NaN or "
                "infinite values. Nothing was loaded."
            )
        array = array.astype(leaf.dtype)
        sharding = getattr(leaf, "sharding", None)
        if sharding is None:
            return jnp.asarray(array)
        return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])
