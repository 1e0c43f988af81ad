"""DeepSpeed's ``"scheduler"`` config block as pure schedules: `from_deepspeed_config`.

A DeepSpeed config names its scheduler by type (``OneCycle``, ``LRRangeTest``, ``WarmupLR``,
``WarmupDecayLR``, ``WarmupCosineLR``) with DeepSpeed's own parameter names. The block is read
and validated here in plain Python (every unknown, missing or out-of-range entry refused by
name, which DeepSpeed does late or not at all), then each type becomes segments of the curve
engine (``_engine``). Step ``k`` is the value after ``k`` calls of DeepSpeed's
``scheduler.step()``, i.e. what the ``k``-th update uses (the engine steps the scheduler after
each optimizer step), quirks included: the warmups repeat their first value once (step 0 is
the constructor's value, step 1 evaluates ``log(1) = 0``) and ``WarmupCosineLR`` gives 0.0 at
step 0. Reference: ``deepspeed/runtime/lr_schedules.py`` (DeepSpeed 0.19.8).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax.numpy as jnp
import optax

from .. import _validate
from . import _engine
from ._deepspeed import check_cycle, check_lr, check_momentum, lr_cycle, momentum_cycle
from ._spec import recorded_fields

__all__ = ["DeepSpeedSchedules", "from_deepspeed_config"]

_FN = "from_deepspeed_config"
_REQUIRED = object()  # a parameter DeepSpeed's constructor has no default for
_OPTIMIZER_LR = object()  # the default is the optimizer's lr (config["optimizer"]["params"])
_WARMUP_TYPES = ("log", "linear")

# DeepSpeed's constructor parameters and defaults, per type (lr_schedules.py, 0.19.8).
# ``last_batch_iteration`` (resume) is accepted only at its default, -1.
_PARAMS: dict[str, dict[str, Any]] = {
    "OneCycle": {
        "cycle_min_lr": _REQUIRED,
        "cycle_max_lr": _REQUIRED,
        "decay_lr_rate": 0.0,
        "cycle_first_step_size": 2000,
        "cycle_second_step_size": None,
        "cycle_first_stair_count": 0,
        "cycle_second_stair_count": None,
        "decay_step_size": 0,
        "cycle_momentum": True,
        "cycle_min_mom": 0.8,
        "cycle_max_mom": 0.9,
        "decay_mom_rate": 0.0,
        "last_batch_iteration": -1,
    },
    "LRRangeTest": {
        "lr_range_test_min_lr": 1e-3,
        "lr_range_test_step_size": 2000,
        "lr_range_test_step_rate": 1.0,
        "lr_range_test_staircase": False,
        "last_batch_iteration": -1,
    },
    "WarmupLR": {
        "warmup_min_lr": 0.0,
        "warmup_max_lr": _OPTIMIZER_LR,
        "warmup_num_steps": 1000,
        "warmup_type": "log",
        "last_batch_iteration": -1,
    },
    "WarmupDecayLR": {
        "total_num_steps": _REQUIRED,
        "warmup_min_lr": 0.0,
        "warmup_max_lr": 0.001,
        "warmup_num_steps": 1000,
        "warmup_type": "log",
        "last_batch_iteration": -1,
    },
    "WarmupCosineLR": {
        "total_num_steps": _REQUIRED,
        "warmup_min_ratio": 0.0,
        "warmup_num_steps": 1000,
        "cos_min_ratio": 0.0001,
        "warmup_type": "log",
        "last_batch_iteration": -1,
    },
}
TYPES = tuple(_PARAMS)


class DeepSpeedSchedules(NamedTuple):
    """The schedules of one DeepSpeed scheduler config.

    Attributes:
      learning_rate: ``step -> learning rate``, an ``optax.Schedule``.
      momentum: ``step -> momentum`` (DeepSpeed's ``betas[0]``) for a ``OneCycle`` that cycles
        it (``cycle_momentum``, default True); None for every other type.
    """

    learning_rate: optax.Schedule
    momentum: optax.Schedule | None


DeepSpeedSchedules.__module__ = "jax_onecycle"

# ---- reading the config ---------------------------------------------------------------------


def _block(config: Any) -> tuple[Mapping[str, Any], str, float | None]:
    """The scheduler block, the spelling of its path, and the optimizer's lr if given."""
    if not isinstance(config, Mapping):
        _validate.fail(
            _FN, "config", "a DeepSpeed config dict or its 'scheduler' block", config, TypeError
        )
    if "scheduler" in config:
        block, path = config["scheduler"], 'config["scheduler"]'
    elif "type" in config:
        block, path = config, "config"
    else:
        raise ValueError(
            f'{_FN}: `config` has no "scheduler" block and is not one (no "type"); got keys '
            f"{sorted(map(str, config))}."
        )
    if not isinstance(block, Mapping):
        _validate.fail(_FN, path, 'a dict {"type": ..., "params": {...}}', block, TypeError)
    extra = sorted(set(map(str, block)) - {"type", "params"})
    if extra:
        raise ValueError(f'{_FN}: `{path}` has unknown keys {extra}; allowed: "type", "params".')
    lr = None
    optimizer = config.get("optimizer") if path != "config" else None
    if isinstance(optimizer, Mapping) and isinstance(optimizer.get("params"), Mapping):
        lr = optimizer["params"].get("lr")
    return block, path, lr


def _params(block: Mapping[str, Any], path: str) -> tuple[str, dict[str, Any], str]:
    """The type and its complete parameters (DeepSpeed's defaults filled in)."""
    kind = _validate.choice(_FN, f'{path}["type"]', block.get("type"), TYPES)
    given = block.get("params", {})
    ppath = f'{path}["params"]'
    if not isinstance(given, Mapping):
        _validate.fail(_FN, ppath, "a dict of the scheduler's parameters", given, TypeError)
    spec = _PARAMS[kind]
    unknown = sorted(set(map(str, given)) - set(spec))
    if unknown:
        raise ValueError(
            f"{_FN}: `{ppath}` has parameters {unknown} that DeepSpeed's {kind} does not take; "
            f"it takes {sorted(spec)}."
        )
    missing = sorted(k for k, v in spec.items() if v is _REQUIRED and k not in given)
    if missing:
        raise ValueError(f"{_FN}: `{ppath}` lacks {missing}, required by DeepSpeed's {kind}.")
    if given.get("last_batch_iteration", -1) != -1:
        raise ValueError(
            f'{_FN}: `{ppath}["last_batch_iteration"]` must be -1 (a fresh schedule), got '
            f"{given['last_batch_iteration']!r}; to resume, evaluate the schedule at the "
            "resumed step count instead."
        )
    return kind, {**spec, **given}, ppath


# ---- the types --------------------------------------------------------------------------------


def _warmup_segments(
    low: Any, high: Any, steps: int, warmup_type: str, switch: int = 0
) -> list[_engine.Segment]:
    """DeepSpeed's warmup over ``steps`` (>= 2): value after ``k`` calls of ``step()``.

    ``log``: ``low + (high - low) log(k) / log(steps)`` for ``1 <= k <= steps``; ``linear``:
    ``(k - 1) / steps``, reaching ``high`` one step later (the one-step lag); ``low`` at 0.
    """
    log = warmup_type == "log"
    return [
        _engine.Segment(
            switch=switch,
            origin=0.0 if log else 1.0,
            length=float(steps),
            start=low,
            end=high,
            shape=_engine.log_ramp if log else _engine.linear,
        )
    ]


def _onecycle(p: dict[str, Any], ppath: str) -> DeepSpeedSchedules:
    """DeepSpeed's OneCycle: its cycle checked once, each entry named by its config path."""

    def spell(name: str) -> str:
        return f'{ppath}["{name}"]'

    cycle = check_cycle(_FN, p, spell)
    lr = lr_cycle(cycle, *check_lr(_FN, p, spell))
    momentum = None
    if _validate.boolean(_FN, spell("cycle_momentum"), p["cycle_momentum"]):
        momentum = momentum_cycle(cycle, *check_momentum(_FN, p, spell))
    return DeepSpeedSchedules(lr, momentum)


def _range_test(p: dict[str, Any], ppath: str) -> DeepSpeedSchedules:
    low = _engine.rate_array(
        _validate.learning_rate(_FN, f'{ppath}["lr_range_test_min_lr"]', p["lr_range_test_min_lr"])
    )
    size = _validate.step_count(
        _FN, f'{ppath}["lr_range_test_step_size"]', p["lr_range_test_step_size"]
    )
    rate = _validate.non_negative(
        _FN, f'{ppath}["lr_range_test_step_rate"]', p["lr_range_test_step_rate"]
    )
    stairs = _validate.boolean(
        _FN, f'{ppath}["lr_range_test_staircase"]', p["lr_range_test_staircase"]
    )
    shape = _engine.stair_growth(rate, size) if stairs else _engine.growth(rate, size)
    seg = _engine.Segment(switch=0, origin=0.0, length=math.inf, start=low, end=low, shape=shape)
    return DeepSpeedSchedules(_engine.build([seg], last_step=None), None)


def _warmup_steps(p: dict[str, Any], ppath: str) -> tuple[int, str]:
    steps = _validate.step_count(_FN, f'{ppath}["warmup_num_steps"]', p["warmup_num_steps"])
    wtype = _validate.choice(_FN, f'{ppath}["warmup_type"]', p["warmup_type"], _WARMUP_TYPES)
    return max(2, steps), wtype  # DeepSpeed: self.warmup_num_steps = max(2, warmup_num_steps)


def _warmup_lr(kind: str, p: dict[str, Any], ppath: str, opt_lr: Any) -> DeepSpeedSchedules:
    steps, wtype = _warmup_steps(p, ppath)
    low = _engine.rate_array(
        _validate.learning_rate(_FN, f'{ppath}["warmup_min_lr"]', p["warmup_min_lr"])
    )
    high = p["warmup_max_lr"]
    if high is _OPTIMIZER_LR:
        high = opt_lr  # validated by from_deepspeed_config
    else:
        high = _engine.rate_array(_validate.learning_rate(_FN, f'{ppath}["warmup_max_lr"]', high))
    segments = _warmup_segments(low, high, steps, wtype)
    if kind == "WarmupDecayLR":
        total = _validate.step_count(_FN, f'{ppath}["total_num_steps"]', p["total_num_steps"])
        # gamma = max(0, (total - (k - 1)) / max(1, total - steps)) once k - 1 >= steps.
        span = max(1, total - steps)
        segments.append(
            _engine.Segment(
                switch=steps + 1,
                origin=float(total + 1 - span),
                length=float(span),
                start=high,
                end=low,
                shape=_engine.linear,
            )
        )
    return DeepSpeedSchedules(_engine.build(segments, last_step=None), None)


def _warmup_cosine(p: dict[str, Any], ppath: str, opt_lr: Any) -> DeepSpeedSchedules:
    steps, wtype = _warmup_steps(p, ppath)
    total = _validate.step_count(_FN, f'{ppath}["total_num_steps"]', p["total_num_steps"])
    wmin = _validate.fraction(
        _FN, f'{ppath}["warmup_min_ratio"]', p["warmup_min_ratio"], allow_zero=True, allow_one=True
    )
    cmin = _validate.fraction(
        _FN, f'{ppath}["cos_min_ratio"]', p["cos_min_ratio"], allow_zero=True, allow_one=True
    )
    lr = opt_lr  # validated by from_deepspeed_config
    zero = jnp.zeros_like(lr)
    segments = [
        _engine.Segment(
            switch=0, origin=0.0, length=1.0, start=zero, end=zero, shape=_engine.constant
        )
    ]  # DeepSpeed's constructor: 0.0
    segments += _warmup_segments(lr * wmin, lr, steps, wtype, switch=1)
    # Once k - 1 >= steps: progress min(1, (k - steps) / max(1, total - steps)), half cosine.
    segments.append(
        _engine.Segment(
            switch=steps + 1,
            origin=float(steps),
            length=float(max(1, total - steps)),
            start=lr,
            end=lr * cmin,
            shape=_engine.cos,
        )
    )
    return DeepSpeedSchedules(_engine.build(segments, last_step=None), None)


@recorded_fields("from_deepspeed_config")
def from_deepspeed_config(
    config: Mapping[str, Any], *, optimizer_lr: float | None = None
) -> DeepSpeedSchedules:
    """The schedules of a DeepSpeed scheduler config, value for value with DeepSpeed.

    ``config`` is a whole DeepSpeed config or its ``"scheduler"`` block
    (``{"type": ..., "params": {...}}``). Types ``OneCycle`` (learning rate and momentum),
    ``LRRangeTest``, ``WarmupLR``, ``WarmupDecayLR`` and ``WarmupCosineLR`` take DeepSpeed's
    parameter names and defaults. Step ``k`` is the value after ``k`` calls of DeepSpeed's
    ``scheduler.step()`` (what update ``k`` uses), DeepSpeed's quirks included: the log and
    linear warmups hold their first value for two steps, ``warmup_num_steps`` below 2 counts
    as 2, and ``WarmupCosineLR`` is 0.0 at step 0. ``WarmupCosineLR`` scales the optimizer's
    lr, and ``WarmupLR`` warms up to it unless ``warmup_max_lr`` is given: both read
    ``config["optimizer"]["params"]["lr"]`` (or ``optimizer_lr``, for a scheduler block alone
    or a client optimizer).

    Args:
      config: the DeepSpeed config (a dict, e.g. ``json.load`` of ``ds_config.json``).
      optimizer_lr: the optimizer's learning rate, when the config does not give it.

    Returns:
      A `DeepSpeedSchedules` ``(learning_rate, momentum)``; ``momentum`` is None unless the
      type is ``OneCycle`` with ``cycle_momentum`` (DeepSpeed's default).

    Raises:
      ValueError, TypeError: for an unknown type or parameter, a missing required one, an
        unknown ``warmup_type`` (DeepSpeed silently uses ``"log"``) or a value out of range,
        naming the config entry.

    Examples:
      >>> config = {"optimizer": {"type": "Adam", "params": {"lr": 0.01}},
      ...           "scheduler": {"type": "WarmupLR",
      ...                         "params": {"warmup_num_steps": 4, "warmup_type": "linear"}}}
      >>> lr, momentum = from_deepspeed_config(config)
      >>> [round(float(lr(k)), 4) for k in range(7)], momentum
      ([0.0, 0.0, 0.0025, 0.005, 0.0075, 0.01, 0.01], None)
    """
    block, path, config_lr = _block(config)
    kind, params, ppath = _params(block, path)
    if optimizer_lr is not None and config_lr is not None:
        raise ValueError(
            f'{_FN}: give the optimizer\'s lr once: `config["optimizer"]["params"]["lr"]` = '
            f"{config_lr!r} and `optimizer_lr` = {optimizer_lr!r}."
        )
    opt_lr = config_lr if config_lr is not None else optimizer_lr
    needs_lr = kind == "WarmupCosineLR" or (
        kind == "WarmupLR" and params["warmup_max_lr"] is _OPTIMIZER_LR
    )
    if needs_lr and opt_lr is None:
        raise ValueError(
            f"{_FN}: DeepSpeed's {kind} takes the optimizer's lr here, but neither "
            '`config["optimizer"]["params"]["lr"]` nor `optimizer_lr` is given'
            + (" (or give `warmup_max_lr`)." if kind == "WarmupLR" else ".")
        )
    if opt_lr is not None:
        source = "optimizer_lr" if config_lr is None else 'config["optimizer"]["params"]["lr"]'
        opt_lr = _engine.rate_array(_validate.learning_rate(_FN, source, opt_lr))
    if kind == "OneCycle":
        return _onecycle(params, ppath)
    if kind == "LRRangeTest":
        return _range_test(params, ppath)
    if kind == "WarmupCosineLR":
        return _warmup_cosine(params, ppath, opt_lr)
    return _warmup_lr(kind, params, ppath, opt_lr)
