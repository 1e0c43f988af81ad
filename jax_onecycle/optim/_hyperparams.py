"""`hyperparams`: every injected hyperparameter of an optimizer state, by name.

The search is structural, not tied to one optax class: any object in the state that
carries a ``hyperparams`` mapping (``optax.inject_hyperparams``' states, `scheduled`'s,
`reduce_lr_on_plateau`'s, `SGD`'s one state, whose keys are ``"g/name"`` with several
parameter groups) contributes its entries. It walks
named tuples, tuples, lists and mappings, so it sees through ``optax.chain``,
``optax.partition`` / ``multi_transform``, ``optax.MultiSteps``, nested injections and
Flax NNX's wrapped ``nnx.Optimizer.opt_state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import optax

__all__ = ["hyperparams"]

_ARRAY_TYPES = (jax.Array, np.ndarray, np.generic, int, float, complex)


def _unwrap(value: Any) -> Any:
    """The array inside a Flax ``nnx.Variable`` (``OptArray``), or ``value`` itself."""
    if isinstance(value, _ARRAY_TYPES):
        return value
    get_value = getattr(value, "get_value", None)  # nnx.Variable (``.value`` is deprecated)
    if callable(get_value):
        return get_value()
    return getattr(value, "value", value)


def _children(node: Any) -> list[tuple[Any, bool, Any]]:
    """``(key, kept, child)`` for each child; ``kept`` is False for a named field."""
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        fields: tuple[str, ...] = getattr(node, "_fields")
        return [(f, False, getattr(node, f)) for f in fields if f != "hyperparams"]
    if isinstance(node, list | tuple):
        return [(i, True, c) for i, c in enumerate(node)]
    if isinstance(node, Mapping):
        return [(k, True, c) for k, c in node.items()]
    return []


def _find(node: Any, path: tuple[tuple[Any, bool], ...], found: list) -> None:
    if isinstance(node, _ARRAY_TYPES) or node is None:
        return
    injected = getattr(node, "hyperparams", None)
    if isinstance(injected, Mapping) and not isinstance(node, Mapping):
        found.append((path, injected))
    for key, kept, child in _children(node):
        _find(child, (*path, (key, kept)), found)


def _join(path: tuple[tuple[Any, bool], ...], name: str, *, full: bool) -> str:
    parts = [str(k) for k, kept in path if kept or full]
    return "/".join([*parts, name])


def _state_of(opt_state: Any) -> Any:
    """The optimizer state to search: ``opt_state`` or the state an optimizer object holds."""
    if isinstance(opt_state, optax.GradientTransformation):
        raise TypeError(
            "hyperparams: `opt_state` must be an optimizer state, got the optax "
            f"transformation {type(opt_state).__name__} itself; pass its state, "
            "`tx.init(params)` or what `tx.update` returned."
        )
    if isinstance(opt_state, str | bytes):
        raise TypeError(f"hyperparams: `opt_state` must be an optimizer state, got {opt_state!r}.")
    if isinstance(opt_state, tuple | list | Mapping):
        return opt_state
    inner = getattr(opt_state, "opt_state", None)  # an optimizer object holding its state
    if inner is None:
        return opt_state
    if not isinstance(inner, tuple | list | Mapping) and hasattr(inner, "value"):
        return inner.value  # a brainstate optimizer: its state lives in a State
    return inner  # nnx.Optimizer, a Flax TrainState: the optax state itself


def hyperparams(opt_state: Any) -> dict[str, jax.Array]:
    """Every hyperparameter injected anywhere in an optimizer state, by name.

    Works on the state of `scheduled`, `onecycle_sgd`, `onecycle_adamw`,
    ``optax.inject_hyperparams`` and anything that nests them (``optax.chain``,
    ``optax.partition``/``multi_transform``, ``optax.MultiSteps``), on Flax's
    ``nnx.Optimizer.opt_state``, on `reduce_lr_on_plateau`'s state (its current
    ``"learning_rate"``), and on a brainstate `SGD` (pass the optimizer or
    ``sgd.opt_state.value``), on an ``nnx.Optimizer`` or a Flax ``TrainState`` (their
    ``opt_state`` is read). After update ``k`` a scheduled value reads as the value that
    update used, ``schedule(k)``. It is pure: inside ``jit`` it returns the traced values
    (log them with ``jax.debug.callback`` or return them as metrics).

    Key format: with one injected group the keys are the plain names
    (``"learning_rate"``, ``"momentum"``, ``"b1"``, ...). With several, each is
    ``"<path>/<name>"``, where ``<path>`` joins the mapping keys and sequence indices that
    lead to the group, ``/``-separated: ``"0/learning_rate"`` for the first element of an
    ``optax.chain``, ``"head/learning_rate"`` for the ``"head"`` label of an
    ``optax.partition``, ``"1/momentum"`` for parameter group 1 of an `SGD`. Named-tuple
    fields (``inner_state``, ``inner_states``, ...) are left out of the path unless two
    groups would get the same key, in which case every path is given in full.

    Args:
      opt_state: an optax optimizer state, or an object holding one as ``opt_state``
        (``nnx.Optimizer``, a Flax ``TrainState``, `SGD`).

    Returns:
      A dict from key to scalar ``jax.Array``; empty if nothing is injected.

    Raises:
      TypeError: an optax transformation given instead of its state, or a string.

    Examples:
      >>> import jax.numpy as jnp, optax
      >>> import jax_onecycle as jo
      >>> opt = jo.onecycle_sgd(0.1, total_steps=100)
      >>> state = opt.init({"w": jnp.zeros(2)})
      >>> {k: round(float(v), 3) for k, v in jo.hyperparams(state).items()}
      {'learning_rate': 0.004, 'momentum': 0.95}
      >>> two = optax.chain(opt, optax.inject_hyperparams(optax.scale)(step_size=0.5))
      >>> sorted(jo.hyperparams(two.init({"w": jnp.zeros(2)})))
      ['0/learning_rate', '0/momentum', '1/step_size']
    """
    state = _state_of(opt_state)
    found: list = []
    _find(state, (), found)
    if len(found) == 1:
        return {name: _unwrap(v) for name, v in found[0][1].items()}
    short = [_join(p, n, full=False) for p, group in found for n in group]
    full = len(set(short)) != len(short)
    return {
        _join(path, name, full=full): _unwrap(value)
        for path, group in found
        for name, value in group.items()
    }
