"""What `SGD` reads of a scheduler (`LRScheduler`), and the machinery of every facade.

A facade (`ScheduleFacade`) keeps one counter, ``last_epoch``, in a brainstate ``State``
(int32, made up front), and evaluates pure schedules at it: no curve maths lives here.
Because the counter is a State, ``scheduler.step()`` works outside and inside
``brainstate.transform.jit``, and an ``SGD`` built on the facade reads the current learning
rate inside its compiled update without ever recompiling. The facades themselves are in
``_facades.py`` and ``_facades_more.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from .. import _validate

__all__ = ["LRScheduler", "ScheduleFacade"]


def concrete(value: Any) -> Any:
    """A Python number when ``value`` is concrete, else ``value`` itself (a tracer)."""
    if _validate.is_tracer(value):
        return value
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value


def _counter(fn: str, name: str, value: Any) -> Any:
    """A step counter for an int32 State: numpy on the host, int32 jnp under a trace.

    A concrete value must be an integer in [0, 2**31 - 1] (not a bool, a float or a
    string); a traced one must have an integer dtype. Host values stay numpy, so a counter
    stepped per batch costs no device dispatch, and a compiled update reads it like any
    int32 scalar (same abstract value: nothing recompiles).
    """
    if _validate.is_tracer(value):
        if not jnp.issubdtype(value.dtype, jnp.integer) or value.ndim != 0:
            _validate.fail(fn, name, "an integer scalar", value, TypeError)
        return value.astype(jnp.int32)
    if isinstance(value, jax.Array):  # a device value written back by jit
        value = np.asarray(value)
    return np.int32(_validate.step_count(fn, name, value, minimum=0))


def _advance(value: Any) -> Any:
    """``value + 1``, saturating at 2**31 - 1 (a counter never wraps to a negative step)."""
    if _validate.is_tracer(value):
        return optax.safe_increment(value.astype(jnp.int32))
    current = int(np.asarray(value))
    return np.int32(min(current + 1, _validate.INT32_MAX))


def as_list(fn: str, name: str, value: Any) -> list[Any]:
    """A learning rate per parameter group: a list, a tuple or a 1-D array give several."""
    if isinstance(value, np.ndarray | jax.Array) and np.ndim(value) == 1:
        value = list(np.asarray(value))
    if isinstance(value, list | tuple):
        if len(value) == 0:
            raise ValueError(f"{fn}: `{name}` must not be an empty list, got {value!r}.")
        return list(value)
    return [value]


def _rebuild(cls: type, args: tuple, kwargs: dict, state: dict) -> Any:
    scheduler = cls(*args, **kwargs)
    scheduler.load_state_dict(state)
    return scheduler


class LRScheduler(brainstate.graph.Node):
    """What `SGD` reads of a learning-rate scheduler: one learning rate per parameter group.

    Subclass it to drive `SGD(lr=...)` with a policy of your own. A subclass keeps every
    counter in a brainstate ``State`` made up front (so ``step()`` works inside
    ``brainstate.transform.jit`` and never recompiles the update) and implements:

    - `group_lr(group)`: the learning rate of ``group`` now, from ``jnp`` operations on its
      States (it is read inside the compiled update);
    - `current_momentum()` (optional): the momentum now, or None to leave `SGD`'s own;
    - `state_dict()` / `load_state_dict(d)`.

    ``num_groups`` is the number of parameter groups it drives; an `SGD` refuses to update
    when its groups and the scheduler's disagree. Schedulers pickle through their
    constructor arguments and ``state_dict()``.
    """

    __module__ = "jax_onecycle"

    def __init__(self, num_groups: int):
        self.num_groups = num_groups

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def recording_init(self, *args: Any, **kw: Any) -> None:
            if "_init_args" not in self.__dict__:  # the outermost constructor's arguments
                self.__dict__["_init_args"] = (args, kw)
            init(self, *args, **kw)

        cls.__init__ = recording_init  # type: ignore[method-assign]

    def __reduce__(self) -> tuple:
        args, kwargs = self.__dict__.get("_init_args", ((), {}))
        return _rebuild, (type(self), args, kwargs, self.state_dict())

    def group_lr(self, group: int) -> jax.Array:
        """The learning rate of parameter group ``group`` now (``jnp`` only)."""
        raise NotImplementedError

    def current_momentum(self) -> jax.Array | None:
        """The momentum now, or None when the scheduler does not set it."""
        return None

    def get_lr(self) -> list[Any]:
        """Learning rate of each parameter group now (floats outside ``jit``)."""
        return [concrete(self.group_lr(g)) for g in range(self.num_groups)]

    def get_last_lr(self) -> list[Any]:
        """The learning rates the next update uses (PyTorch's ``get_last_lr``)."""
        return self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        raise NotImplementedError


class ScheduleFacade(LRScheduler):
    """A facade over pure schedules (one per group) evaluated at ``last_epoch``.

    ``last_epoch`` lives in an int32 State, so ``step()`` works outside and inside
    ``brainstate.transform.jit``; no curve maths lives here. A subclass builds its
    schedules (validating its own arguments under its own name) and hands them here.
    """

    def __init__(
        self,
        schedules: Sequence[optax.Schedule],
        last_epoch: int = 0,
        momentum: optax.Schedule | None = None,
    ):
        super().__init__(len(schedules))
        epoch = _counter(type(self).__name__, "last_epoch", last_epoch)
        # A host-side int32 (numpy) outside jit: stepping it per batch costs no dispatch,
        # and a compiled update reads it like any int32 scalar (same abstract value).
        self._epoch = brainstate.LongTermState(epoch)
        self._schedules = list(schedules)
        self._momentum_schedule = momentum

    def group_lr(self, group: int) -> jax.Array:
        return jnp.asarray(self._schedules[group](self._epoch.value))

    def current_momentum(self) -> jax.Array | None:
        if self._momentum_schedule is None:
            return None
        return jnp.asarray(self._momentum_schedule(self._epoch.value))

    @property
    def last_epoch(self) -> Any:
        """Number of ``step()`` calls so far (an int outside ``jit``)."""
        return concrete(self._epoch.value)

    @last_epoch.setter
    def last_epoch(self, value: Any) -> None:
        self._epoch.value = _counter(type(self).__name__, "last_epoch", value)

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to ``epoch``); works inside ``brainstate.transform.jit``.

        The counter saturates at 2**31 - 1: one more ``step()`` there keeps the last value.
        """
        fn = f"{type(self).__name__}.step"
        if epoch is None:
            self._epoch.value = _advance(self._epoch.value)
        else:
            self._epoch.value = _counter(fn, "epoch", epoch)

    def __call__(self, count: ArrayLike) -> jax.Array:
        """The positive learning rate of group 0 at ``count``: an optax schedule."""
        return jnp.asarray(self._schedules[0](jnp.asarray(count)))

    def state_dict(self) -> dict[str, Any]:
        """A plain, picklable dict: ``{"last_epoch": int}``."""
        return {"last_epoch": int(np.asarray(self._epoch.value))}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore ``last_epoch`` (same dtype: nothing compiled is invalidated).

        A dict that is not exactly ``{"last_epoch": int}`` (another scheduler's, a missing
        or extra entry, a negative or non-integer count) is refused whole.
        """
        fn = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            _validate.fail(fn, "state_dict", 'a mapping {"last_epoch": int}', state_dict, TypeError)
        if set(state_dict) != {"last_epoch"}:
            _validate.fail(
                fn,
                "state_dict",
                'a mapping with exactly the key "last_epoch" '
                "(a state dict of this kind of scheduler)",
                sorted(map(str, state_dict)),
            )
        self._epoch.value = _counter(fn, "state_dict['last_epoch']", state_dict["last_epoch"])


def per_group(fn: str, name: str, value: Any, make: Any) -> list[Any]:
    """``make`` applied to each validated learning rate of ``value`` (a float or a list)."""
    return [make(_validate.learning_rate(fn, name, v)) for v in as_list(fn, name, value)]
