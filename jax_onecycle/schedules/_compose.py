"""Composing schedules and custom rules: PyTorch's SequentialLR, LambdaLR, MultiplicativeLR.

`sequential_schedule` joins schedules at milestones with ``optax.join_schedules``, each later
one restarted from its own step 0; `lambda_schedule` and `multiplicative_schedule` turn a
user's rule of the epoch, written with ``jnp``, into a schedule. Reference:
``torch/optim/lr_scheduler.py`` (torch 2.13). A Python rule that JAX cannot trace (``math``,
``if`` on the epoch) belongs to the facades ``LambdaLR`` / ``MultiplicativeLR``, which
evaluate it on the host.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from .. import _validate
from . import _engine as engine
from ._spec import recorded, with_spec

__all__ = [
    "sequential_schedule",
    "lambda_schedule",
    "multiplicative_schedule",
    "check_milestones",
    "traces_to_a_real",
    "lambda_curve",
    "multiplicative_curve",
]

LrLambda = Callable[[Any], Any]


def check_milestones(fn: str, name: str, value: Any, parts: int) -> list[int]:
    """Strictly increasing integers in [1, 2**31 - 1], ``parts - 1`` of them (SequentialLR's)."""
    allowed = (
        f"a strictly increasing sequence of {parts - 1} integer(s) in [1, 2**31 - 1] "
        f"(one fewer than the {parts} schedule(s))"
    )
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        _validate.fail(fn, name, allowed, value, TypeError)
    out: list[int] = []
    for m in value:
        if isinstance(m, bool | float | np.floating | np.bool_):
            _validate.fail(fn, name, allowed, value, TypeError)
        try:
            as_int = operator.index(m)
        except TypeError:
            _validate.fail(fn, name, allowed, value, TypeError)
        if not 1 <= as_int <= _validate.INT32_MAX or (out and as_int <= out[-1]):
            _validate.fail(fn, name, allowed, value)
        out.append(as_int)
    if len(out) != parts - 1:
        _validate.fail(fn, name, allowed, value)
    return out


def _count(count: ArrayLike) -> jax.Array:
    """An integer count as int32 in [0, 2**31 - 1]; a float count as it is (the parts decide)."""
    count = jnp.asarray(count)
    return engine.steps(count) if jnp.issubdtype(count.dtype, jnp.integer) else count


@recorded("sequential_schedule", schedule_args=("schedules",))
def sequential_schedule(schedules: Sequence[optax.Schedule], milestones: Sequence[int]) -> Any:
    """``torch.optim.lr_scheduler.SequentialLR``: one schedule after another, at milestones.

    Step ``k < m_1`` is ``schedules[0](k)``; ``m_i <= k < m_{i+1}`` is
    ``schedules[i](k - m_i)``: each later schedule restarts from its own step 0 at its
    milestone, as PyTorch's does for every scheduler with a closed form; the last one goes
    on past the end. (PyTorch departs from this rule in two cases, where the formula here
    holds: a later ``MultiplicativeLR`` carries on from the previous rate, and
    ``OneCycleLR`` overwrites ``initial_lr``, so a warmup before it starts elsewhere; see
    the porting page.) Milestones count the schedules' own steps: for parts stepped per
    epoch with ``steps_per_epoch=S``, PyTorch's milestone ``m`` is ``m * S`` here.

    Args:
      schedules: one or more schedules ``count -> value`` (integer and float counts are
        passed on: a float count stays a float).
      milestones: strictly increasing positive integers, one fewer than ``schedules``.

    Returns:
      An ``optax.Schedule`` (``optax.join_schedules`` over the parts). Its ``.spec`` holds
      the parts' specs, or is None when a part has none (a user's own function).

    Raises:
      ValueError, TypeError: for anything else, naming the argument and its value.

    Examples:
      >>> import jax_onecycle as jo
      >>> sched = jo.sequential_schedule(
      ...     [jo.linear_lr_schedule(1.0, start_factor=0.5, total_iters=2),
      ...      jo.exponential_schedule(1.0, gamma=0.5)], milestones=[2])
      >>> [float(sched(k)) for k in range(5)]
      [0.5, 0.75, 1.0, 0.5, 0.25]
      >>> sched.spec["args"]["milestones"]
      [2]
    """
    fn = "sequential_schedule"
    if isinstance(schedules, str | bytes) or not isinstance(schedules, Sequence):
        _validate.fail(fn, "schedules", "a non-empty list of schedules", schedules, TypeError)
    if len(schedules) == 0:
        _validate.fail(fn, "schedules", "a non-empty list of schedules", schedules)
    parts = [_validate.schedule(fn, f"schedules[{i}]", s) for i, s in enumerate(schedules)]
    marks = check_milestones(fn, "milestones", milestones, len(parts))
    joined = optax.join_schedules(parts, marks)
    dtype = jnp.result_type(float)

    def schedule(count: ArrayLike) -> jax.Array:
        return jnp.asarray(joined(_count(count)), dtype)

    return schedule


def traces_to_a_real(rule: Callable[[Any], Any]) -> bool | None:
    """Whether ``rule`` of an abstract int32 epoch gives one real number (None: not traceable).

    Traced once with ``jax.eval_shape``; a rule that needs a concrete epoch (``math.cos``,
    ``float``, ``if`` on it) raises there (JAX's concretization errors are TypeErrors; any
    error under the trace means the rule needs a concrete epoch).
    """
    try:
        shape = jax.eval_shape(rule, jax.ShapeDtypeStruct((), jnp.int32))
    except Exception:  # a probe: whatever fails under a trace is evaluated on the host
        return None
    dtype = getattr(shape, "dtype", None)
    return (
        getattr(shape, "shape", None) == ()
        and dtype is not None
        and bool(jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating))
    )


def check_lr_lambda(fn: str, lr_lambda: Any, *, first_epoch: int) -> LrLambda:
    """A rule ``epoch -> factor`` that JAX can trace, giving one finite real at ``first_epoch``.

    A rule that needs a concrete epoch is refused with a pointer to the facades, which
    evaluate such a rule on the host.
    """
    if not callable(lr_lambda):
        _validate.fail(fn, "lr_lambda", "a function of the epoch", lr_lambda, TypeError)
    real = traces_to_a_real(lr_lambda)
    if real is None:
        raise TypeError(
            f"{fn}: `lr_lambda` must be traceable by JAX (jnp operations on the epoch), got "
            f"{lr_lambda!r}, which fails under a trace. A Python rule (math, float, if on "
            "the epoch) works with the facades LambdaLR / MultiplicativeLR, which evaluate "
            "it on the host at step()."
        )
    if not real:
        shape = jax.eval_shape(lr_lambda, jax.ShapeDtypeStruct((), jnp.int32))
        _validate.fail(
            fn,
            "lr_lambda",
            "a function of the epoch returning one real number",
            f"{lr_lambda!r} returning {shape}",
            TypeError,
        )
    first = float(np.asarray(lr_lambda(jnp.int32(first_epoch))))
    if not math.isfinite(first):
        _validate.fail(
            fn, "lr_lambda", "finite at every epoch", f"{first!r} at epoch {first_epoch}"
        )
    return lr_lambda


def lambda_curve(lr: jax.Array, rule: LrLambda, steps_per_epoch: int) -> optax.Schedule:
    """``lr * rule(count // steps_per_epoch)`` from validated values (LambdaLR's curve)."""

    def schedule(count: ArrayLike) -> jax.Array:
        factor = rule(engine.epoch_of(count, steps_per_epoch))
        return jnp.asarray(lr * jnp.asarray(factor, lr.dtype), lr.dtype)

    return schedule


def multiplicative_curve(lr: jax.Array, rule: LrLambda, steps_per_epoch: int) -> optax.Schedule:
    """``lr * rule(1) * ... * rule(epoch)`` from validated values (MultiplicativeLR's curve)."""

    def schedule(count: ArrayLike) -> jax.Array:
        epoch = engine.epoch_of(count, steps_per_epoch)  # one epoch per count (arrays too)

        def times(i: jax.Array, value: jax.Array) -> jax.Array:
            return jnp.where(i <= epoch, value * jnp.asarray(rule(i), value.dtype), value)

        start = jnp.broadcast_to(lr, jnp.broadcast_shapes(lr.shape, epoch.shape))
        return jax.lax.fori_loop(jnp.int32(1), jnp.max(epoch) + 1, times, start)

    return schedule


def lambda_schedule(
    base_lr: ArrayLike, lr_lambda: LrLambda, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.LambdaLR``: ``base_lr * lr_lambda(epoch)``.

    ``epoch = count // steps_per_epoch``; ``lr_lambda`` must be traceable by JAX (``jnp``
    operations on an int32 epoch). Its ``.spec`` is None: a function has no JSON form.

    Args:
      base_lr: the learning rate the factor multiplies (scalar or array, possibly traced).
      lr_lambda: ``epoch -> factor``, one real number, written with ``jnp``.
      steps_per_epoch: optimizer steps per epoch.

    Returns:
      An ``optax.Schedule`` (``.spec`` None).

    Raises:
      ValueError, TypeError: for an argument out of range, a ``lr_lambda`` that is not
        callable, cannot be traced, returns no real scalar, or is not finite at epoch 0.

    Examples:
      >>> sched = lambda_schedule(0.1, lambda epoch: 0.5**epoch, steps_per_epoch=2)
      >>> [round(float(sched(b)), 4) for b in range(5)], sched.spec
      ([0.1, 0.1, 0.05, 0.05, 0.025], None)
    """
    fn = "lambda_schedule"
    lr = engine.rate_array(_validate.learning_rate(fn, "base_lr", base_lr))
    rule = check_lr_lambda(fn, lr_lambda, first_epoch=0)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    return with_spec(lambda_curve(lr, rule, spe), None)


def multiplicative_schedule(
    base_lr: ArrayLike, lr_lambda: LrLambda, *, steps_per_epoch: int = 1
) -> optax.Schedule:
    """``torch.optim.lr_scheduler.MultiplicativeLR``: ``base_lr * prod(lr_lambda(i), i=1..epoch)``.

    ``epoch = count // steps_per_epoch``. Multiplied in PyTorch's order (``lr = lr *
    lr_lambda(i)``), by a ``lax.fori_loop`` bounded by the epoch: it is jittable and
    vmappable for a traced count, and costs ``epoch`` evaluations of ``lr_lambda`` per call.
    ``lr_lambda`` is taken and checked as by `lambda_schedule`, finite at epoch 1 (the first
    it multiplies in); the schedule's ``.spec`` is None too.

    Args:
      base_lr: the learning rate at epoch 0 (scalar or array, possibly traced).
      lr_lambda: ``epoch -> factor``, as for `lambda_schedule`.
      steps_per_epoch: optimizer steps per epoch.

    Examples:
      >>> sched = multiplicative_schedule(1.0, lambda epoch: 1.0 / (epoch + 1))
      >>> [round(float(sched(e)), 4) for e in range(4)]
      [1.0, 0.5, 0.1667, 0.0417]
    """
    fn = "multiplicative_schedule"
    lr = engine.rate_array(_validate.learning_rate(fn, "base_lr", base_lr))
    rule = check_lr_lambda(fn, lr_lambda, first_epoch=1)
    spe = _validate.step_count(fn, "steps_per_epoch", steps_per_epoch)
    return with_spec(multiplicative_curve(lr, rule, spe), None)
