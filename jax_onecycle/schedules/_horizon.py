"""Changing the horizon of a run in progress: `change_horizon` and ``horizon_changes``.

A run at step ``at_step`` of ``total_steps`` that is to end at ``new_total_steps`` instead
keeps the curve it has followed so far, and has the rest of the curve stretched (or
squeezed) onto the steps that remain: continuous at ``at_step``, the original's end value
at the new end, its past-the-end behaviour shifted by the difference. SPEC, "Changing the
horizon of a run in progress", pins the formula; `change_horizon` is the public form,
`check_horizon_changes` and `apply_horizon_changes` serve the one-cycle entry points'
``horizon_changes=`` (a sequence of changes, applied in order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .. import _validate
from ._engine import steps
from ._spec import recorded

__all__ = [
    "change_horizon",
    "check_horizon_changes",
    "apply_horizon_changes",
    "horizon_curve",
    "HorizonChanges",
]

Schedule = Callable[[ArrayLike], Any]
# ``horizon_changes=``: (at_step, new_total_steps) pairs, tuples or lists (a JSON spec's form).
HorizonChanges = Sequence[tuple[int, int] | Sequence[int]]


def horizon_curve(
    schedule: Schedule, at_step: int, total_steps: int, new_total_steps: int
) -> Callable[[ArrayLike], jax.Array]:
    """The changed curve of `change_horizon`, for arguments already validated.

    An integer count (any dtype; below 0 counts as 0) gives ``schedule`` an int32 count
    before ``at_step`` and past ``new_total_steps``, and a float32 count in between; a
    float count stays real-valued throughout (one call of ``schedule``).
    """
    a, t, n = at_step, total_steps, new_total_steps
    a32 = np.float32(a)
    r = np.float32(t - a) / np.float32(n - a)  # float32, as SPEC computes it
    headroom = _validate.INT32_MAX - t  # t + (k - n) never wraps past int32

    def changed(count: ArrayLike) -> jax.Array:
        count = jnp.asarray(count)
        if not jnp.issubdtype(count.dtype, jnp.integer):  # a float count: one real-valued call
            k = jnp.maximum(count, 0)
            warped = a32 + (k - a).astype(jnp.float32) * r
            past = k - n + t
            return schedule(jnp.where(k <= a, k, jnp.where(k < n, warped, past)))
        k = steps(count)
        held = jnp.where(k <= a, k, t + jnp.minimum(k - n, headroom))
        warped = a32 + (k - a).astype(jnp.float32) * r
        inside = (k > a) & (k < n)
        return jnp.where(inside, schedule(warped), schedule(held))

    return changed


def check_change(
    fn: str, at_step: Any, total_steps: Any, new_total_steps: Any, *, names: Sequence[str] = ()
) -> tuple[int, int, int]:
    """Validate one change: ``0 <= at_step < total_steps`` and ``at_step < new_total_steps``.

    ``names`` spells the three arguments as the user gave them (default: their own names).
    """
    at_name, total_name, new_name = names or ("at_step", "total_steps", "new_total_steps")
    t = _validate.step_count(fn, total_name, total_steps)
    a = _validate.step_count(fn, at_name, at_step, minimum=0)
    n = _validate.step_count(fn, new_name, new_total_steps)
    if a >= t:
        _validate.fail(fn, at_name, f"in [0, {total_name}) = [0, {t})", at_step)
    if n <= a:
        _validate.fail(fn, new_name, f"> {at_name} = {a} (the run cannot end before it)", n)
    return a, t, n


def check_horizon_changes(fn: str, value: Any, total_steps: int) -> tuple[tuple[int, int], ...]:
    """Validate ``horizon_changes``: ``(at_step, new_total_steps)`` pairs, applied in order.

    The first pair changes ``total_steps``, each later one the previous ``new_total_steps``;
    each needs ``0 <= at_step < `` the current total and ``at_step < new_total_steps``, and no
    ``at_step`` may lie before the previous one (a change cannot go back in time). Lists are
    accepted as well as tuples (a JSON spec gives lists).

    Examples:
      >>> check_horizon_changes("f", [[60, 150], [100, 120]], 100)
      ((60, 150), (100, 120))
      >>> check_horizon_changes("f", [(60, 50)], 100)  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: f: `horizon_changes[0][1]` must be > horizon_changes[0][0] = 60 ...
    """
    allowed = "a sequence of (at_step, new_total_steps) integer pairs"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        _validate.fail(fn, "horizon_changes", allowed, value, TypeError)
    out: list[tuple[int, int]] = []
    total = total_steps
    for i, pair in enumerate(value):
        name = f"horizon_changes[{i}]"
        if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
            _validate.fail(fn, name, "an (at_step, new_total_steps) pair", pair, TypeError)
        total_name = f"horizon_changes[{i - 1}][1]" if i else "total_steps"
        names = (f"{name}[0]", total_name, f"{name}[1]")
        a, _, n = check_change(fn, pair[0], total, pair[1], names=names)
        if out and a < out[-1][0]:
            _validate.fail(
                fn,
                f"{name}[0]",
                f">= the previous change's at_step {out[-1][0]} (a change cannot go back in time)",
                a,
            )
        out.append((a, n))
        total = n
    return tuple(out)


def apply_horizon_changes(
    schedule: Schedule, total_steps: int, changes: Sequence[tuple[int, int]]
) -> Schedule:
    """``schedule`` with validated ``changes`` (from `check_horizon_changes`) applied in order."""
    for at_step, new_total in changes:
        schedule = horizon_curve(schedule, at_step, total_steps, new_total)
        total_steps = new_total
    return schedule


@recorded("change_horizon", schedule_args=("schedule",))
def change_horizon(
    schedule: Schedule, *, at_step: int, total_steps: int, new_total_steps: int
) -> Callable[[ArrayLike], jax.Array]:
    """``schedule`` with the end of the run moved to ``new_total_steps`` at step ``at_step``.

    For a run at step ``at_step`` (``0 <= at_step < total_steps``, ``at_step <
    new_total_steps``; shorter or longer), with ``a = at_step``, ``T = total_steps``,
    ``N = new_total_steps`` and ``r = (T - a) / (N - a)`` (float32):

    - ``k <= a``: ``schedule(k)`` (what the run has followed so far);
    - ``a < k < N``: ``schedule(a + (k - a) * r)``, the step computed in float32 and passed as a
      float: the rest of the curve stretched or squeezed, continuous at ``a``;
    - ``k >= N``: ``schedule(T + (k - N))``: at ``N`` the value the original had at ``T``, and
      its past-the-end behaviour shifted.

    Jittable and vmappable in the count; integer counts of any dtype and float counts.

    Args:
      schedule: any schedule ``count -> value`` (a package schedule, a facade, a function).
      at_step: the step the change is made at.
      total_steps: the run's length the schedule was built for.
      new_total_steps: the run's new length.

    Returns:
      The changed schedule.

    Raises:
      ValueError, TypeError: naming the argument, its value and what is allowed.

    Examples:
      >>> from jax_onecycle import onecycle_schedule
      >>> s = onecycle_schedule(0.1, total_steps=100)
      >>> longer = change_horizon(s, at_step=60, total_steps=100, new_total_steps=160)
      >>> float(longer(60)) == float(s(60)), float(longer(160)) == float(s(100))
      (True, True)
    """
    fn = "change_horizon"
    schedule = _validate.schedule(fn, "schedule", schedule)
    a, t, n = check_change(fn, at_step, total_steps, new_total_steps)
    return horizon_curve(schedule, a, t, n)
