"""The learning-rate range test ("LR finder"): a compiled exponential sweep.

Training runs in chunks of ``chunk_size`` steps, each chunk one ``jax.lax.scan``
(``brainstate.transform.scan`` for brainstate models) over stacked batches; the host
smooths the losses and checks for divergence between chunks. The last chunk is padded
with its final batch, so the sweep compiles once; padded steps are discarded. With
``stacked=True`` the step inside the scan is ``jax.vmap``-ed over ``R`` runs side by side.
The result and its suggestion rules live in ``_finder_result.py``.
"""

from __future__ import annotations

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
from ._finder_result import LRRangeTestResult, make_result
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
    stacked: bool = False,
) -> LRRangeTestResult:
    """Leslie Smith's learning-rate range test: train while the learning rate grows geometrically.

    Step ``i`` uses ``init_lr * (final_lr / init_lr) ** (i / (num_iter - 1))`` and the next
    batch. Losses are smoothed as fastai does: ``avg = b * avg + (1 - b) * loss``,
    ``smoothed = avg / (1 - b ** (i + 1))``, ``b = 1 - smooth_factor``. The sweep stops when
    ``batches`` runs out, at a non-finite loss (that step dropped), or when ``smoothed - best >
    (diverge_threshold - 1) * |best|`` (fastai's ``smoothed > threshold * best``; step kept).
    Neither ``params`` nor the brainstate model (every State the sweep writes) is changed.

    ``stacked=True`` (optax form only) trains ``R`` independent runs (seeds, data orders)
    side by side in one compiled sweep: every leaf of ``params`` and of each batch has a
    leading axis of ``R``. ``losses`` and ``smoothed_losses`` are then ``(R, n)`` (each run
    smoothed on its own), ``lrs`` ``(n,)``; the suggestions apply the one-run rules to the
    mean over runs of the smoothed losses, and ``suggestion_ranges[name]`` is the least and
    greatest of the runs' own suggestions. The sweep stops when that mean diverges, or at a
    step where any run's loss is not finite (the step dropped for all runs).

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
      stacked: ``R`` runs side by side, on a leading axis of every leaf of ``params`` and
        of the batches (optax form only).

    Returns:
      An `LRRangeTestResult`; suggestions: ``"minimum"`` = lr at smoothed minimum / 10
      (>= ``init_lr``); after ``num_iter // 10`` steps, ``"steepest"`` and fastai's ``"valley"``;
      ``suggestion_ranges``: ``(low, high)`` over the runs (``(v, v)`` unstacked).

    Raises:
      ValueError, TypeError: for a bad argument, or a non-finite first loss.

    Examples:
      >>> import jax.numpy as jnp, numpy as np
      >>> x = np.random.default_rng(0).normal(size=(50, 16, 3)).astype(np.float32)
      >>> loss_fn = lambda w, b: jnp.mean((b @ w - b @ jnp.array([1.0, -2.0, 0.5])) ** 2)
      >>> res = lr_range_test(loss_fn, jnp.zeros(3), x, num_iter=50, progress=False)
      >>> float(res.lrs[0]), bool(np.isclose(res.losses[0], loss_fn(jnp.zeros(3), x[0])))
      (1e-07, True)

      Four runs side by side, each from its own start and on its own batches:

      >>> w4 = jnp.asarray(np.random.default_rng(1).normal(size=(4, 3)), jnp.float32)
      >>> x4 = np.random.default_rng(2).normal(size=(50, 4, 16, 3)).astype(np.float32)
      >>> res4 = lr_range_test(loss_fn, w4, x4, num_iter=50, progress=False, stacked=True)
      >>> res4.losses.shape[0], res4.lrs.ndim, res4.runs
      (4, 1, 4)
      >>> low, high = res4.suggestion_ranges["minimum"]
      >>> bool(low <= high)
      True

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
    stacked = _validate.boolean(_FN, "stacked", stacked)
    batch_iter = _batch_iterator(batches)
    states = _param_states(params)
    if stacked and states is not None:
        _validate.fail(
            _FN,
            "stacked",
            "False for the brainstate form (stack runs with the optax form: "
            "`loss_fn(params, batch)` on a pytree of arrays)",
            stacked,
        )
    runs = _run_count(params) if stacked else None

    if optimizer is None:
        tx = scheduled(sgd_chain, learning_rate=init_lr, momentum=0.9)
    else:
        tx = optimizer
    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(_NOT_INJECTED.format(optimizer))
    values = [s.value for s in states] if states is not None else params
    opt_state = jax.vmap(tx.init)(values) if stacked else tx.init(values)
    hyper = getattr(opt_state, "hyperparams", None)
    if not isinstance(hyper, dict) or "learning_rate" not in hyper:
        raise TypeError(_NOT_INJECTED.format(optimizer))
    lr_dtype = jnp.asarray(hyper["learning_rate"]).dtype

    lrs = init_lr * (final_lr / init_lr) ** (np.arange(num_iter) / (num_iter - 1))
    if states is None:
        run, carry = _optax_chunk(loss_fn, tx, stacked), (params, opt_state)
    else:
        run, carry = _brainstate_chunk(loss_fn, states, tx), opt_state
    snapshot = {id(s): (s, s.value) for s in states or ()}
    losses: list[np.ndarray] = []  # per step: one loss per run
    smoothed: list[np.ndarray] = []
    bar = _progress_bar(num_iter) if progress else None
    try:
        avg, best, beta, stop = np.zeros(runs or 1), math.inf, 1.0 - smooth_factor, False
        while not stop and len(losses) < num_iter:
            start = len(losses)
            chunk = list(itertools.islice(batch_iter, min(chunk_size, num_iter - start)))
            if not chunk:
                break
            n = len(chunk)
            xs = _stack(chunk + [chunk[-1]] * (chunk_size - n))
            if runs is not None:
                _check_run_axis(xs, runs)
            chunk_lrs = np.concatenate([lrs[start : start + n], np.full(chunk_size - n, lrs[-1])])
            chunk_lrs = jnp.asarray(chunk_lrs, dtype=lr_dtype)
            if states is not None and start == 0:
                for s in run.stateful_fun.get_write_states(carry, chunk_lrs, xs):
                    snapshot.setdefault(id(s), (s, s.value))
            carry, (chunk_losses, used) = run(carry, chunk_lrs, xs)
            if start == 0:  # the first chunk proves the rate reaches the update
                used_lrs = np.asarray(used[:n]).reshape(n, -1)
                if not np.allclose(used_lrs, np.asarray(chunk_lrs[:n])[:, None]):
                    raise TypeError(_SCHEDULED)
            why = ""
            for loss in np.asarray(chunk_losses, dtype=np.float64)[:n].reshape(n, -1):
                if not np.isfinite(loss).all():
                    stop, why = True, "loss not finite"
                    break
                avg = beta * avg + (1.0 - beta) * loss
                smooth = avg / (1.0 - beta ** (len(losses) + 1))
                losses.append(loss)
                smoothed.append(smooth)
                mean = float(np.mean(smooth))  # one run: its own smoothed loss
                best = min(best, mean)
                if mean - best > (threshold - 1.0) * abs(best):
                    stop, why = True, f"smoothed loss over {threshold:g}x its minimum"
                    break
            if bar is not None:
                bar.update(len(losses) - start)
                if smoothed:
                    bar.set_postfix(loss=f"{float(np.mean(smoothed[-1])):.4g}")
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
    raw, smooth_all = np.stack(losses, axis=-1), np.stack(smoothed, axis=-1)  # (runs, n)
    if runs is None:
        raw, smooth_all = raw[0], smooth_all[0]
    return make_result(lrs[: len(losses)], raw, smooth_all, num_iter)


def _run_count(params: Any) -> int:
    """``R``, the leading axis every leaf of a stacked ``params`` shares (at least 1)."""
    sizes = {jnp.shape(leaf)[0] if jnp.ndim(leaf) else None for leaf in jax.tree.leaves(params)}
    if None in sizes or len(sizes) != 1:
        _validate.fail(
            _FN,
            "params",
            "a pytree whose every leaf has one common leading axis of R runs (stacked=True)",
            f"leading axes {sorted(sizes, key=str)}",
        )
    runs = int(sizes.pop() or 0)
    if runs < 1:
        _validate.fail(
            _FN, "params", "stacked on a leading axis of R >= 1 runs (stacked=True)", runs
        )
    return runs


def _check_run_axis(xs: Any, runs: int) -> None:
    """Every leaf of the stacked batches ``[steps, R, ...]`` has the runs' axis ``R``."""
    sizes = {jnp.shape(leaf)[1] if jnp.ndim(leaf) > 1 else None for leaf in jax.tree.leaves(xs)}
    if sizes != {runs}:
        _validate.fail(
            _FN,
            "batches",
            f"batches whose every leaf has a leading axis of R = {runs} runs, that of `params` "
            "(stacked=True)",
            f"leading axes {sorted(sizes, key=str)}",
        )


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


def _optax_chunk(loss_fn: Callable, tx: optax.GradientTransformation, stacked: bool) -> Callable:
    """``run((params, opt_state), lrs, batches)``: one compiled scan over a chunk of steps.

    ``stacked``: the step is ``jax.vmap``-ed over the runs' leading axis (one rate for all).
    """
    value_and_grad = jax.value_and_grad(_scalar_loss(loss_fn))

    def step(params, opt_state, lr, batch):
        loss, grads = value_and_grad(params, batch)
        updates, opt_state = tx.update(grads, _with_lr(opt_state, lr), params)
        used = opt_state.hyperparams["learning_rate"]  # type: ignore[union-attr]
        return optax.apply_updates(params, updates), opt_state, loss, used

    if stacked:
        step = jax.vmap(step, in_axes=(0, 0, None, 0))

    def body(carry, xs):
        params, opt_state, loss, used = step(*carry, *xs)
        return (params, opt_state), (loss, used)

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
