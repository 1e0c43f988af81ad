"""`ScheduleFacade`: the machinery of every facade over pure schedules.

A facade keeps its counter, ``last_epoch``, in one brainstate ``State`` (int32, made up
front) and evaluates pure schedules at it: no curve maths lives here. Because the counter is
a State, ``scheduler.step()`` works outside and inside ``brainstate.transform.jit``, and an
``SGD`` built on the facade reads the current learning rate inside its compiled update
without recompiling. The facades themselves are in ``_onecycle.py``, ``_epoch.py``,
``_cyclic.py`` and ``_compose.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from .. import _validate
from ._scheduler import LRScheduler, applied, concrete, counter_view
from ._state_io import exact_keys, leaf, place, same_settings

__all__ = ["ScheduleFacade"]


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

    def _lr_scale(self) -> Any:
        """Every group's ``lr_apply`` factor: the record's array, or ones (host) if none."""
        scale = self._record.value.get("scale")
        return np.ones(self.num_groups, np.float32) if scale is None else scale

    def _set_lr_scale(self, scale: np.ndarray, like: Any) -> None:
        """Keep ``scale`` (float32, one per group) placed as ``like``.

        The record gains the entry at the first factor other than 1 and keeps it from then on
        (back at 1 too): its structure changes once, so a compiled update retraces once.
        """
        if "scale" not in self._record.value and bool(np.all(np.asarray(scale) == 1.0)):
            return
        self._set_curve_record("scale", place(scale, jnp.asarray(like)))

    def _set_curve_record(self, name: str, value: ArrayLike | None) -> None:
        """Keep ``value`` in the record State (None: drop ``name``): a compiled update that
        read a rate retraces when its shape or the record's keys change (e.g.
        ``OneCycleLR``'s horizon changes). Each entry is one more leaf that every compiled
        call passes, so an entry that only marks a change is left out until there is one.

        The record's structure changes on purpose here, so brainstate's optional tree check
        (``brainstate.check_state_value_tree()``) is off for this one write.
        """
        record = {k: v for k, v in self._record.value.items() if k != name}
        with brainstate.check_state_value_tree(False):
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
        # a jump, as `step(epoch)` makes it (a subclass with state derived from the counter
        # keeps it in step there), checked first under the name the user wrote
        self.step(_counter(type(self).__name__, "last_epoch", value))

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
