"""Policies and the compiled trainer: one program per budget, vmapped over runs.

A *run* is one (seed, learning rate, weight decay, policy). All runs of a budget are
calls of one ``jax.jit(jax.vmap(...))`` program: ``lax.scan`` over epochs and batches.
SGD with momentum 0.9 (one-cycle cycles it 0.95 -> 0.85 -> 0.95) and batch 128 for all;
weight decay ``wd * params`` is added to the gradient in front of every policy, so every
policy decays the same way (as ``onecycle_sgd(weight_decay=...)`` and
``optax.add_decayed_weights`` do), and ``wd`` can be a vmapped grid.

Examples:
    >>> import numpy as np
    >>> sorted(POLICIES)
    ['constant', 'cosine', 'onecycle', 'step']
    >>> step_milestones(20)
    [10, 15]
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo

from .data import augment
from .model import apply_cnn, init_cnn

MOMENTUM = 0.9
POLICIES = ("constant", "step", "cosine", "onecycle")


def step_milestones(epochs: int) -> list[int]:
    """Epochs at which the step schedule multiplies the rate by 0.1: 50% and 75% of the budget."""
    return sorted({max(1, round(0.5 * epochs)), max(1, round(0.75 * epochs))})


def make_policy(
    name: str, lr: jax.Array, epochs: int, steps_per_epoch: int
) -> tuple[optax.GradientTransformation, Callable, Callable]:
    """The optimizer of policy ``name`` with peak/base rate ``lr``, and its lr, momentum curves.

    ``lr`` may be traced (a vmapped grid of rates). The curves map a step to a value.
    """
    total = epochs * steps_per_epoch
    if name == "onecycle":
        tx = jo.onecycle_sgd(lr, total)
        return tx, jo.onecycle_schedule(lr, total), jo.onecycle_momentum_schedule(total)
    if name == "constant":
        sched = lambda s: jnp.full(jnp.shape(s), 1.0, jnp.float32) * lr  # noqa: E731
    elif name == "step":
        sched = jo.multistep_schedule(lr, step_milestones(epochs), steps_per_epoch=steps_per_epoch)
    elif name == "cosine":
        sched = jo.cosine_annealing_schedule(lr, epochs, steps_per_epoch=steps_per_epoch)
    else:
        raise ValueError(f"make_policy: `name` must be one of {POLICIES}, got {name!r}.")
    mom = lambda s: jnp.full(jnp.shape(s), MOMENTUM, jnp.float32)  # noqa: E731
    return optax.sgd(sched, momentum=MOMENTUM), sched, mom


def _xent(logits: jax.Array, y: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def make_trainer(
    epochs: int,
    *,
    n_train: int,
    batch: int,
    widths: tuple[int, ...],
    n_classes: int,
    shift: int,
    scale: float,
) -> Callable:
    """``run(seeds, lrs, wds, policies, data, with_test)``, compiled once per budget.

    Each run trains with the policy ``POLICIES[policies[i]]``. One program serves every
    policy of a budget: all four optimizers (``optax.sgd`` with the constant, step and
    cosine schedules, and ``onecycle_sgd``) update their own state from the same gradients
    and the run's own policy picks the update that is applied, so each policy trains
    exactly as it would alone, and a budget compiles once instead of four times.

    ``history`` is ``[runs, epochs, 2]``: mean training loss and validation accuracy after
    each epoch; ``test_acc`` is ``[runs]``, the test accuracy after the last epoch (NaN
    when ``with_test`` is false: selection runs skip the test set).
    ``data`` is ``(x_train, y_train, x_val, y_val, x_test, y_test)``.
    """
    steps_per_epoch = n_train // batch

    def accuracy(params, stats, x, y):
        logits, _ = apply_cnn(params, stats, x, train=False)
        return jnp.mean(jnp.argmax(logits, -1) == y)

    def run(seed, lr, wd, policy, data, with_test):
        x_tr, y_tr, x_va, y_va, x_te, y_te = data
        key_init, key_data = jax.random.split(jax.random.PRNGKey(seed))
        params, stats = init_cnn(key_init, widths, n_classes)
        txs = [make_policy(name, lr, epochs, steps_per_epoch)[0] for name in POLICIES]

        def loss_fn(p, s, x, y):
            logits, new_s = apply_cnn(p, s, x, train=True)
            return _xent(logits, y), new_s

        def step(carry, inputs):
            params, stats, opts = carry
            idx, key = inputs
            x = augment(key, x_tr[idx], shift, scale)
            (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, stats, x, y_tr[idx]
            )
            grads = jax.tree.map(lambda g, p: g + wd * p, grads, params)  # weight decay
            outs = [tx.update(grads, opt, params) for tx, opt in zip(txs, opts)]
            updates = jax.tree.map(lambda *u: jnp.stack(u)[policy], *[o[0] for o in outs])
            opts = tuple(o[1] for o in outs)
            return (optax.apply_updates(params, updates), stats, opts), loss

        def epoch(carry, key):
            key_perm, key_aug = jax.random.split(key)
            order = jax.random.permutation(key_perm, n_train)[: steps_per_epoch * batch]
            keys = jax.random.split(key_aug, steps_per_epoch)
            carry, losses = jax.lax.scan(step, carry, (order.reshape(-1, batch), keys))
            acc = accuracy(carry[0], carry[1], x_va, y_va)
            return carry, jnp.stack([jnp.mean(losses), acc])

        carry = (params, stats, tuple(tx.init(params) for tx in txs))
        carry, history = jax.lax.scan(epoch, carry, jax.random.split(key_data, epochs))
        test = jax.lax.cond(
            with_test,
            lambda: accuracy(carry[0], carry[1], x_te, y_te),
            lambda: jnp.float32(jnp.nan),
        )
        return history, test

    return jax.jit(jax.vmap(run, in_axes=(0, 0, 0, 0, None, None)))


def train_runs(
    trainer: Callable, seeds, lrs, wds, policies, data, with_test: bool = True
) -> tuple[np.ndarray, ...]:
    """Call a trainer on equal-length sequences of seeds, rates, weight decays, policy names."""
    codes = [POLICIES.index(p) for p in policies]
    history, test = trainer(
        jnp.asarray(seeds, jnp.int32),
        jnp.asarray(lrs, jnp.float32),
        jnp.asarray(wds, jnp.float32),
        jnp.asarray(codes, jnp.int32),
        data,
        jnp.asarray(with_test),
    )
    return np.asarray(history), np.asarray(test)
