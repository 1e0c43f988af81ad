"""What an optimizer reads of a scheduler (`LRScheduler`), and the helpers every scheduler uses.

`LRScheduler` is the base a user subclasses to drive ``SGD(lr=...)``; `StepCount` is how a
counter reads (an ``int`` and braintools' ``.value``), `RateView` braintools'
``current_lrs``. The facades over pure schedules stand on `_facade.ScheduleFacade`; what
every scheduler saves and restores is checked by `_state_io`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ._state_io import jsonable

__all__ = ["LRScheduler", "StepCount", "RateView"]


def concrete(value: Any) -> Any:
    """A Python number when ``value`` is concrete, else ``value`` itself (a tracer).

    A float32 number becomes the Python float of its shortest decimal form (float32 0.05
    reads 0.05, not 0.05000000074505806): the same float32 when converted back.
    """
    if _validate.is_tracer(value):
        return value
    value = np.asarray(value)
    if value.ndim:
        return value
    if value.dtype == np.float32:
        return float(np.format_float_scientific(value[()], unique=True))
    return value.item()


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


class StepCount(int):
    """A step counter read as PyTorch reads it (an ``int``) and as braintools does (``.value``).

    ``scheduler.last_epoch == 5``, ``range(scheduler.last_epoch)`` and
    ``scheduler.last_epoch.value == 5`` all hold. It is a snapshot: writing ``.value`` back
    unchanged (as braintools code does) is allowed, another value is refused (move the
    scheduler with ``step(epoch)``). Inside ``jit`` a scheduler's counter is a traced int32
    scalar, returned as it is.
    """

    __module__ = "jax_onecycle"

    @property
    def value(self) -> int:
        """The count as a plain ``int`` (braintools' ``last_epoch.value``)."""
        return int(self)

    @value.setter
    def value(self, new: Any) -> None:  # braintools code writes back what it read
        if new != int(self):
            raise AttributeError(
                f"a read count cannot be changed (it is {int(self)}, given {new!r}); "
                "move the scheduler with `step(epoch)` or `load_state_dict`."
            )


def counter_view(value: Any) -> Any:
    """A concrete count as a `StepCount`; a traced one as it is."""
    value = concrete(value)
    return StepCount(value) if isinstance(value, int) else value


class RateView:
    """braintools' ``current_lrs``: ``.value`` holds the current rates, one per group.

    A read-only view of the scheduler's counters (nothing to keep in step): read outside
    ``jit`` it is a float32 array, inside ``jit`` the traced rates.
    """

    __module__ = "jax_onecycle"

    def __init__(self, scheduler: LRScheduler):
        self._scheduler = scheduler

    @property
    def value(self) -> jax.Array:
        """The rate of each parameter group now (a 1-D float32 array)."""
        s = self._scheduler
        return jnp.stack([jnp.asarray(s.group_lr(g), jnp.float32) for g in range(s.num_groups)])

    def __repr__(self) -> str:
        return f"RateView(value={self.value!r})"


class LRScheduler(brainstate.graph.Node):
    """What an optimizer reads of a learning-rate scheduler: one learning rate per group.

    Subclass it to drive ``SGD(lr=...)`` (or ``Adam``/``AdamW``) with a policy of your own.
    A subclass keeps every counter in a brainstate ``State`` made up front (so ``step()``
    works inside ``brainstate.transform.jit`` and never recompiles the update) and
    implements:

    - `group_lr(group)`: the learning rate of ``group`` now, from ``jnp`` operations on its
      States (it is read inside the compiled update);
    - `current_momentum()` (optional): the momentum now, or None to leave the optimizer's own;
    - `lr_apply(fn)`: set the current rates to ``fn(rate)``, from now on;
    - `state_dict()` / `load_state_dict(d)`.

    ``num_groups`` is the number of parameter groups it drives; an optimizer refuses to
    update when its groups and the scheduler's disagree. braintools' names are here too:
    ``current_lrs.value`` (the current rates, a `RateView`) and ``base_lrs``. Schedulers
    pickle through their constructor arguments and ``state_dict()``.

    ``is_schedule`` says whether ``scheduler(count)`` is a pure function of ``count`` (an
    optax schedule); a subclass whose rate is not sets it False and says why in
    ``not_a_schedule``.
    """

    __module__ = "jax_onecycle"
    is_schedule = True

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

    def settings(self) -> dict[str, Any]:
        """The constructor's arguments, defaults included, in JSON types (not ``last_epoch``).

        ``state_dict()`` records them and ``load_state_dict`` refuses a dict saved with
        other settings. A subclass with a setting its constructor arguments do not show
        overrides this and extends ``super().settings()``.
        """
        args, kwargs = self.__dict__.get("_init_args", ((), {}))
        bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        skip = {"self", "last_epoch"}
        return {k: jsonable(v) for k, v in list(bound.arguments.items())[1:] if k not in skip}

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

    @property
    def current_lrs(self) -> RateView:
        """braintools' name: ``current_lrs.value`` is the rate of each group now."""
        return RateView(self)

    def lr_apply(self, fn: Callable[[float], Any]) -> None:
        """Set each group's current rate to ``fn(rate)``, from now on (braintools' ``apply``)."""
        raise NotImplementedError

    apply = lr_apply

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        raise NotImplementedError


def applied(fn: str, apply_fn: Any, rates: Sequence[Any]) -> np.ndarray:
    """``apply_fn`` of each concrete rate, checked (finite, >= 0), as float32."""
    if not callable(apply_fn):
        _validate.fail(fn, "fn", "a function rate -> new rate", apply_fn, TypeError)
    if any(_validate.is_tracer(r) for r in rates):
        raise TypeError(f"{fn}: call it outside `jit` (the rates are traced here).")
    new = [apply_fn(float(r)) for r in rates]
    _validate.learning_rate(fn, "fn(rate)", new)
    return np.asarray(new, np.float32)


def per_group(fn: str, name: str, value: Any, make: Any) -> list[Any]:
    """``make`` applied to each validated learning rate of ``value`` (a float or a list)."""
    return [make(_validate.learning_rate(fn, name, v)) for v in as_list(fn, name, value)]
