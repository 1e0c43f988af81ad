"""PyTorch's composing schedulers as facades: `SequentialLR`, `LambdaLR`, `MultiplicativeLR`.

`SequentialLR` joins the curves of the package's facades with `sequential_schedule` (one
``last_epoch`` State, nothing on the host). `LambdaLR` and `MultiplicativeLR` take any Python
function of the epoch, as PyTorch users write them (``math``, ``if``, ``max``): ``step()``
evaluates it on the host and writes the rates into a State, which the compiled update of an
optimizer built on the facade reads without a new trace. A rule JAX can trace also serves as
an optax schedule (``scheduler(count)``); one it cannot refuses that with a TypeError.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from .. import _validate
from ..schedules._compose import (
    check_milestones,
    lambda_curve,
    multiplicative_curve,
    sequential_schedule,
    traces_to_a_real,
)
from ._facade import ScheduleFacade
from ._scheduler import as_list
from ._state_io import leaf, place

__all__ = ["SequentialLR", "LambdaLR", "MultiplicativeLR"]

_UNTRACEABLE = (
    "its `lr_lambda` cannot be traced by JAX (it needs a concrete epoch: math, float, if on "
    "the epoch), so the facade evaluates it on the host at step(); read as a schedule "
    "`count -> value` under jax.jit its rate would freeze. Pass the facade itself (SGD(lr="
    "scheduler)), or write lr_lambda with jnp operations (then `lambda_schedule` / "
    "`multiplicative_schedule` give the pure schedule)."
)


class _Rule:
    """One parameter group's rule: its base rate, the function, and whether JAX traces it."""

    def __init__(self, fn: str, name: str, base: Any, rule: Any):
        if not callable(rule):
            _validate.fail(fn, name, "a function of the epoch", rule, TypeError)
        self.fn, self.name, self.rule = fn, name, rule
        self.base = float(_validate.learning_rate(fn, "base_lr", base))
        self.traceable = traces_to_a_real(rule) is True

    def _message(self, value: Any, epoch: int) -> str:
        return (
            f"{self.fn}: `{self.name}` must return a finite real number, got {value!r} at "
            f"epoch {epoch}; nothing was changed."
        )

    def factor(self, epoch: int) -> float:
        """``rule(epoch)`` on the host: a finite real, or an error naming the rule and value."""
        value = self.rule(epoch)
        if isinstance(value, jax.Array | np.ndarray | np.generic) and np.ndim(value) == 0:
            value = np.asarray(value).item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(self._message(value, epoch))
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(self._message(value, epoch))
        return value


class _RuleFacade(ScheduleFacade):
    """What `LambdaLR` and `MultiplicativeLR` share: host rules, the rates in a State."""

    _curve: Callable[[jax.Array, Any, int], optax.Schedule]

    def __init__(self, base_lr: Any, lr_lambda: Any, last_epoch: int):
        fn = type(self).__name__
        bases = as_list(fn, "base_lr", base_lr)
        if isinstance(lr_lambda, list | tuple):
            if len(lr_lambda) != len(bases):
                raise ValueError(
                    f"{fn}: `lr_lambda` must be one function or one per group ({len(bases)}), "
                    f"got {len(lr_lambda)}: {lr_lambda!r}."
                )
            rules = [_Rule(fn, f"lr_lambda[{g}]", b, r) for g, (b, r) in enumerate(
                zip(bases, lr_lambda, strict=True))]  # fmt: skip
        else:
            rules = [_Rule(fn, "lr_lambda", b, lr_lambda) for b in bases]
        self._rules = rules
        if all(r.traceable for r in rules):
            curves = [type(self)._curve(jnp.float32(r.base), r.rule, 1) for r in rules]
        else:  # not a function of the step that JAX can compute: `__call__` refuses
            self.is_schedule = False
            self.not_a_schedule = _UNTRACEABLE
            curves = [self._refuse for _ in rules]
        super().__init__(curves, last_epoch)
        epoch = int(np.asarray(self._epoch))
        # float64 on the host: the rates PyTorch computes (Python floats), to the last bit; in
        # the facade's one record State, read with the counter by a compiled update
        self._set_curve_record("rates", np.asarray(self._host_rates(epoch), np.float64))

    @property
    def _rates(self) -> Any:
        """The current rate of each group (the record's ``"rates"``)."""
        return self._record.value["rates"]

    def _refuse(self, count: ArrayLike) -> jax.Array:
        raise TypeError(f"{type(self).__name__} cannot serve as a schedule: {_UNTRACEABLE}")

    def _host_rates(self, epoch: int, previous: list[float] | None = None) -> list[float]:
        raise NotImplementedError

    def _traced_rates(self, epoch: jax.Array, previous: jax.Array, by_one: bool) -> jax.Array:
        raise NotImplementedError

    def group_lr(self, group: int) -> jax.Array:
        record = self._record.value  # one read: the rates and any scale
        rate = jnp.asarray(record["rates"][group], jnp.float32)
        scale = record.get("scale")
        return rate if scale is None else rate * jnp.asarray(scale[group], jnp.float32)

    def __call__(self, count: ArrayLike) -> jax.Array:
        """The rate of group 0 at ``count`` when ``lr_lambda`` is traceable; else a TypeError."""
        return super().__call__(count)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``) and evaluate ``lr_lambda`` on the host.

        A value of ``lr_lambda`` that is not a finite real number is refused (TypeError /
        ValueError naming it and the value) with nothing changed. Inside ``jit`` only a
        traceable ``lr_lambda`` can be evaluated; a host-side one is refused there.
        """
        fn = f"{type(self).__name__}.step"
        current = self._epoch
        if _validate.is_tracer(current) or _validate.is_tracer(epoch):
            if not self.is_schedule:  # set at construction: every rule traceable
                raise TypeError(f"{fn}: call it outside `jit`: {_UNTRACEABLE}")
            by_one = epoch is None
            new = optax.safe_increment(jnp.asarray(current, jnp.int32)) if by_one else epoch
            rates = self._traced_rates(jnp.asarray(new, jnp.int32), self._rates, by_one)
            super().step(epoch)
            self._set_curve_record("rates", rates.astype(self._rates.dtype))
            return
        now = int(np.asarray(current))
        if epoch is None:
            new, previous = min(now + 1, _validate.INT32_MAX), list(np.asarray(self._rates))
            previous = previous if new == now + 1 else None
        else:
            new, previous = _validate.step_count(fn, "epoch", epoch, minimum=0), None
            if new == now + 1:
                previous = list(np.asarray(self._rates))
        if new == now:  # the counter saturated at 2**31 - 1 (or a jump to where it is)
            rates = list(np.asarray(self._rates))
        else:
            rates = self._host_rates(new, previous)  # raises before anything changes
        super().step(new)
        self._set_curve_record("rates", np.asarray(rates, np.float64))

    def extra_state(self) -> dict[str, Any]:
        """The current rates (float64, as PyTorch's Python floats), restored as saved."""
        return {"rates": np.asarray(self._rates, np.float64).tolist()}

    def restore_extra(self, fn: str, entries: Mapping[str, Any]) -> Callable[[], None]:
        rates = leaf(fn, "state_dict['rates']", entries["rates"], self._rates)

        def load() -> None:
            self._set_curve_record("rates", place(rates, self._rates))

        return load


class LambdaLR(_RuleFacade):
    """PyTorch's ``LambdaLR``: ``base_lr * lr_lambda(epoch)``, any Python ``lr_lambda``.

    ``step()`` evaluates ``lr_lambda`` on the host (plain ``math``, ``if``, ``max`` are
    fine) and stores the rate in a State: ``SGD(lr=scheduler)`` reads it inside its
    compiled update without a new trace. If JAX can trace ``lr_lambda`` the facade is also
    an optax schedule (``scheduler(count)``, as `lambda_schedule`); otherwise calling it
    raises a TypeError saying why.

    ``state_dict()`` records the settings and the current rates; ``load_state_dict``
    restores them exactly. A function cannot be compared: the settings record
    ``lr_lambda`` by its qualified name (``"<get_scheduler.<locals>.lr_lambda>"``), so a
    dict saved with another function *name* is refused, and the rates are restored as saved.

    Args:
      base_lr: the rate the factor multiplies, or a list (one per parameter group).
      lr_lambda: ``epoch -> factor`` (a real number), or a list (one per group).
      last_epoch: starting epoch (to resume).

    Examples:
      >>> import math
      >>> sched = LambdaLR(0.1, lambda epoch: max(0.1, math.cos(epoch / 4)))
      >>> for _ in range(3):
      ...     sched.step()
      >>> sched.last_epoch, round(sched.get_last_lr()[0], 5)
      (3, 0.07317)
    """

    __module__ = "jax_onecycle"
    _curve = staticmethod(lambda_curve)

    def __init__(self, base_lr: Any, lr_lambda: Any, last_epoch: int = 0):
        super().__init__(base_lr, lr_lambda, last_epoch)

    def _host_rates(self, epoch: int, previous: list[float] | None = None) -> list[float]:
        return [r.base * r.factor(epoch) for r in self._rules]

    def _traced_rates(self, epoch: jax.Array, previous: jax.Array, by_one: bool) -> jax.Array:
        return jnp.stack([r.base * jnp.asarray(r.rule(epoch), previous.dtype)
                          for r in self._rules])  # fmt: skip


class MultiplicativeLR(_RuleFacade):
    """PyTorch's ``MultiplicativeLR``: each ``step()`` multiplies the rate by ``lr_lambda(epoch)``.

    The rate at epoch ``e`` is ``base_lr * lr_lambda(1) * ... * lr_lambda(e)``, multiplied on
    the host in float64 in PyTorch's order, so it equals PyTorch's to the last bit; a jump
    (``step(epoch)``, a ``last_epoch`` given) multiplies from ``base_lr`` again. Otherwise as
    `LambdaLR`: any Python ``lr_lambda``, the rates in a State, ``state_dict()`` with the
    settings (``lr_lambda`` by qualified name) and the rates.

    Args:
      base_lr: the rate at epoch 0, or a list (one per parameter group).
      lr_lambda: ``epoch -> factor`` (a real number), or a list (one per group).
      last_epoch: starting epoch (to resume).

    Examples:
      >>> sched = MultiplicativeLR(1.0, lambda epoch: 0.5 if epoch % 2 else 1.0)
      >>> [sched.get_last_lr()[0] for _ in range(4) if sched.step() is None]
      [0.5, 0.5, 0.25, 0.25]
    """

    __module__ = "jax_onecycle"
    _curve = staticmethod(multiplicative_curve)

    def __init__(self, base_lr: Any, lr_lambda: Any, last_epoch: int = 0):
        super().__init__(base_lr, lr_lambda, last_epoch)

    def _host_rates(self, epoch: int, previous: list[float] | None = None) -> list[float]:
        if previous is not None:  # one step on: PyTorch's `lr * lr_lambda(epoch)`
            return [p * r.factor(epoch) for p, r in zip(previous, self._rules, strict=True)]
        rates = []
        for r in self._rules:
            rate = r.base
            for i in range(1, epoch + 1):
                rate *= r.factor(i)
            rates.append(rate)
        return rates

    def _traced_rates(self, epoch: jax.Array, previous: jax.Array, by_one: bool) -> jax.Array:
        if by_one:
            return jnp.stack([previous[g] * jnp.asarray(r.rule(epoch), previous.dtype)
                              for g, r in enumerate(self._rules)])  # fmt: skip
        return jnp.stack([multiplicative_curve(jnp.asarray(r.base, previous.dtype), r.rule, 1)(
            epoch) for r in self._rules])  # fmt: skip


class SequentialLR(ScheduleFacade):
    """PyTorch's ``SequentialLR`` over the package's facades: one after another, at milestones.

    Epoch ``e < m_1`` follows ``schedulers[0]`` at ``e``; ``m_i <= e < m_{i+1}`` follows
    ``schedulers[i]`` at ``e - m_i`` (each restarted at its milestone), the last one going on:
    `sequential_schedule` of their curves, evaluated at this facade's own ``last_epoch``
    (the schedulers given are read for their curves, not stepped). Where PyTorch departs
    from the restart rule (a later ``MultiplicativeLR`` carries on from the previous rate;
    ``OneCycleLR`` overwrites ``initial_lr``) the rule holds here; see the porting page.

    Args:
      schedulers: the package's facades (``LinearLR``, ``CosineAnnealingLR``,
        ``OneCycleLR``, ..., ``LambdaLR`` with a traceable ``lr_lambda``, another
        ``SequentialLR``), with the same number of parameter groups.
      milestones: strictly increasing positive epochs, one fewer than ``schedulers``.
      last_epoch: starting epoch (to resume).

    Examples:
      >>> from jax_onecycle import CosineAnnealingLR, LinearLR
      >>> sched = SequentialLR([LinearLR(1.0, start_factor=0.5, total_iters=2),
      ...                       CosineAnnealingLR(1.0, T_max=2)], milestones=[2])
      >>> [sched(e).item() for e in range(5)]
      [0.5, 0.75, 1.0, 0.5, 0.0]
    """

    __module__ = "jax_onecycle"

    def __init__(self, schedulers: Sequence[Any], milestones: Sequence[int], last_epoch: int = 0):
        fn = "SequentialLR"
        allowed = "a non-empty list of the package's facades (StepLR, OneCycleLR, ...)"
        if isinstance(schedulers, str | bytes) or not isinstance(schedulers, Sequence):
            _validate.fail(fn, "schedulers", allowed, schedulers, TypeError)
        if len(schedulers) == 0:
            _validate.fail(fn, "schedulers", allowed, schedulers)
        for i, s in enumerate(schedulers):
            _check_part(fn, f"schedulers[{i}]", s, schedulers[0])
        marks = check_milestones(fn, "milestones", milestones, len(schedulers))
        groups = schedulers[0].num_groups
        curves = [sequential_schedule([s._schedules[g] for s in schedulers], marks)
                  for g in range(groups)]  # fmt: skip
        momenta = [s._momentum_schedule for s in schedulers]
        momentum = None if momenta[0] is None else sequential_schedule(momenta, marks)
        self.milestones = marks
        super().__init__(curves, last_epoch, momentum)

    def settings(self) -> dict[str, Any]:
        """The parts' kinds and settings, and the milestones (what a resume checks)."""
        args, kwargs = self.__dict__["_init_args"]
        schedulers = kwargs.get("schedulers", args[0] if args else None)
        parts = [{"scheduler": type(s).__name__, "settings": s.settings()} for s in schedulers]
        return {"schedulers": parts, "milestones": list(self.milestones)}


def _check_part(fn: str, name: str, part: Any, first: Any) -> None:
    """A facade whose rate is a function of its step, fitting the first one's groups."""
    if not isinstance(part, ScheduleFacade):
        _validate.fail(
            fn, name,
            "one of the package's step-driven facades (StepLR, LinearLR, OneCycleLR, "
            "CosineAnnealingLR, LambdaLR, ...; not ReduceLROnPlateau, whose rate follows a "
            "metric, nor another library's scheduler)",
            part, TypeError,
        )  # fmt: skip
    _validate.schedule(fn, name, part)
    if part.num_groups != first.num_groups:
        raise ValueError(
            f"{fn}: `{name}` drives {part.num_groups} parameter group(s), but `schedulers[0]` "
            f"drives {first.num_groups}; every scheduler must drive the same groups."
        )
    if (part._momentum_schedule is None) != (first._momentum_schedule is None):
        raise ValueError(
            f"{fn}: `{name}` and `schedulers[0]` disagree on cycling momentum "
            "(cycle_momentum=True): either every scheduler cycles it or none does."
        )
    scale = np.asarray(part._lr_scale()).tolist()
    if any(s != 1.0 for s in scale):
        raise ValueError(
            f"{fn}: `{name}` has been rescaled by lr_apply (lr_scale={scale}); compose the "
            "schedulers first, then call lr_apply on the SequentialLR."
        )
