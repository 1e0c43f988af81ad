"""The learning-rate range test ("LR finder"): a compiled exponential sweep.

Training runs in chunks of ``chunk_size`` steps, each chunk one ``jax.lax.scan``
(``brainstate.transform.scan`` for brainstate models) over stacked batches; the host
smooths the losses and checks for divergence between chunks. The last chunk is padded
with its final batch, so the sweep compiles once; padded steps are discarded.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _validate
from .optim._onecycle import sgd_chain
from .optim._scheduled import scheduled

if TYPE_CHECKING:
    import brainstate

__all__ = ["lr_range_test", "LRRangeTestResult"]

_FN = "lr_range_test"
_NOT_INJECTED = (
    "lr_range_test: `optimizer` must inject a numeric `learning_rate`, e.g. "
    "`jo.scheduled(optax.adam, learning_rate=1e-3)` (dtype-safe) or "
    "`optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)`, so the "
    "sweep can write `state.hyperparams['learning_rate']`; got {!r}."
)
_SCHEDULED = (
    "lr_range_test: the `learning_rate` of `optimizer` must be a number, not a schedule: "
    "the sweep sets it each step, and a schedule overwrites it."
)


@dataclasses.dataclass(frozen=True, eq=False)
class LRRangeTestResult:
    """What `lr_range_test` measured, one entry per step run.

    Attributes:
      lrs: the learning rate of each step.
      losses: the raw loss of each step, computed before its update.
      smoothed_losses: bias-corrected exponential moving average of ``losses``.
      suggestions: learning rates in the swept range: ``"minimum"``, the one at the smoothed
        minimum / 10 (never below the first); ``"steepest"``, where the smoothed loss falls
        fastest per ``log(lr)``; ``"valley"``, fastai's longest-valley rule. The last two
        ignore the first ``num_iter // 10`` steps, as fastai does.
    """

    __module__ = "jax_onecycle"

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestions: dict[str, float]

    def __repr__(self) -> str:
        found = ", ".join(f"{k}={v:.3g}" for k, v in self.suggestions.items())
        return f"LRRangeTestResult(steps={self.lrs.size}, {found})"

    def plot(self, ax: Any = None) -> Any:
        """Draw the raw and smoothed loss against the learning rate (log axis), suggestions marked.

        The y-range frames the sweep up to the smoothed minimum; raw losses above it (the
        divergence) are drawn clipped at the top edge. ``"minimum"`` is marked where it is,
        a tenth of the learning rate at the smoothed minimum (fastai's ``lr_min``), and the
        smoothed minimum itself by a dotted line.

        Args:
          ax: a matplotlib ``Axes`` to draw on; a new figure is made when None.

        Returns:
          The matplotlib ``Axes``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        # Frame the useful part: the sweep up to the smoothed minimum, not the exploding
        # losses after the divergence point.
        lowest = int(np.argmin(self.smoothed_losses))
        head = np.concatenate([self.losses[: lowest + 1], self.smoothed_losses[: lowest + 1]])
        bottom, top = float(np.min(head)), float(np.max(head))
        pad = 0.08 * max(top - bottom, 1e-12 + 0.05 * abs(bottom))
        ymin, ymax = bottom - pad, top + pad
        clipped = self.losses > ymax
        raw_label = "loss (raw, clipped at the top)" if clipped.any() else "loss (raw)"
        ax.plot(self.lrs, np.minimum(self.losses, ymax), color="0.6", lw=1, label=raw_label)
        ax.plot(self.lrs, self.smoothed_losses, color="C0", lw=2, label="smoothed loss")
        ax.axvline(
            self.lrs[lowest],
            color="C0",
            ls=":",
            lw=1,
            label=f"smoothed minimum: {self.lrs[lowest]:.2e}",
        )
        described = {
            "minimum": "minimum (smoothed-minimum LR / 10)",
            "steepest": "steepest (fastest fall)",
            "valley": "valley (fastai's rule)",
        }
        log_lrs = np.log(self.lrs)
        for i, (name, lr) in enumerate(self.suggestions.items()):
            y = np.interp(np.log(lr), log_lrs, self.smoothed_losses)
            label = f"{described.get(name, name)}: {lr:.2e}"
            ax.plot([lr], [y], "o", color=f"C{i + 1}", ms=7, zorder=3, label=label)
        ax.set_ylim(ymin, ymax)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss (per batch)")
        ax.legend(loc="lower left", fontsize=8)
        return ax


def lr_range_test(
    loss_fn: Callable[..., Any],
    params: Any,
    batches: Iterable[Any],
    *,
    init_lr: float = 1e-7,
    final_lr: float = 10.0,
    num_iter: int = 100,
    optimizer: optax.GradientTransformation | None = None,
    smooth_factor: float = 0.05,
    diverge_threshold: float = 5.0,
    chunk_size: int = 10,
    progress: bool = True,
) -> LRRangeTestResult:
    """Leslie Smith's learning-rate range test: train while the learning rate grows geometrically.

    Step ``i`` uses ``init_lr * (final_lr / init_lr) ** (i / (num_iter - 1))`` and the next
    batch. Losses are smoothed as fastai does: ``avg = b * avg + (1 - b) * loss``,
    ``smoothed = avg / (1 - b ** (i + 1))``, ``b = 1 - smooth_factor``. The sweep stops when
    ``batches`` runs out, at a non-finite loss (that step dropped), or when ``smoothed - best >
    (diverge_threshold - 1) * |best|`` (fastai's ``smoothed > threshold * best``; step kept).
    Neither ``params`` nor the brainstate model (every State the sweep writes) is changed.

    Args:
      loss_fn: ``loss_fn(params, batch)`` (optax form), or ``loss_fn(batch)`` reading a
        brainstate model (brainstate form); returns a scalar.
      params: a pytree of arrays, or ``model.states(brainstate.ParamState)``.
      batches: a sequence or iterator of batches (pytrees of equal shapes).
      init_lr: learning rate of the first step.
      final_lr: learning rate of the last step.
      num_iter: number of steps at most.
      optimizer: an ``optax.inject_hyperparams`` transformation; None: SGD, momentum 0.9.
      smooth_factor: weight of the newest loss in the moving average, in (0, 1).
      diverge_threshold: divergence factor, > 1.
      chunk_size: steps per compiled ``scan`` (between divergence checks).
      progress: show a tqdm progress bar (when tqdm is installed).

    Returns:
      An `LRRangeTestResult`; suggestions: ``"minimum"`` = lr at smoothed minimum / 10
      (>= ``init_lr``); after ``num_iter // 10`` steps, ``"steepest"`` and fastai's ``"valley"``.

    Raises:
      ValueError, TypeError: for a bad argument, or a non-finite first loss.

    Examples:
      >>> import jax.numpy as jnp, numpy as np
      >>> x = np.random.default_rng(0).normal(size=(50, 16, 3)).astype(np.float32)
      >>> loss_fn = lambda w, b: jnp.mean((b @ w - b @ jnp.array([1.0, -2.0, 0.5])) ** 2)
      >>> res = lr_range_test(loss_fn, jnp.zeros(3), x, num_iter=50, progress=False)
      >>> float(res.lrs[0]), bool(np.isclose(res.losses[0], loss_fn(jnp.zeros(3), x[0])))
      (1e-07, True)

    References:
      Smith, `Cyclical Learning Rates for Training Neural Networks
      <https://arxiv.org/abs/1506.01186>`_, 2017.
    """
    if not callable(loss_fn):
        _validate.fail(_FN, "loss_fn", "callable", loss_fn, TypeError)
    init_lr = _validate.positive(_FN, "init_lr", init_lr)
    final_lr = _validate.positive(_FN, "final_lr", final_lr)
    if final_lr <= init_lr:
        _validate.fail(_FN, "final_lr", f"greater than `init_lr` ({init_lr!r})", final_lr)
    num_iter = _validate.step_count(_FN, "num_iter", num_iter, minimum=2)
    smooth_factor = _validate.fraction(_FN, "smooth_factor", smooth_factor)
    threshold = _validate.real(_FN, "diverge_threshold", diverge_threshold)
    if not (math.isfinite(threshold) and threshold > 1.0):
        _validate.fail(_FN, "diverge_threshold", "a finite number > 1", diverge_threshold)
    chunk_size = min(_validate.step_count(_FN, "chunk_size", chunk_size), num_iter)
    progress = _validate.boolean(_FN, "progress", progress)
    batch_iter = _batch_iterator(batches)
    states = _param_states(params)

    if optimizer is None:
        tx = scheduled(sgd_chain, learning_rate=init_lr, momentum=0.9)
    else:
        tx = optimizer
    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(_NOT_INJECTED.format(optimizer))
    values = [s.value for s in states] if states is not None else params
    opt_state = tx.init(values)
    hyper = getattr(opt_state, "hyperparams", None)
    if not isinstance(hyper, dict) or "learning_rate" not in hyper:
        raise TypeError(_NOT_INJECTED.format(optimizer))
    lr_dtype = jnp.asarray(hyper["learning_rate"]).dtype

    lrs = init_lr * (final_lr / init_lr) ** (np.arange(num_iter) / (num_iter - 1))
    if states is None:
        run, carry = _optax_chunk(loss_fn, tx), (params, opt_state)
    else:
        run, carry = _brainstate_chunk(loss_fn, states, tx), opt_state
    snapshot = {id(s): (s, s.value) for s in states or ()}
    losses: list[float] = []
    smoothed: list[float] = []
    bar = _progress_bar(num_iter) if progress else None
    try:
        avg, best, beta, stop = 0.0, math.inf, 1.0 - smooth_factor, False
        while not stop and len(losses) < num_iter:
            start = len(losses)
            chunk = list(itertools.islice(batch_iter, min(chunk_size, num_iter - start)))
            if not chunk:
                break
            n = len(chunk)
            xs = _stack(chunk + [chunk[-1]] * (chunk_size - n))
            chunk_lrs = np.concatenate([lrs[start : start + n], np.full(chunk_size - n, lrs[-1])])
            chunk_lrs = jnp.asarray(chunk_lrs, dtype=lr_dtype)
            if states is not None and start == 0:
                for s in run.stateful_fun.get_write_states(carry, chunk_lrs, xs):
                    snapshot.setdefault(id(s), (s, s.value))
            carry, (chunk_losses, used) = run(carry, chunk_lrs, xs)
            if start == 0 and not np.allclose(np.asarray(used[:n]), np.asarray(chunk_lrs[:n])):
                raise TypeError(_SCHEDULED)
            why = ""
            for loss in np.asarray(chunk_losses, dtype=np.float64)[:n].tolist():
                if not math.isfinite(loss):
                    stop, why = True, "loss not finite"
                    break
                avg = beta * avg + (1.0 - beta) * loss
                smooth = avg / (1.0 - beta ** (len(losses) + 1))
                losses.append(loss)
                smoothed.append(smooth)
                best = min(best, smooth)
                if smooth - best > (threshold - 1.0) * abs(best):
                    stop, why = True, f"smoothed loss over {threshold:g}x its minimum"
                    break
            if bar is not None:
                bar.update(len(losses) - start)
                if smoothed:
                    bar.set_postfix(loss=f"{smoothed[-1]:.4g}")
                if stop:  # say why the bar ends short of num_iter
                    at = lrs[max(len(losses) - 1, 0)]
                    bar.set_postfix_str(
                        f"stopped early at step {len(losses)}/{num_iter}, lr {at:.3g}: {why}"
                    )
    finally:
        if bar is not None:
            bar.close()
        for state, value in snapshot.values():
            state.value = value
    if not losses:
        raise ValueError(
            f"{_FN}: the loss of the initial `params` on the first batch is not finite; "
            "check `loss_fn`, `params` and `batches`."
        )
    return _result(lrs[: len(losses)], np.asarray(losses), np.asarray(smoothed), num_iter)


def _batch_iterator(batches: Any) -> Iterator[Any]:
    """An iterator over ``batches`` that refuses non-iterables and empty inputs."""
    allowed = "a non-empty sequence or iterator of batches"
    try:
        it = iter(batches)
    except TypeError:
        _validate.fail(_FN, "batches", allowed, batches, TypeError)
    try:
        first = next(it)
    except StopIteration:
        _validate.fail(_FN, "batches", allowed, batches)
    return itertools.chain([first], it)


def _param_states(params: Any) -> list[brainstate.State] | None:
    """The distinct ``State`` objects of a brainstate ``params``, or None for a pytree of arrays.

    brainstate is not imported here: a ``State`` can only exist once its user has imported it.
    """
    bst = sys.modules.get("brainstate")
    state_type = bst.State if bst is not None else ()
    leaves = jax.tree.leaves(params, is_leaf=lambda x: isinstance(x, state_type))
    if not leaves:
        _validate.fail(_FN, "params", "a non-empty pytree of arrays or of ParamStates", params)
    is_state = [isinstance(leaf, state_type) for leaf in leaves]
    if not any(is_state):
        return None
    if not all(is_state):
        _validate.fail(
            _FN,
            "params",
            "all arrays (optax form) or all brainstate States "
            "(`model.states(brainstate.ParamState)`)",
            params,
            TypeError,
        )
    return list({id(s): s for s in leaves}.values())


def _stack(chunk: list[Any]) -> Any:
    """Stack a list of batches along a new leading axis (numpy stays on the host)."""

    def stack(*leaves: Any) -> Any:
        if all(isinstance(x, np.ndarray | np.generic | int | float) for x in leaves):
            return np.stack(leaves)
        return jnp.stack(leaves)

    try:
        return jax.tree.map(stack, *chunk)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{_FN}: every batch in `batches` must have the same structure and shapes "
            f"(drop or pad a ragged last batch); stacking failed with: {err}"
        ) from err


def _scalar_loss(loss_fn: Callable) -> Callable:
    """``loss_fn`` checked, at trace time, to return one real scalar (what ``grad`` needs)."""

    def checked(*args: Any) -> Any:
        loss = loss_fn(*args)
        dtype = getattr(loss, "dtype", None)
        if jnp.shape(loss) != () or (dtype is not None and not jnp.issubdtype(dtype, jnp.floating)):
            _validate.fail(
                _FN,
                "loss_fn",
                "a function returning one real scalar (the mean loss of the batch)",
                f"a value of shape {jnp.shape(loss)} and dtype {dtype}",
                TypeError,
            )
        return loss

    return checked


def _with_lr(opt_state: Any, lr: jax.Array) -> Any:
    hyper = dict(opt_state.hyperparams, learning_rate=lr)
    return opt_state._replace(hyperparams=hyper)


def _optax_chunk(loss_fn: Callable, tx: optax.GradientTransformation) -> Callable:
    """``run((params, opt_state), lrs, batches)``: one compiled scan over a chunk of steps."""
    value_and_grad = jax.value_and_grad(_scalar_loss(loss_fn))

    def body(carry, xs):
        params, opt_state = carry
        lr, batch = xs
        loss, grads = value_and_grad(params, batch)
        updates, opt_state = tx.update(grads, _with_lr(opt_state, lr), params)
        used = opt_state.hyperparams["learning_rate"]  # type: ignore[union-attr]
        return (optax.apply_updates(params, updates), opt_state), (loss, used)

    return jax.jit(lambda carry, lrs, xs: jax.lax.scan(body, carry, (lrs, xs)))


def _brainstate_chunk(
    loss_fn: Callable, states: list[brainstate.State], tx: optax.GradientTransformation
) -> Any:
    """``run(opt_state, lrs, batches)``: a ``brainstate.transform.jit`` scan writing ``states``."""
    import brainstate  # the brainstate form only: its user has imported it already

    grad_fn = brainstate.transform.grad(
        _scalar_loss(loss_fn), grad_states=states, return_value=True
    )

    def body(opt_state, xs):
        lr, batch = xs
        grads, loss = grad_fn(batch)  # type: ignore[misc]
        values = [s.value for s in states]
        updates, opt_state = tx.update(grads, _with_lr(opt_state, lr), values)  # type: ignore[arg-type]
        new_values: list[Any] = optax.apply_updates(values, updates)  # type: ignore[assignment]
        for state, value in zip(states, new_values):
            state.value = value
        return opt_state, (loss, opt_state.hyperparams["learning_rate"])  # type: ignore[union-attr]

    return brainstate.transform.jit(
        lambda opt_state, lrs, xs: brainstate.transform.scan(body, opt_state, (lrs, xs))
    )


def _progress_bar(total: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=_FN, unit="step")


def _valley_index(smoothed: np.ndarray) -> int:
    """fastai's ``valley``: the longest decreasing run of points, then ~1/2 of the way in.

    As fastai (``fastai/callback/schedule.py``), except that an index fastai would make
    negative (and so wrap to the last step) is clamped to the first step.
    """
    lds = np.ones(smoothed.size, dtype=int)
    for i in range(1, smoothed.size):
        higher = smoothed[:i] > smoothed[i]
        if higher.any():
            lds[i] = lds[:i][higher].max() + 1
    end = int(np.argmax(lds))
    length = int(lds[end])
    return max(end - length + int(length / 3) + int(length / 6), 0)


def _result(
    lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, num_iter: int
) -> LRRangeTestResult:
    # "steepest" and "valley" skip the first num_iter // 10 steps, as fastai's lr_find does:
    # the moving average there has seen few losses and its noise fakes steep drops.
    skip = num_iter // 10 if smoothed.size > num_iter // 10 + 1 else 0
    tail_lrs, tail = lrs[skip:], smoothed[skip:]
    if tail.size > 1:
        steepest = float(tail_lrs[int(np.argmin(np.diff(tail) / np.diff(np.log(tail_lrs))))])
    else:
        steepest = float(tail_lrs[0])
    suggestions = {
        "minimum": max(float(lrs[int(np.argmin(smoothed))]) / 10.0, float(lrs[0])),
        "steepest": steepest,
        "valley": float(tail_lrs[_valley_index(tail)]),
    }
    for array in (lrs, losses, smoothed):
        array.setflags(write=False)
    return LRRangeTestResult(lrs, losses, smoothed, suggestions)
