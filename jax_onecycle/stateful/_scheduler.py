"""What an optimizer reads of a scheduler (`LRScheduler`), and the machinery of every facade.

A facade (`ScheduleFacade`) keeps its counter, ``last_epoch``, in one brainstate ``State``
(int32, made up front), and evaluates pure schedules at it: no curve maths lives here.
Because the counter is a State, ``scheduler.step()`` works outside and inside
``brainstate.transform.jit``, and an ``SGD`` built on the facade reads the current learning
rate inside its compiled update without ever recompiling. The facades themselves are in
``_onecycle.py``, ``_epoch.py``, ``_cyclic.py`` and ``_plateau.py``; what they save and restore
is checked by `_state_io`.
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
import optax
from jax.typing import ArrayLike

from .. import _validate
from ._state_io import exact_keys, jsonable, leaf, place, same_settings

__all__ = ["LRScheduler", "ScheduleFacade", "StepCount", "RateView"]


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


class ScheduleFacade(LRScheduler):
    """A facade over pure schedules (one per group) evaluated at ``last_epoch``.

    ``last_epoch`` lives in an int32 State, so ``step()`` works outside and inside
    ``brainstate.transform.jit``; no curve maths lives here. A subclass builds its
    schedules (validating its own arguments under its own name) and hands them here.
    ``last_epoch`` reads as an ``int`` and as braintools' ``last_epoch.value`` (a
    `StepCount`). ``lr_apply(fn)`` scales each group's curve from then on (a float32 factor
    per group, saved with the state; an optimizer's compiled update is traced once more when
    a curve is first scaled, then never); ``scheduler(count)`` stays the curve itself.

    ``state_dict()`` is ``{"last_epoch", "lr_scale", "settings", **extra_state()}``;
    ``load_state_dict`` refuses a dict saved with other `settings` (naming the first that
    differs and both values) and loads nothing unless every entry fits. A subclass with
    state of its own (``OneCycleLR``'s horizon changes) overrides the two hooks
    `extra_state` and `restore_extra` rather than the two methods.
    """

    def __init__(
        self,
        schedules: Sequence[optax.Schedule],
        last_epoch: int = 0,
        momentum: optax.Schedule | None = None,
    ):
        super().__init__(len(schedules))
        epoch = _counter(type(self).__name__, "last_epoch", last_epoch)
        # ONE State that a compiled update reads with each rate (brainstate's per-call cost
        # grows with every State a call reads, and with every leaf): the counter, a
        # host-side int32 (numpy) outside jit, so stepping it per batch costs no device
        # dispatch and a compiled update reads it like any int32 scalar (same abstract
        # value); then, only once there is one, what changes the curve from the host:
        # ``lr_apply``'s scale (a float32 device array) and whatever a subclass adds with
        # `_set_curve_record`. A new entry, or a new shape, makes brainstate trace again.
        self._record = brainstate.LongTermState({"epoch": epoch})
        self._unscaled = np.ones(len(schedules), np.float32)
        self._schedules = list(schedules)
        self._momentum_schedule = momentum
        given: Any = self.settings().get("base_lr")
        base: list[Any] = given if isinstance(given, list) else [given]
        if len(base) == len(schedules) and all(isinstance(b, int | float) for b in base):
            self.base_lrs = [float(b) for b in base]  # braintools' base_lrs: the base_lr given
        else:  # a facade without base_lr (OneCycleLR): its rate at step 0, as braintools
            self.base_lrs = [float(concrete(s(0))) for s in self._schedules]

    @property
    def _epoch(self) -> Any:
        """The step counter, read from the record State (numpy int32 outside ``jit``)."""
        return self._record.value["epoch"]

    def _set_epoch(self, epoch: Any) -> None:
        self._record.value = {**self._record.value, "epoch": epoch}

    def _scale(self, group: int) -> Any:
        """``lr_apply``'s factor of ``group``, read from the record State (1 if none)."""
        scale = self._record.value.get("scale")
        return 1.0 if scale is None else scale[group]

    def _lr_scale(self) -> Any:
        """Every group's ``lr_apply`` factor: the record's array, or ones (host) if none."""
        return self._record.value.get("scale", self._unscaled)

    def _set_lr_scale(self, scale: np.ndarray, like: Any) -> None:
        """Keep ``scale`` (float32, one per group) placed as ``like``; none while all 1."""
        unscaled = bool(np.all(np.asarray(scale) == 1.0))
        self._set_curve_record("scale", None if unscaled else place(scale, jnp.asarray(like)))

    def _set_curve_record(self, name: str, value: ArrayLike | None) -> None:
        """Keep ``value`` in the record State (None: drop ``name``): a compiled update that
        read a rate retraces when its shape or the record's keys change (e.g.
        ``OneCycleLR``'s horizon changes). Each entry is one more leaf that every compiled
        call passes, so an entry that only marks a change is left out until there is one."""
        record = {k: v for k, v in self._record.value.items() if k != name}
        self._record.value = record if value is None else {**record, name: value}

    def group_lr(self, group: int) -> jax.Array:
        record = self._record.value  # one read: the counter and any scale
        rate = jnp.asarray(self._schedules[group](record["epoch"]))
        scale = record.get("scale")
        return rate if scale is None else rate * jnp.asarray(scale[group], rate.dtype)

    def current_momentum(self) -> jax.Array | None:
        if self._momentum_schedule is None:
            return None
        return jnp.asarray(self._momentum_schedule(self._epoch))

    def lr_apply(self, fn: Callable[[float], Any]) -> None:
        """Scale each group's curve so that its rate now becomes ``fn(rate)``, from now on.

        A group whose rate is 0 now keeps its curve if ``fn(0) == 0`` and is refused
        otherwise (no factor turns 0 into another rate). The factors join the State a
        compiled update reads: the first scaling traces that update once more (an unscaled
        run passes no factor at all); later ones change values only and never recompile.
        """
        name = f"{type(self).__name__}.lr_apply"
        rates = np.asarray(self.get_lr(), np.float64)
        new = applied(name, fn, list(rates))
        if np.any((rates == 0) & (new != 0)):
            raise ValueError(f"{name}: a group's rate is 0 now; no factor makes it {new}.")
        ratio = np.where(rates == 0, 1.0, new / np.where(rates == 0, 1.0, rates))
        old = self._lr_scale()
        self._set_lr_scale((np.asarray(old) * ratio).astype(np.float32), old)

    @property
    def last_epoch(self) -> Any:
        """Number of ``step()`` calls so far (a `StepCount` outside ``jit``)."""
        return counter_view(self._epoch)

    @last_epoch.setter
    def last_epoch(self, value: Any) -> None:
        self._set_epoch(_counter(type(self).__name__, "last_epoch", value))

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to ``epoch``); works inside ``brainstate.transform.jit``.

        The counter saturates at 2**31 - 1: one more ``step()`` there keeps the last value.
        """
        fn = f"{type(self).__name__}.step"
        if epoch is None:
            record = self._record.value  # once per batch: one read, one write
            self._record.value = {**record, "epoch": _advance(record["epoch"])}
        else:
            self._set_epoch(_counter(fn, "epoch", epoch))

    def __call__(self, count: ArrayLike) -> jax.Array:
        """The positive learning rate of group 0 at ``count``: an optax schedule."""
        return jnp.asarray(self._schedules[0](jnp.asarray(count)))

    def extra_state(self) -> dict[str, Any]:
        """Hook: more entries for `state_dict` (plain, picklable values); none here."""
        return {}

    def restore_extra(self, fn: str, entries: Mapping[str, Any]) -> Callable[[], None]:
        """Hook: check ``entries`` (the keys `extra_state` gives) and return what loads them.

        Raise on any misfit before returning; the returned function runs only once every
        entry of the dict has passed, so nothing is half loaded.
        """
        del fn, entries
        return lambda: None

    def state_dict(self) -> dict[str, Any]:
        """A plain, picklable dict: ``last_epoch``, ``lr_scale``, ``settings`` and extras."""
        return {
            "last_epoch": int(np.asarray(self._epoch)),
            "lr_scale": np.asarray(self._lr_scale()).tolist(),
            "settings": self.settings(),
            **self.extra_state(),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore ``last_epoch`` and ``lr_scale`` (same dtypes: nothing recompiles).

        A dict of another kind (a missing or extra entry), saved with other settings, or
        with a negative or non-integer count is refused whole: nothing is loaded.
        """
        fn = f"{type(self).__name__}.load_state_dict"
        extra = self.extra_state()
        what = type(self).__name__
        keys = ["last_epoch", "lr_scale", "settings", *extra]
        state_dict = exact_keys(fn, state_dict, keys, what)
        same_settings(fn, state_dict["settings"], self.settings(), what)
        epoch = _counter(fn, "state_dict['last_epoch']", state_dict["last_epoch"])
        old = self._lr_scale()
        scale = leaf(fn, "state_dict['lr_scale']", state_dict["lr_scale"], old)
        load_extra = self.restore_extra(fn, {k: state_dict[k] for k in extra})
        self._set_epoch(epoch)
        self._set_lr_scale(scale, old)
        load_extra()


def per_group(fn: str, name: str, value: Any, make: Any) -> list[Any]:
    """``make`` applied to each validated learning rate of ``value`` (a float or a list)."""
    return [make(_validate.learning_rate(fn, name, v)) for v in as_list(fn, name, value)]
