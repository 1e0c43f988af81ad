"""`ReduceLROnPlateau`: the plateau policy as a braintools-named facade.

``step(metric)`` runs the pure, jittable rule of `optim._plateau` on a State, so it works
inside and outside ``brainstate.transform.jit``; ``SGD(lr=ReduceLROnPlateau(...))`` reads
the current rate inside its compiled update without a new trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .. import _validate
from ..optim import _plateau
from ._scheduler import LRScheduler, applied, counter_view, per_group
from ._state_io import exact_keys, leaf, place, same_settings

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(LRScheduler):
    """PyTorch's ``ReduceLROnPlateau``: cut the rate when a metric stops improving.

    ``step(metric)`` once per epoch; the decision is a pure, jittable state update
    (PyTorch's, quirks included: ``best`` is still tracked during cooldown, a cut smaller
    than ``eps`` is skipped), kept in one brainstate State, so ``step`` also works inside
    a compiled epoch loop and ``SGD(lr=scheduler)`` applies the new rate without
    recompiling.

    It is not a schedule ``count -> value`` (its rate follows the metrics, not the step),
    so it refuses to be called as one: use `reduce_lr_on_plateau` in an optax chain, or
    ``SGD(lr=ReduceLROnPlateau(...))``.

    The keywords ``mode`` to ``eps`` are those of `reduce_lr_on_plateau`, with its meanings,
    defaults and checks; a decision is one ``step(metric)`` (an epoch).

    Args:
      lr: initial learning rate, or a list (one per parameter group); braintools' spelling
        ``base_lr=`` is taken too.
      min_lr: lowest learning rate (a float or one per group).
      base_lr: braintools' name of ``lr`` (give one of the two).

    Examples:
      >>> sched = ReduceLROnPlateau(0.1, patience=1)
      >>> for loss in [1.0, 1.0, 1.0, 1.0]:
      ...     sched.step(loss)
      >>> round(sched.get_last_lr()[0], 6), sched.last_epoch
      (0.01, 4)
    """

    __module__ = "jax_onecycle"
    is_schedule = False
    not_a_schedule = (
        "its rate follows the metrics given to `step(metric)`, not the step count, so as a "
        "schedule `count -> value` it would be frozen under `jax.jit`. Use "
        "`jax_onecycle.reduce_lr_on_plateau` (the optax transform) in an optax chain, or "
        "`SGD(lr=ReduceLROnPlateau(...))` (also Adam, AdamW), which reads its rate inside the "
        "compiled update."
    )

    def __init__(
        self,
        lr: Any = 1e-3,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: Any = 0.0,
        eps: float = 1e-8,
        *,
        base_lr: Any = None,
    ):
        fn = "ReduceLROnPlateau"
        if base_lr is not None:
            if lr != 1e-3:
                raise TypeError(f"{fn}: give the learning rate once, as `lr` or as `base_lr`.")
            lr = base_lr
        lrs = per_group(fn, "lr", lr, float)
        min_lrs = per_group(fn, "min_lr", min_lr, float)
        if len(min_lrs) not in (1, len(lrs)):
            raise ValueError(
                f"{fn}: `min_lr` must be a float or one per group ({len(lrs)}), got {min_lr!r}."
            )
        _, self._hyper = _plateau.check_args(fn, lrs, locals(), min_lr=min_lrs)
        self._hyper["min_lr"] = jnp.asarray(min_lrs, jnp.float32)
        super().__init__(len(lrs))
        self.base_lrs = lrs
        self._state = brainstate.LongTermState(
            _plateau.init(jnp.asarray(lrs, jnp.float32), self._hyper["mode"])
        )

    def step(self, metric: ArrayLike) -> None:
        """Record one epoch's ``metric`` (one real number; traced inside ``jit`` is fine)."""
        metric = _plateau.check_metric("ReduceLROnPlateau.step", "metric", metric)
        self._state.value = _plateau.update(self._state.value, metric, **self._hyper)

    def group_lr(self, group: int) -> jax.Array:
        return self._state.value.lr[group]

    def __call__(self, count: ArrayLike) -> jax.Array:
        """Refused: a plateau rate is not a function of ``count`` (see ``not_a_schedule``)."""
        del count
        raise TypeError(
            f"ReduceLROnPlateau is not a schedule `count -> value`: {self.not_a_schedule}"
        )

    def lr_apply(self, fn: Any) -> None:
        """Set each group's current rate to ``fn(rate)``; later cuts start from it."""
        new = applied("ReduceLROnPlateau.lr_apply", fn, self.get_lr())
        state = self._state.value
        self._state.value = state._replace(lr=place(new, state.lr))

    @property
    def last_epoch(self) -> Any:
        """Number of metrics seen (a `StepCount` outside ``jit``)."""
        return counter_view(self._state.value.last_epoch)

    def settings(self) -> dict[str, Any]:
        found = super().settings()
        if found.pop("base_lr") is not None:  # one spelling of the rate in the record
            found["lr"] = self.base_lrs if len(self.base_lrs) > 1 else self.base_lrs[0]
        return found

    def state_dict(self) -> dict[str, Any]:
        """A plain, picklable dict of every counter (numpy values) and the settings."""
        counters = {k: np.asarray(v) for k, v in self._state.value._asdict().items()}
        return {**counters, "settings": self.settings()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the counters, with the dtypes and shapes they were made with.

        A dict that does not fit (a missing or extra entry, other settings, a wrong type or
        shape, a negative count, a NaN rate, another scheduler's dict) is refused whole:
        nothing is loaded.
        """
        fn, like = "ReduceLROnPlateau.load_state_dict", self._state.value
        state_dict = exact_keys(fn, state_dict, [*like._fields, "settings"], "ReduceLROnPlateau")
        same_settings(
            fn, state_dict["settings"], self.settings(), "ReduceLROnPlateau",
            hint="Build it with the saved settings to resume",
        )  # fmt: skip
        arrays = {
            k: leaf(fn, f"state_dict[{k!r}]", state_dict[k], getattr(like, k), infinite=k == "best")
            for k in like._fields
        }
        _validate.learning_rate(fn, "state_dict['lr']", arrays["lr"])
        self._state.value = like._replace(
            **{k: place(a, getattr(like, k)) for k, a in arrays.items()}
        )
