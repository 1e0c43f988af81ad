"""`Optimizer`: any `scheduled` optax optimizer on ``brainstate.ParamState`` weights, compiled.

The whole optimizer is one `scheduled` transformation (``Optimizer.tx``): one step count,
every hyperparameter a float32 scalar (injected, readable with `hyperparams`), every buffer
in its own dtype. Parameter groups are ``optax.multi_transform`` over one chain per group
(the chain the named optimizer gives, `SGD`, `Adam`, `AdamW`); gradient clipping is
``optax.clip_by_global_norm`` over every group at once, before the groups split. A group's
learning rate (and the momentum, ``b1`` for Adam) is a float, a schedule of the one count,
or a scheduler's current value read from its States inside the compiled update, so
``scheduler.step()`` never recompiles (nor ``lr_apply`` on a float rate; the first scaling of
a scheduler's curve traces the update once more). The state lives in one brainstate State
made up front; what `state_dict` saves is checked whole by `_state_io` on the way back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _validate
from ..optim._onecycle import clip_norm
from ..optim._scheduled import ScheduledState, hyper, scheduled
from . import _state_io
from ._groups import as_states, check_grads, claim, regroup
from ._scheduler import LRScheduler, applied, concrete, counter_view

__all__ = ["Optimizer"]

LR = float | Callable[[Any], Any] | LRScheduler


def check_lr(fn: str, lr: Any) -> LR:
    """A float, a schedule or a scheduler of this package; braintools' schedulers refused."""
    if any(c.__module__.startswith("braintools") for c in type(lr).__mro__):
        name = type(lr).__name__
        import jax_onecycle

        use = (
            f"`jax_onecycle.{name}` (same arguments)"
            if name in jax_onecycle.__all__
            else "a jax_onecycle scheduler or schedule (e.g. `jax_onecycle.StepLR`)"
        )
        raise TypeError(
            f"{fn}: `lr` cannot be braintools' {name}: its `__call__` returns the negated rate "
            f"for braintools' own optimizers (here: gradient ascent). Use {use}."
        )
    if isinstance(lr, LRScheduler):
        rates = np.asarray(lr.get_lr(), np.float64)
    elif callable(lr):
        lr = _validate.schedule(fn, "lr", lr)
        rates = np.asarray(lr(jnp.zeros([], jnp.int32)), np.float64)
    else:
        if isinstance(lr, bool) or not isinstance(lr, int | float | np.floating | np.integer):
            _validate.fail(
                fn, "lr", "a float, a schedule `count -> lr` or a scheduler", lr, TypeError
            )
        if not (np.isfinite(lr) and 0 <= lr <= _validate.F32_MAX):
            _validate.fail(fn, "lr", "a finite number >= 0 that float32 holds", lr)
        return float(lr)
    if not np.all(np.isfinite(rates) & (rates >= 0)):
        _validate.fail(
            fn, "lr", "a schedule whose rate at step 0 is finite and >= 0", rates.tolist()
        )
    return lr


class Optimizer(brainstate.graph.Node):
    """One brainstate optimizer for any `scheduled` optax optimizer.

    A named optimizer (`SGD`, `Adam`, `AdamW`) gives ``chain(learning_rate, <momentum>,
    **hyper)`` (one group's optax chain), the name its chain gives the momentum
    (``"momentum"``, ``"b1"``), that momentum (float or schedule; a scheduler with
    ``cycle_momentum=True`` overrides it for the groups it drives) and the hyperparameters
    every group shares. Keys of `hyperparams`: the plain names with one group,
    ``"<group>/learning_rate"`` and ``"<group>/<momentum>"`` with several.

    Args:
      fn: the optimizer's name, for messages and state dicts.
      chain: ``chain(learning_rate, <momentum_name>, **shared)``, one group's optax chain.
      lr: a float, a schedule ``count -> lr`` or a scheduler (`LRScheduler`).
      momentum_name: the chain's name for the momentum a scheduler may cycle.
      momentum: that momentum, a float or a schedule.
      grad_clip_norm: clip to this global norm over every group first (None: no clipping).
      **shared: the chain's other hyperparameters (floats or schedules are injected).

    Examples:
      >>> import brainstate, jax.numpy as jnp, optax
      >>> w = brainstate.ParamState(jnp.ones(2))
      >>> opt = Optimizer("Lion", optax.lion, StepLR(0.1, step_size=2), "b1", 0.9, None,
      ...                 b2=0.99, weight_decay=0.0)
      >>> opt.register_trainable_weights({"w": w})
      >>> opt.step({"w": jnp.ones(2)})
      >>> [round(v, 4) for v in w.value.tolist()], sorted(hyperparams(opt))
      ([0.9, 0.9], ['b1', 'b2', 'learning_rate', 'weight_decay'])
    """

    __module__ = "jax_onecycle"

    def __init__(
        self,
        fn: str,
        chain: Callable[..., optax.GradientTransformation],
        lr: LR,
        momentum_name: str,
        momentum: Any,
        grad_clip_norm: float | None,
        **shared: Any,
    ):
        self.lr = check_lr(fn, lr)
        self._chain, self._momentum_name, self._momentum = chain, momentum_name, momentum
        self._shared = shared
        self.grad_clip_norm = clip_norm(fn, grad_clip_norm)
        self.param_states: dict[Any, brainstate.State] = {}
        self._group_of: dict[Any, int] = {}
        self._group_lrs: list[LR] = []
        self._transform: optax.GradientTransformationExtraArgs | None = None
        self.tx = optax.GradientTransformationExtraArgs(self._init, self._update)  # type: ignore[arg-type]
        self.opt_state = brainstate.LongTermState(self._tx().init({}))

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: it holds the model's ParamStates. Save "
            "`opt.state_dict()` (a plain picklable dict) and restore it with "
            "`load_state_dict` into an optimizer registered on the same weights."
        )

    # --- the one optax transformation ----------------------------------------------
    def _init(self, params: Any) -> Any:
        return self._tx().init(params)

    def _update(self, grads: Any, state: Any, params: Any = None, **extra: Any) -> Any:
        return self._tx().update(grads, state, params, **extra)

    def _groups(self) -> list[LR]:
        return self._group_lrs or [self.lr]

    def _hyper_specs(self) -> dict[str, Any]:
        """Every injected hyperparameter: a float, or a schedule of the one count."""
        lrs = self._groups()
        specs: dict[str, Any] = {}
        momenta: dict[int, Any] = {}  # one momentum schedule per scheduler, however many groups
        for g, lr in enumerate(lrs):
            prefix = f"{g}/" if len(lrs) > 1 else ""
            momentum = self._momentum
            if isinstance(lr, LRScheduler):
                entry = sum(o is lr for o in lrs[:g])  # a scheduler's e-th group
                specs[prefix + "learning_rate"] = lambda _, lr=lr, e=entry: lr.group_lr(e)
                if lr.current_momentum() is not None:
                    momentum = momenta.setdefault(id(lr), lambda _, lr=lr: lr.current_momentum())
            else:
                specs[prefix + "learning_rate"] = lr
            if momentum is not None:
                specs[prefix + self._momentum_name] = momentum
        return {**specs, **self._shared}

    def _tx(self) -> optax.GradientTransformationExtraArgs:
        if self._transform is None:
            n, labels, chain = len(self._groups()), dict(self._group_of), self._chain
            clip = self.grad_clip_norm
            own = ("learning_rate", self._momentum_name)

            def build(**hp: Any) -> optax.GradientTransformation:
                shared = {k: v for k, v in hp.items() if k in self._shared}

                def group(g: int) -> optax.GradientTransformation:
                    prefix = f"{g}/" if n > 1 else ""
                    mine = {k: hp[prefix + k] for k in own if prefix + k in hp}
                    return chain(**mine, **shared)

                tx = (
                    group(0)
                    if n == 1
                    else optax.multi_transform({g: group(g) for g in range(n)}, labels)
                )
                return tx if clip is None else optax.chain(optax.clip_by_global_norm(clip), tx)

            # a mask (always a callable here) is static in `scheduled` itself
            self._transform = scheduled(build, **self._hyper_specs())
        return self._transform

    # --- weights and groups ----------------------------------------------------------
    def register_trainable_weights(self, param_states: Any) -> None:
        """Hold ``param_states`` (``model.states(brainstate.ParamState)``) as group 0.

        Registering again adds the weights not registered yet to group 0, as braintools
        merges them; weights already registered keep their buffers and the step count is
        kept. A key registered with another State, or one State under two keys, is refused.
        """
        fn = f"{type(self).__name__}.register_trainable_weights"
        states = claim(fn, self.param_states, as_states(fn, param_states))
        if not self._group_lrs:
            self._group_lrs.append(self.lr)
        self._add(states, 0)

    def add_param_group(self, param_states: Any, lr: LR | None = None) -> None:
        """Add a parameter group with its own learning rate (default: the optimizer's).

        A scheduler whose ``max_lr`` is a list drives the k-th group it drives with entry
        ``k``; a
        scheduler with ``cycle_momentum=True`` cycles that group's momentum. The buffers of
        the existing groups are kept; weights already in a group are refused.
        """
        fn = f"{type(self).__name__}.add_param_group"
        if not self.param_states:
            raise ValueError(f"{fn}: call `register_trainable_weights` first.")
        states = as_states(fn, param_states)
        new = claim(fn, self.param_states, states)
        if len(new) != len(states):
            key = next(k for k in states if k not in new)
            raise ValueError(
                f"{fn}: some parameters appear in more than one parameter group: key "
                f"{key!r} is already registered."
            )
        self._group_lrs.append(self.lr if lr is None else check_lr(fn, lr))
        self._add(new, len(self._group_lrs) - 1)

    def _add(self, states: dict[Any, brainstate.State], group: int) -> None:
        """Register ``states`` in ``group``: fresh buffers for them, every other one kept."""
        old, old_groups = self.opt_state.value, max(len(self._group_lrs) - (group > 0), 1)
        for key, state in states.items():
            self.param_states[key] = state
            self._group_of[key] = group
        self._transform = None
        fresh = self._tx().init(self._params())
        self.opt_state.value = regroup(
            old, fresh, old_groups, len(self._group_lrs), self.grad_clip_norm is not None
        )

    def _params(self) -> dict[Any, Any]:
        return {k: s.value for k, s in self.param_states.items()}

    # --- the compiled update ------------------------------------------------------------
    def update(self, grads: Mapping[Any, Any]) -> None:
        """Apply one step with ``grads`` (keyed like the registered weights)."""
        fn = f"{type(self).__name__}.update"
        if not self.param_states:
            raise ValueError(f"{fn}: call `register_trainable_weights` before `update`.")
        for lr in {id(x): x for x in self._group_lrs if isinstance(x, LRScheduler)}.values():
            used = sum(1 for x in self._group_lrs if x is lr)
            if used != lr.num_groups:
                raise ValueError(
                    f"{fn}: the scheduler has {lr.num_groups} learning rate(s) (`max_lr`) "
                    f"but drives {used} parameter group(s); give `max_lr` one entry per group."
                )
        params = self._params()
        grads = check_grads(fn, grads, params)
        updates, self.opt_state.value = self._tx().update(grads, self.opt_state.value, params)
        new_params: dict[Any, Any] = optax.apply_updates(params, updates)  # type: ignore[assignment]
        for key, value in new_params.items():
            self.param_states[key].value = value

    def step(self, grads: Mapping[Any, Any]) -> None:
        """braintools' name for `update`."""
        self.update(grads)

    # --- what the next update uses ------------------------------------------------------
    def _next(self, name: str) -> list[jax.Array]:
        """``name`` ("learning_rate" or the momentum) of each group for the next update."""
        state: ScheduledState = self.opt_state.value
        specs, n = self._hyper_specs(), len(self._groups())
        keys = [f"{g}/{name}" if n > 1 else name for g in range(n)]
        return [
            hyper(specs[k](state.count) if callable(specs[k]) else state.hyperparams[k])
            for k in keys
        ]

    @property
    def step_count(self) -> Any:
        """Number of updates applied (an int outside ``jit``)."""
        return counter_view(self.opt_state.value.count)

    @property
    def current_lr(self) -> Any:
        """The learning rate the next update uses (group 0)."""
        return concrete(self._next("learning_rate")[0])

    def get_last_lr(self) -> list[Any]:
        """The learning rate of each group for the next update (floats outside ``jit``)."""
        return [concrete(v) for v in self._next("learning_rate")]

    def lr_apply(self, fn: Callable[[float], Any]) -> None:
        """Set each group's learning rate to ``fn(rate)`` from now on.

        A float rate is replaced (a number the compiled update reads: no new trace). A group
        driven by a scheduler scales the scheduler's curve (`LRScheduler.lr_apply`: the first
        scaling of a curve traces the compiled update once more, later ones do not). A
        schedule function is refused (its rate is a function of the step: build another
        schedule).
        """
        name = f"{type(self).__name__}.lr_apply"
        lrs, state = self._groups(), self.opt_state.value
        if any(callable(lr) and not isinstance(lr, LRScheduler) for lr in lrs):
            raise TypeError(
                f"{name}: a learning rate given as a schedule function is a function of the "
                "step; build the optimizer on another schedule (or on a scheduler) instead."
            )
        for lr in {id(x): x for x in lrs if isinstance(x, LRScheduler)}.values():
            lr.lr_apply(fn)
        floats = [
            (f"{g}/learning_rate" if len(lrs) > 1 else "learning_rate")
            for g, lr in enumerate(lrs)
            if not isinstance(lr, LRScheduler)
        ]
        new = applied(name, fn, [state.hyperparams[k] for k in floats])
        hp = {**state.hyperparams, **{k: hyper(v) for k, v in zip(floats, new, strict=True)}}
        self.opt_state.value = state._replace(hyperparams=hp)

    # --- checkpoints ------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {"optimizer": type(self).__name__, "groups": len(self._groups())}

    def state_dict(self) -> dict[str, Any]:
        """A plain picklable dict: the settings, the step count and every buffer (numpy).

        A buffer sharded over the devices of several processes is gathered whole on every
        process, so in a multi-process run every process calls ``state_dict()``.
        """
        if not self.param_states:
            raise ValueError(
                f"{type(self).__name__}.state_dict: call `register_trainable_weights` first."
            )
        state = self.opt_state.value
        leaves = jax.tree_util.tree_flatten_with_path(state)[0]
        return {
            "settings": self._settings(),
            "step_count": int(_state_io.host(state.count)),
            "opt_state": {jax.tree_util.keystr(p): _state_io.host(v) for p, v in leaves},
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict` saved into an optimizer with the same weights and groups.

        Checked whole before anything changes (`_state_io`): another optimizer's dict, a
        missing or extra entry, a shape that differs, a non-numeric or non-finite buffer, a
        step count that disagrees with the saved count: refused, naming the entry. Each
        buffer lands with the dtype and where the buffer it replaces lives (its sharding;
        uncommitted if that one was).
        """
        fn, what = f"{type(self).__name__}.load_state_dict", type(self).__name__
        if not self.param_states:
            raise ValueError(f"{fn}: call `register_trainable_weights` first.")
        state_dict = _state_io.exact_keys(
            fn, state_dict, ["settings", "step_count", "opt_state"], what
        )
        _state_io.same_settings(
            fn, state_dict["settings"], self._settings(), what,
            hint="Restore it into the kind of optimizer, with the parameter groups, that saved it",
        )  # fmt: skip
        current = self.opt_state.value
        leaves = jax.tree_util.tree_flatten_with_path(current)[0]
        expected = {jax.tree_util.keystr(p): leaf for p, leaf in leaves}
        saved = _state_io.exact_keys(
            fn, state_dict["opt_state"], list(expected), what, "state_dict['opt_state']"
        )
        count = _validate.step_count(
            fn, "state_dict['step_count']", state_dict["step_count"], minimum=0
        )
        arrays = {
            k: _state_io.leaf(fn, f"state_dict['opt_state'][{k!r}]", saved[k], like)
            for k, like in expected.items()
        }
        if int(arrays[".count"]) != count:
            raise ValueError(
                f"{fn}: `state_dict['step_count']` is {count} but the saved optimizer count is "
                f"{int(arrays['.count'])}. Nothing was loaded."
            )
        self.opt_state.value = jax.tree_util.tree_map_with_path(
            lambda p, like: _state_io.place(arrays[jax.tree_util.keystr(p)], like), current
        )
