"""Hugging Face's scheduler names as pure schedules: `get_schedule`.

``transformers.get_scheduler(name, optimizer, num_warmup_steps, num_training_steps,
scheduler_specific_kwargs)`` picks a ``LambdaLR`` by name; `get_schedule` takes the same name
and keywords and returns the schedule ``k -> get_last_lr()[0]`` after ``k`` calls of
``scheduler.step()``, during training and past its end. The names the family already has
(``linear``, ``cosine``, ``constant_with_warmup``, ``warmup_stable_decay``) reuse its curve
builders (``*_curve``, given the arguments checked here once); the others are segments of
the curve engine (``_engine``). Unknown names and
keyword arguments are refused by name (Hugging Face dropped unknown keywords silently until
recently, and still does for ``constant``/``constant_with_warmup``).
Reference: ``transformers/optimization.py``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine
from ._huggingface import (
    after_warmup,
    check_wsd_options,
    constant_warmup_curve,
    cosine_warmup_curve,
    linear_warmup_curve,
    wsd_curve,
)
from ._spec import recorded

__all__ = ["get_schedule"]

_FN = "get_schedule"

# The scheduler_specific_kwargs each name takes (transformers' keyword names); a name that
# is not in _NEEDS_TOTAL may leave ``num_training_steps`` out (None).
_KWARGS: dict[str, tuple[str, ...]] = {
    "linear": (),
    "cosine": ("num_cycles",),
    "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power"),
    "constant": (),
    "constant_with_warmup": (),
    "inverse_sqrt": ("timescale",),
    "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
    "warmup_stable_decay": (
        "num_decay_steps",
        "num_stable_steps",
        "warmup_type",
        "decay_type",
        "min_lr_ratio",
        "num_cycles",
    ),
}
NAMES = tuple(_KWARGS)
_NEEDS_TOTAL = {
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
}
_ELSEWHERE = {
    "reduce_lr_on_plateau": "it follows a metric, not the step count: use "
    "`jax_onecycle.reduce_lr_on_plateau` (an optax transformation) or "
    "`jax_onecycle.ReduceLROnPlateau` (with `SGD`)",
    "greedy": "it follows a metric, not the step count, and has no pure-schedule form here",
}


# ---- argument reading -------------------------------------------------------------------------


def _name(name: Any) -> str:
    if isinstance(name, enum.Enum):  # transformers.SchedulerType
        name = name.value
    if isinstance(name, str) and name in _ELSEWHERE:
        raise ValueError(f"{_FN}: `name` {name!r} has no schedule here: {_ELSEWHERE[name]}.")
    return _validate.choice(_FN, "name", name, NAMES)


def _kwargs(name: str, kwargs: Any) -> dict[str, Any]:
    if kwargs is None:
        return {}
    if not isinstance(kwargs, Mapping):
        _validate.fail(_FN, "scheduler_specific_kwargs", "a dict or None", kwargs, TypeError)
    unknown = sorted(set(map(str, kwargs)) - set(_KWARGS[name]))
    if unknown:
        takes = ", ".join(_KWARGS[name]) or "none"
        raise ValueError(
            f"{_FN}: `scheduler_specific_kwargs` has {unknown}, which {name!r} does not take "
            f"(it takes: {takes})."
        )
    return dict(kwargs)


def _key(key: str) -> str:
    return f'scheduler_specific_kwargs["{key}"]'


def _steps(name: str, warmup: Any, total: Any) -> tuple[int, int | None]:
    """Validate the step counts given; require those the name needs (as Hugging Face does).

    ``constant`` ignores ``num_warmup_steps`` (0 when None), as Hugging Face does.
    """
    if warmup is not None:
        warmup = _validate.step_count(_FN, "num_warmup_steps", warmup, minimum=0)
    if total is not None:
        total = _validate.step_count(_FN, "num_training_steps", total)
    if name != "constant" and warmup is None:
        raise ValueError(f"{_FN}: {name!r} requires `num_warmup_steps`, got None.")
    if name in _NEEDS_TOTAL:
        if total is None:
            raise ValueError(f"{_FN}: {name!r} requires `num_training_steps`, got None.")
        if warmup > total or (name == "polynomial" and warmup == total):
            bound = "<" if name == "polynomial" else "<="
            raise ValueError(
                f"{_FN}: `num_warmup_steps` must be {bound} `num_training_steps` = {total} for "
                f"{name!r}, got {warmup}."
            )
    return (0 if warmup is None else warmup), total


def _min_rate(lr: Any, kw: dict[str, Any]) -> Any:
    """The floor as a fraction of ``lr``: ``min_lr_rate``, or ``min_lr / lr`` (one of them)."""
    if ("min_lr" in kw) == ("min_lr_rate" in kw):
        raise ValueError(
            f"{_FN}: give exactly one of `{_key('min_lr')}` and `{_key('min_lr_rate')}`, got "
            f"{ {k: kw[k] for k in ('min_lr', 'min_lr_rate') if k in kw} }."
        )
    if "min_lr_rate" in kw:
        return _validate.fraction(
            _FN, _key("min_lr_rate"), kw["min_lr_rate"], allow_zero=True, allow_one=True
        )
    low = _engine.rate_array(_validate.learning_rate(_FN, _key("min_lr"), kw["min_lr"]))
    if not bool(jnp.all(low <= lr)) or not bool(jnp.all(lr > 0)):
        raise ValueError(
            f"{_FN}: `{_key('min_lr')}` must be <= `base_lr` (> 0), got {kw['min_lr']!r} with "
            f"base_lr={lr!r}."
        )
    return low / lr


def _cycles(kw: dict[str, Any], default: float) -> float:
    return _validate.positive(_FN, _key("num_cycles"), kw.get("num_cycles", default))


# ---- the names that the family does not already have -------------------------------------


def _restarts(lr: Any, w: int, n: int, kw: dict[str, Any]) -> optax.Schedule:
    span = max(1, n - w)  # progress = (k - w) / span; 0 once it reaches 1
    zero = jnp.zeros_like(lr)
    shape = _engine.hard_restarts(_cycles(kw, 1))
    return after_warmup(
        lr, w, _engine.span(w, float(span), lr, zero, shape), _engine.hold(w + span, zero)
    )


def _polynomial(lr: Any, w: int, n: int, kw: dict[str, Any]) -> optax.Schedule:
    end = _engine.rate_array(_validate.learning_rate(_FN, _key("lr_end"), kw.get("lr_end", 1e-7)))
    p = _validate.non_negative(_FN, _key("power"), kw.get("power", 1.0))
    if not bool(jnp.all(end < lr)):
        raise ValueError(
            f"{_FN}: `{_key('lr_end')}` must be < `base_lr`, got {kw.get('lr_end', 1e-7)!r} "
            f"with base_lr={lr!r} (as in transformers)."
        )
    decay = _engine.span(w, float(n - w), lr, end, _engine.power(p))
    return after_warmup(lr, w, decay, _engine.hold(n + 1, end))


def _inverse_sqrt_schedule(lr: Any, w: int, kw: dict[str, Any]) -> optax.Schedule:
    timescale = kw.get("timescale")
    if timescale is None:
        timescale = w or 10_000  # transformers' default
    timescale = _validate.positive(_FN, _key("timescale"), timescale)
    return after_warmup(lr, w, _engine.span(w, math.inf, lr, lr, _engine.inverse_sqrt(timescale)))


def _cosine_min(lr: Any, w: int, n: int, kw: dict[str, Any]) -> optax.Schedule:
    low = lr * _min_rate(lr, kw)
    shape = _engine.cosine_cycles(_cycles(kw, 0.5), max(1, n - w))  # not clamped past n, as HF
    return after_warmup(lr, w, _engine.span(w, math.inf, lr, low, shape))


def _cosine_warmup_min(lr: Any, w: int, n: int, kw: dict[str, Any]) -> optax.Schedule:
    """``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``: both phases one step ahead."""
    low = lr * _min_rate(lr, kw)
    warmup_rate = kw.get("warmup_lr_rate")
    segments = []
    if w and warmup_rate is None:  # (k + 1) / max(1, w)
        segments.append(
            _engine.Segment(
                switch=0,
                origin=-1.0,
                length=float(w),
                start=jnp.zeros_like(lr),
                end=lr,
                shape=_engine.linear,
            )
        )
    elif w:  # r + (1 - r) k / max(1, w - 1)
        r = _validate.fraction(
            _FN, _key("warmup_lr_rate"), warmup_rate, allow_zero=True, allow_one=True
        )
        segments.append(
            _engine.Segment(
                switch=0,
                origin=0.0,
                length=float(max(1, w - 1)),
                start=lr * r,
                end=lr,
                shape=_engine.linear,
            )
        )
    shape = _engine.cosine_cycles(_cycles(kw, 0.5), max(1, n - w))  # progress (k - w + 1) / span
    segments.append(
        _engine.Segment(
            switch=w, origin=float(w - 1), length=math.inf, start=lr, end=low, shape=shape
        )
    )
    return _engine.build(segments, last_step=None)


def _wsd(lr: Any, w: int, n: int | None, kw: dict[str, Any]) -> optax.Schedule:
    if "num_decay_steps" not in kw:
        raise ValueError(f"{_FN}: 'warmup_stable_decay' requires `{_key('num_decay_steps')}`.")
    d = _validate.step_count(_FN, _key("num_decay_steps"), kw["num_decay_steps"], minimum=0)
    stable = kw.get("num_stable_steps")
    if stable is not None:
        stable = _validate.step_count(_FN, _key("num_stable_steps"), stable, minimum=0)
        if n is not None and w + stable + d != n:
            raise ValueError(
                f"{_FN}: `num_training_steps` = {n} disagrees with num_warmup_steps + "
                f"num_stable_steps + num_decay_steps = {w} + {stable} + {d}; give one of them."
            )
    elif n is None:
        raise ValueError(
            f"{_FN}: 'warmup_stable_decay' requires `num_training_steps` or "
            f"`{_key('num_stable_steps')}`, got neither."
        )
    elif n - w - d < 0:
        raise ValueError(
            f"{_FN}: `num_training_steps` = {n} must be >= num_warmup_steps + num_decay_steps "
            f"= {w} + {d} for 'warmup_stable_decay'."
        )
    else:
        stable = n - w - d
    options = {
        k: kw[k] for k in ("warmup_type", "decay_type", "min_lr_ratio", "num_cycles") if k in kw
    }
    return wsd_curve(lr, w, stable, d, check_wsd_options(_FN, _key, **options))


@recorded("get_schedule")
def get_schedule(
    name: str,
    base_lr: ArrayLike,
    *,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    scheduler_specific_kwargs: Mapping[str, Any] | None = None,
) -> optax.Schedule:
    """The schedule of a Hugging Face scheduler name, value for value with ``get_scheduler``.

    ``get_schedule(name, base_lr, ...)(k)`` equals
    ``transformers.get_scheduler(name, optimizer, ...).get_last_lr()[0]`` after ``k`` calls of
    ``scheduler.step()``, for an optimizer with ``lr=base_lr``: during training and past
    ``num_training_steps``. Names (``transformers.SchedulerType``, or its value): ``linear``,
    ``cosine``, ``cosine_with_restarts``, ``polynomial``, ``constant``,
    ``constant_with_warmup``, ``inverse_sqrt``, ``cosine_with_min_lr``,
    ``cosine_warmup_with_min_lr``, ``warmup_stable_decay``; ``scheduler_specific_kwargs``
    takes Hugging Face's keyword names for that name (e.g. ``num_cycles``, ``lr_end``,
    ``power``, ``timescale``, ``min_lr``, ``num_decay_steps``).

    Args:
      name: the scheduler name (``TrainingArguments.lr_scheduler_type``).
      base_lr: the optimizer's learning rate (scalar or array).
      num_warmup_steps: warmup steps (required except for ``constant``).
      num_training_steps: total steps (required by the names that decay to an end).
      scheduler_specific_kwargs: the name's own keywords (``lr_scheduler_kwargs``).

    Raises:
      ValueError, TypeError: for an unknown name (the known ones are listed), an unknown or
        missing keyword, or a value out of range, naming it. ``reduce_lr_on_plateau`` is
        refused with a pointer to `reduce_lr_on_plateau`.

    Examples:
      >>> sched = get_schedule("cosine_with_restarts", 1.0, num_warmup_steps=1,
      ...                      num_training_steps=5, scheduler_specific_kwargs={"num_cycles": 2})
      >>> [round(float(sched(k)), 3) for k in range(7)]
      [0.0, 1.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """
    name = _name(name)
    kw = _kwargs(name, scheduler_specific_kwargs)
    w, n = _steps(name, num_warmup_steps, num_training_steps)
    lr = _engine.rate_array(_validate.learning_rate(_FN, "base_lr", base_lr))
    if name == "warmup_stable_decay":
        return _wsd(lr, w, n, kw)
    total = 0 if n is None else n  # given (checked above) for every name below that uses it
    if name == "linear":
        return linear_warmup_curve(lr, w, total)
    if name == "cosine":
        return cosine_warmup_curve(lr, w, total, _cycles(kw, 0.5))
    if name == "constant":
        return constant_warmup_curve(lr, 0)
    if name == "constant_with_warmup":
        return constant_warmup_curve(lr, w)
    if name == "cosine_with_restarts":
        return _restarts(lr, w, total, kw)
    if name == "polynomial":
        return _polynomial(lr, w, total, kw)
    if name == "inverse_sqrt":
        return _inverse_sqrt_schedule(lr, w, kw)
    if name == "cosine_with_min_lr":
        return _cosine_min(lr, w, total, kw)
    if name == "cosine_warmup_with_min_lr":
        return _cosine_warmup_min(lr, w, total, kw)
    raise AssertionError(name)  # unreachable: every name is handled above
