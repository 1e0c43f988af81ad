"""Weights and parameter groups of an `Optimizer`: what it holds, and buffers kept on regrouping.

- `as_states`: ``model.states(ParamState)``, a mapping or a sequence of States, checked;
- `claim`: the States not registered yet (clashes with registered ones refused);
- `check_grads`: gradients keyed and shaped like the weights;
- `regroup`: a fresh optimizer state for new groups that keeps every buffer, the count and
  the hyperparameters of the state it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import brainstate
import jax
import jax.numpy as jnp

__all__ = ["as_states", "claim", "check_grads", "regroup"]

_DUPLICATE = "some parameters appear in more than one parameter group"


def as_states(fn: str, param_states: Any) -> dict[Any, brainstate.State]:
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


def claim(
    fn: str, registered: Mapping[Any, brainstate.State], states: Mapping[Any, brainstate.State]
) -> dict[Any, brainstate.State]:
    """The States of ``states`` not in ``registered`` yet; clashes with registered ones refused."""
    owner = {id(s): k for k, s in registered.items()}
    new = {}
    for key, state in states.items():
        if key in registered:
            if registered[key] is not state:
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


def check_grads(fn: str, grads: Any, params: dict[Any, Any]) -> dict[Any, Any]:
    """``grads`` in the order of ``params``, if its keys, tree and shapes are the weights'."""
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


def _group_prefix(groups: int, group: int, clipped: bool) -> str:
    """Where group ``group``'s chain state sits in a `scheduled` state (a ``keystr`` path)."""
    base = ".inner_state" + ("[1]" if clipped else "")  # optax.chain(clip, groups)
    return base if groups == 1 else f"{base}.inner_states[{group}].inner_state"


def _old_path(path: str, old: int, new: int, clipped: bool) -> str:
    """The path in the old state (``old`` groups) of ``path`` in the new one (``new``)."""
    prefix = ".hyperparams['"
    if path.startswith(prefix):  # one group: "learning_rate"; several: "0/learning_rate"
        name = path[len(prefix) : -2]
        if old == 1 and new > 1 and name.startswith("0/"):
            return f"{prefix}{name[2:]}']"
        return path
    for group in range(min(old, new)):
        start = _group_prefix(new, group, clipped)
        if path.startswith(start):
            return _group_prefix(old, group, clipped) + path[len(start) :]
    return path


def regroup(old: Any, fresh: Any, old_groups: int, new_groups: int, clipped: bool) -> Any:
    """``fresh`` (a state for ``new_groups`` groups) with every leaf ``old`` had kept.

    The count, each group's buffers and each hyperparameter carry over (a weight added to
    a group gets fresh buffers); a leaf whose shape or dtype changed is fresh.
    """
    saved = {jax.tree_util.keystr(p): v for p, v in jax.tree_util.tree_flatten_with_path(old)[0]}

    def pick(path: Any, leaf: Any) -> Any:
        before = saved.get(_old_path(jax.tree_util.keystr(path), old_groups, new_groups, clipped))
        if before is None or jnp.shape(before) != jnp.shape(leaf):
            return leaf
        return before if jnp.result_type(before) == jnp.result_type(leaf) else leaf

    return jax.tree_util.tree_map_with_path(pick, fresh)
