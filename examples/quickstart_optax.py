"""Quickstart: one-cycle SGD in plain JAX + optax, in one call.

``jax_onecycle.onecycle_sgd`` is an ordinary ``optax.GradientTransformation``: SGD whose
learning rate warms up to ``max_lr`` and anneals, while the momentum moves the other way
(0.95 -> 0.85 -> 0.95). Both are injected with ``optax.inject_hyperparams``, so the values
the last update used are in ``state.hyperparams``; this script prints them, with the
epoch's mean training loss, as it trains a softmax-regression classifier on synthetic data
(no download), and reports the held-out loss and accuracy.

    python examples/quickstart_optax.py            # 10 epochs, ~10 s (7 s of CPU time)
    python examples/quickstart_optax.py --quick    # tiny sizes
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import optax

import jax_onecycle as jo


def make_data(key: jax.Array, n: int, features: int, classes: int):
    """Gaussian blobs: ``classes`` centres, ``n`` points, labels attached."""
    k_centres, k_labels, k_noise = jax.random.split(key, 3)
    centres = 0.6 * jax.random.normal(k_centres, (classes, features))
    y = jax.random.randint(k_labels, (n,), 0, classes)
    x = centres[y] + jax.random.normal(k_noise, (n, features))
    return x, y


def loss_fn(params, x, y):
    logits = x @ params["w"] + params["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-lr", type=float, default=0.5)
    args = parser.parse_args()
    epochs = 3 if args.quick else args.epochs
    n, features, classes, batch = (256, 8, 3, 32) if args.quick else (4096, 32, 10, 128)

    x_all, y_all = make_data(jax.random.PRNGKey(0), 2 * n, features, classes)
    x, y, x_test, y_test = x_all[:n], y_all[:n], x_all[n:], y_all[n:]
    steps_per_epoch = n // batch
    params = {"w": jnp.zeros((features, classes)), "b": jnp.zeros(classes)}

    # One call: one-cycle learning rate + momentum cycled the other way, PyTorch's SGD update.
    opt = jo.onecycle_sgd(args.max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                          weight_decay=1e-4)
    state = opt.init(params)

    @jax.jit
    def train_step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    # train_loss: the mean over the epoch's batches; lr, momentum: what its last update used
    print(f"{'epoch':>5} {'train_loss':>10} {'lr':>10} {'momentum':>9}")
    for epoch in range(epochs):
        perm = jax.random.permutation(jax.random.PRNGKey(epoch + 1), n)
        losses = []
        for i in range(steps_per_epoch):
            idx = perm[i * batch:(i + 1) * batch]
            params, state, loss = train_step(params, state, x[idx], y[idx])
            losses.append(loss)
        lr = float(state.hyperparams["learning_rate"])
        momentum = float(state.hyperparams["momentum"])
        mean_loss = float(jnp.mean(jnp.stack(losses)))
        print(f"{epoch + 1:>5} {mean_loss:>10.4f} {lr:>10.3e} {momentum:>9.4f}")

    accuracy = float(jnp.mean(jnp.argmax(x_test @ params["w"] + params["b"], -1) == y_test))
    print(f"test loss {float(loss_fn(params, x_test, y_test)):.4f}, test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
