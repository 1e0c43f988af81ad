"""Policies and the compiled trainer: one program per budget, vmapped over runs.

A *run* is one (seed, learning rate, weight decay) of one policy. All runs of a budget are
calls of one ``jax.jit(jax.vmap(...))`` program: ``lax.scan`` over epochs and batches. The
policy is one argument of the call shared by all its runs (not vmapped): every optimizer
updates its own state from the same gradients and the policy's update is applied, so a
policy trains exactly as it would alone; seeds and grid points of a policy and budget
train side by side, and a budget compiles once for every policy.

SGD with momentum 0.9 (one-cycle cycles it 0.95 -> 0.85 -> 0.95) and batch 128 for all;
weight decay ``wd * params`` is added to the gradient in front of every policy (as
``onecycle_sgd(weight_decay=...)`` and ``optax.add_decayed_weights`` do), so ``wd`` can be
a vmapped grid. Schedule-free SGD trains at its interpolated point ``y`` and is evaluated
at its averaged weights ``x`` (``optax.contrib.schedule_free_eval_params``), with
BatchNorm statistics recomputed on training batches at those weights.

Examples:
    >>> POLICIES
    ('constant', 'step', 'cosine', 'linear', 'wsd', 'onecycle', 'schedule_free')
    >>> step_milestones(20)
    [10, 15]
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo

from .data import augment
from .model import apply_cnn as apply_any, init_cnn

MOMENTUM = 0.9
WARMUP = 0.05  # warmup fraction of wsd and schedule-free
COOLDOWN = 0.2  # wsd's 1-sqrt cooldown fraction
BN_BATCHES = 8  # training batches that recompute schedule-free's BatchNorm statistics
POLICIES = ("constant", "step", "cosine", "linear", "wsd", "onecycle", "schedule_free")


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
    mom = lambda s: jnp.full(jnp.shape(s), MOMENTUM, jnp.float32)  # noqa: E731
    if name == "onecycle":
        tx = jo.onecycle_sgd(lr, total)
        return tx, jo.onecycle_schedule(lr, total), jo.onecycle_momentum_schedule(total)
    warmup = max(1, round(WARMUP * total))
    if name == "schedule_free":
        tx = optax.contrib.schedule_free_sgd(lr, warmup_steps=warmup, b1=MOMENTUM)
        ramp = lambda s: lr * jnp.minimum(1.0, (jnp.asarray(s) + 1.0) / warmup)  # noqa: E731
        return tx, ramp, mom
    if name == "constant":
        sched = lambda s: jnp.full(jnp.shape(s), 1.0, jnp.float32) * lr  # noqa: E731
    elif name == "step":
        sched = jo.multistep_schedule(lr, step_milestones(epochs), steps_per_epoch=steps_per_epoch)
    elif name == "cosine":
        sched = jo.cosine_annealing_schedule(lr, epochs, steps_per_epoch=steps_per_epoch)
    elif name == "linear":
        sched = jo.linear_schedule_with_warmup(lr, 0, total)
    elif name == "wsd":
        decay = max(1, round(COOLDOWN * total))
        stable = max(0, total - warmup - decay)
        sched = jo.wsd_schedule(lr, warmup, stable, decay, decay_type="1-sqrt")
    else:
        raise ValueError(f"make_policy: `name` must be one of {POLICIES}, got {name!r}.")
    return optax.sgd(sched, momentum=MOMENTUM), sched, mom


def xent(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Mean cross-entropy of integer labels ``y``."""
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
    stem: tuple[int, int] = (5, 2),
) -> Callable:
    """``run(seeds, lrs, wds, policy, data, with_test)``, compiled once per budget.

    ``seeds``, ``lrs``, ``wds`` are ``[runs]``; ``policy`` is one index into ``POLICIES``
    for all of them. ``history`` is ``[runs, epochs, 2]``: mean training loss of each epoch
    and the validation accuracy after the last (NaN after the others); ``test_acc`` is
    ``[runs]``, the test accuracy after the last epoch (NaN when ``with_test`` is false:
    selection runs skip the test set).
    ``data`` is ``(x_train, y_train, x_val, y_val, x_test, y_test)``.
    """
    steps_per_epoch = n_train // batch
    sf = POLICIES.index("schedule_free")
    apply_cnn = functools.partial(apply_any, stem_stride=stem[1])
    bn_batches = max(1, min(BN_BATCHES, n_train // batch))

    def accuracy(params, stats, x, y):
        logits, _ = apply_cnn(params, stats, x, train=False)
        return jnp.mean(jnp.argmax(logits, -1) == y)

    def run(seed, lr, wd, policy, data, with_test):
        x_tr, y_tr, x_va, y_va, x_te, y_te = data
        key_init, key_data = jax.random.split(jax.random.PRNGKey(seed))
        params, stats = init_cnn(key_init, widths, n_classes, stem, x_tr.ndim - 1)
        txs = [make_policy(name, lr, epochs, steps_per_epoch)[0] for name in POLICIES]

        def loss_fn(p, s, x, y):
            logits, new_s = apply_cnn(p, s, x, train=True)
            return xent(logits, y), new_s

        def apply_policy(k, grads, opts, params):
            """Every optimizer updates its own state; policy ``k``'s update is applied.

            A ``lax.switch`` would run one optimizer only, but it costs more than all
            seven elementwise updates (a conditional in the step stops XLA fusing the
            gradient with the update): 340 against 250 ms per seed-epoch on 2 cores.
            """
            outs = [tx.update(grads, opt, params) for tx, opt in zip(txs, opts)]
            updates = jax.tree.map(lambda *u: jnp.stack(u)[k], *[o[0] for o in outs])
            return updates, tuple(o[1] for o in outs)

        def step(carry, inputs):
            params, stats, opts = carry
            idx, key = inputs
            x = augment(key, x_tr[idx], shift, scale)
            (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, stats, x, y_tr[idx]
            )
            grads = jax.tree.map(lambda g, p: g + wd * p, grads, params)  # weight decay
            updates, opts = apply_policy(policy, grads, opts, params)
            return (optax.apply_updates(params, updates), stats, opts), loss

        def evaluated(carry):
            """Weights and statistics to evaluate: schedule-free's averaged ``x``, BN redone."""
            params, stats, opts = carry

            def averaged():
                x_params = optax.contrib.schedule_free_eval_params(opts[sf], params)
                xs = x_tr[: bn_batches * batch].reshape(bn_batches, batch, *x_tr.shape[1:])
                batch_stats = jax.vmap(lambda x: apply_cnn(x_params, stats, x, True, 0.0)[1])(xs)
                return x_params, jax.tree.map(lambda s: jnp.mean(s, 0), batch_stats)

            return jax.lax.cond(policy == sf, averaged, lambda: (params, stats))

        def epoch(carry, inputs):
            key, last = inputs
            key_perm, key_aug = jax.random.split(key)
            order = jax.random.permutation(key_perm, n_train)[: steps_per_epoch * batch]
            keys = jax.random.split(key_aug, steps_per_epoch)
            carry, losses = jax.lax.scan(step, carry, (order.reshape(-1, batch), keys))
            acc = jax.lax.cond(  # validation after the last epoch only: selection reads it
                last, lambda: accuracy(*evaluated(carry), x_va, y_va), lambda: jnp.float32(jnp.nan)
            )
            return carry, jnp.stack([jnp.mean(losses), acc])

        carry = (params, stats, tuple(tx.init(params) for tx in txs))
        lasts = jnp.arange(epochs) == epochs - 1
        carry, history = jax.lax.scan(epoch, carry, (jax.random.split(key_data, epochs), lasts))
        test = jax.lax.cond(
            with_test,
            lambda: accuracy(*evaluated(carry), x_te, y_te),
            lambda: jnp.float32(jnp.nan),
        )
        return history, test

    return jax.jit(jax.vmap(run, in_axes=(0, 0, 0, None, None, None)))


def train_runs(
    trainer: Callable, seeds, lrs, wds, policy: str, data, with_test: bool = True
) -> tuple[np.ndarray, ...]:
    """Call a trainer on equal-length sequences of seeds, rates, weight decays of one policy."""
    history, test = trainer(
        jnp.asarray(seeds, jnp.int32),
        jnp.asarray(lrs, jnp.float32),
        jnp.asarray(wds, jnp.float32),
        jnp.asarray(POLICIES.index(policy), jnp.int32),
        data,
        jnp.asarray(with_test),
    )
    return np.asarray(history), np.asarray(test)


_xent = xent  # the name examples/mnist1d_batch_scaling.py imports
