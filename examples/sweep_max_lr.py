"""Sweep the peak learning rate in one compiled program: ``jax.vmap`` over ``max_lr``.

Every schedule of jax_onecycle accepts a traced ``max_lr``, so the optimizer can be built
*inside* the function that ``jax.vmap`` maps: ``onecycle_sgd(max_lr, ...)`` with ``max_lr`` a
tracer. One ``jax.jit(jax.vmap(train))`` call then trains one model per peak learning rate,
side by side (same initialisation, same batches), epochs and batches run by
``jax.lax.scan``: a single compilation and no Python loop over peaks, epochs or steps.
Data: scikit-learn's handwritten digits.

    python examples/sweep_max_lr.py                       # 8 peaks, 10 epochs
    python examples/sweep_max_lr.py --peaks 0.01 0.1 1   # your own peaks
    python examples/sweep_max_lr.py --quick               # tiny sizes
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo


def load_digits(n_train: int | None = None):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].astype(np.int32)
    cut = int(0.75 * len(x))
    x = (x - x[:cut].mean(0)) / (x[:cut].std(0) + 1e-6)
    n_train = cut if n_train is None else min(n_train, cut)
    return x[:n_train], y[:n_train], x[cut:], y[cut:]


def init_params(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [{"w": jax.random.normal(k, (a, b)) * jnp.sqrt(2.0 / a), "b": jnp.zeros(b)}
            for k, a, b in zip(keys, sizes, sizes[1:])]


def logits_fn(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits_fn(params, x), y).mean()


def make_train(data, epochs: int, batch: int, hidden: int):
    x_tr, y_tr, x_te, y_te = map(jnp.asarray, data)
    steps_per_epoch = len(x_tr) // batch
    # the same shuffled batches for every peak: [epochs, steps_per_epoch, batch]
    keys = jax.random.split(jax.random.PRNGKey(1), epochs)
    order = jax.vmap(lambda k: jax.random.permutation(k, len(x_tr)))(keys)
    order = order[:, : steps_per_epoch * batch].reshape(epochs, steps_per_epoch, batch)

    def train(max_lr):
        # built inside the vmapped function: max_lr is a tracer here
        tx = jo.onecycle_sgd(max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                             weight_decay=5e-4)
        params = init_params(jax.random.PRNGKey(0), (x_tr.shape[1], hidden, 10))

        def step(carry, idx):
            params, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, x_tr[idx], y_tr[idx])
            updates, state = tx.update(grads, state, params)
            lr_used = state.hyperparams["learning_rate"]  # the rate this update used
            return (optax.apply_updates(params, updates), state), (loss, lr_used)

        def epoch(carry, idx):
            carry, (losses, lrs) = jax.lax.scan(step, carry, idx)
            return carry, (losses.mean(), lrs.max())

        (params, _), (train_losses, lrs) = jax.lax.scan(epoch, (params, tx.init(params)), order)
        accuracy = jnp.mean(jnp.argmax(logits_fn(params, x_te), -1) == y_te)
        return train_losses[-1], loss_fn(params, x_te, y_te), accuracy, lrs.max()

    return jax.jit(jax.vmap(train))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--peaks", type=float, nargs="+",
                        default=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.hidden, args.peaks = 2, 16, [0.01, 0.1, 1.0]
    data = load_digits(n_train=256 if args.quick else None)

    train = make_train(data, args.epochs, args.batch, args.hidden)
    peaks = jnp.asarray(args.peaks, dtype=jnp.float32)
    start = time.perf_counter()
    train_loss, test_loss, accuracy, peak_used = jax.block_until_ready(train(peaks))
    seconds = time.perf_counter() - start
    print(f"{len(args.peaks)} one-cycle runs of {args.epochs} epochs on digits, "
          f"one compiled program (compile + run: {seconds:.1f} s)")
    print(f"{'max_lr':>8} {'highest lr used':>15} {'train_loss':>10} {'test_loss':>10} "
          f"{'accuracy':>9}")
    for row in zip(args.peaks, peak_used, train_loss, test_loss, accuracy):
        peak, lr, tl, vl, acc = map(float, row)
        print(f"{peak:>8.3g} {lr:>15.4g} {tl:>10.4g} {vl:>10.4g} {acc:>9.4f}")
    finite = np.isfinite(np.asarray(test_loss))
    if finite.any():
        best = int(np.nanargmin(np.where(finite, np.asarray(test_loss), np.nan)))
        print(f"lowest test loss at max_lr {args.peaks[best]:.3g}")


if __name__ == "__main__":
    main()
