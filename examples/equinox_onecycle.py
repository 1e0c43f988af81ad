"""One-cycle training in Equinox: an ``eqx.filter_jit`` step with ``jo.onecycle_sgd``.

``jo.onecycle_sgd`` (or ``jo.onecycle_adamw``) is an ordinary optax transformation, used
the Equinox way: ``opt.init(eqx.filter(model, eqx.is_array))`` and, in the step,
``opt.update(grads, state, eqx.filter(model, eqx.is_array))`` then
``eqx.apply_updates``. The step is one ``eqx.filter_jit`` function, compiled once for the
whole run (the script counts its traces): the learning rate and the momentum (AdamW's
``b1``) are computed from the optimizer's step count inside the compiled update, and
``jo.hyperparams(state)`` returns the values each update used. The script checks every
step's values against ``jo.onecycle_schedule`` / ``jo.onecycle_momentum_schedule``.

Halfway through, it saves model and optimizer state with ``eqx.tree_serialise_leaves``
to ``--out``, rebuilds both from another initialisation, loads the file into them with
``eqx.tree_deserialise_leaves`` and finishes the cycle, as a restarted job would. Data:
scikit-learn's handwritten digits (shipped with scikit-learn, nothing downloads).

    python examples/equinox_onecycle.py                      # 10 epochs, SGD
    python examples/equinox_onecycle.py --optimizer adamw    # AdamW, b1 cycled
    python examples/equinox_onecycle.py --quick              # smoke size (seconds)
"""

from __future__ import annotations

import argparse
import os
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo

MOMENTUM_NAME = {"sgd": "momentum", "adamw": "b1"}
DEFAULT_MAX_LR = {"sgd": 0.1, "adamw": 3e-3}
TRACES = {"train_step": 0}


def load_digits(n_train: int | None = None):
    """scikit-learn's digits, shuffled, 75% train, standardised with the train statistics."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].astype(np.int32)
    cut = int(0.75 * len(x))
    x = (x - x[:cut].mean(0)) / (x[:cut].std(0) + 1e-6)
    n_train = cut if n_train is None else min(n_train, cut)
    return x[:n_train], y[:n_train], x[cut:], y[cut:]


def make_tx(name: str, max_lr: float, total_steps: int) -> optax.GradientTransformation:
    """The one-cycle optimizer: momentum (or AdamW's b1) cycled 0.95 -> 0.85 -> 0.95."""
    if name == "sgd":
        return jo.onecycle_sgd(max_lr, total_steps, weight_decay=5e-4)
    return jo.onecycle_adamw(max_lr, total_steps, weight_decay=1e-2)


def build(hidden: int, opt: optax.GradientTransformation, seed: int):
    """An MLP (64 -> hidden -> 10, ReLU) and its freshly initialised optimizer state."""
    model = eqx.nn.MLP(64, 10, hidden, depth=1, key=jax.random.PRNGKey(seed))
    return model, opt.init(eqx.filter(model, eqx.is_array))


def loss_fn(model: eqx.nn.MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(jax.vmap(model)(x), y).mean()


@eqx.filter_jit
def train_step(model, state, opt, x, y):
    """One update; returns model, state, batch loss and the hyperparameters it used."""
    TRACES["train_step"] += 1  # runs only while tracing
    loss, grads = eqx.filter_value_and_grad(loss_fn)(model, x, y)
    updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
    return eqx.apply_updates(model, updates), state, loss, jo.hyperparams(state)


@eqx.filter_jit
def accuracy(model: eqx.nn.MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean(jnp.argmax(jax.vmap(model)(x), -1) == y)


def train_epochs(model, state, opt, data, args, first: int, last: int, log: dict):
    """Epochs ``first..last-1``; appends every step's learning rate and momentum to ``log``."""
    x_train, y_train, x_test, y_test = data
    steps_per_epoch = len(x_train) // args.batch
    momentum_name = MOMENTUM_NAME[args.optimizer]
    for epoch in range(first, last):
        order = np.random.default_rng(epoch).permutation(len(x_train))
        losses = []
        for i in range(steps_per_epoch):
            idx = order[i * args.batch : (i + 1) * args.batch]
            model, state, loss, hp = train_step(model, state, opt, x_train[idx], y_train[idx])
            if "first_step_s" not in log:  # the first call traces and compiles
                loss.block_until_ready()
                log["first_step_s"] = time.perf_counter() - log["start"]
            losses.append(loss)
            log["lr"].append(hp["learning_rate"])
            log["momentum"].append(hp[momentum_name])
        print(
            f"{epoch + 1:>5} {float(np.mean(losses)):>10.4f} {float(log['lr'][-1]):>10.3e} "
            f"{float(log['momentum'][-1]):>9.4f} {float(accuracy(model, x_test, y_test)):>9.4f}"
        )
    return model, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke size (seconds)")
    parser.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--max-lr", type=float, default=None)
    parser.add_argument("--out", default="examples/out")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.hidden = 2, 32
    if args.max_lr is None:
        args.max_lr = DEFAULT_MAX_LR[args.optimizer]
    os.makedirs(args.out, exist_ok=True)
    data = load_digits(n_train=256 if args.quick else None)
    steps_per_epoch = len(data[0]) // args.batch
    total = args.epochs * steps_per_epoch
    print(
        f"equinox {eqx.__version__}, jax {jax.__version__}; digits: {len(data[0])} train / "
        f"{len(data[2])} test, {steps_per_epoch} steps per epoch; "
        f"onecycle_{args.optimizer}(max_lr={args.max_lr}, total_steps={total})"
    )
    print(
        f"{'epoch':>5} {'mean_loss':>10} {'lr':>10} {MOMENTUM_NAME[args.optimizer]:>9} "
        f"{'test_acc':>9}"
    )

    start = time.perf_counter()
    opt = make_tx(args.optimizer, args.max_lr, total)
    model, state = build(args.hidden, opt, seed=0)
    log: dict = {"lr": [], "momentum": [], "start": start}
    half = args.epochs // 2
    model, state = train_epochs(model, state, opt, data, args, 0, half, log)

    path = os.path.join(args.out, f"equinox_{args.optimizer}_checkpoint.eqx")
    eqx.tree_serialise_leaves(path, (model, state))
    like = build(args.hidden, opt, seed=1)  # a restarted job: another initialisation
    model, state = eqx.tree_deserialise_leaves(path, like)
    print(f"saved {path}; resumed at step {int(state.count)}")
    model, state = train_epochs(model, state, opt, data, args, half, args.epochs, log)
    seconds = time.perf_counter() - start

    steps = jnp.arange(total)
    lr = jax.jit(jax.vmap(jo.onecycle_schedule(args.max_lr, total)))(steps)
    mom = jax.jit(jax.vmap(jo.onecycle_momentum_schedule(total)))(steps)
    lr_err = float(np.max(np.abs(np.asarray(log["lr"]) - lr) / lr))
    mom_err = float(np.max(np.abs(np.asarray(log["momentum"]) - mom)))
    print(
        f"{total} steps in {seconds:.1f} s (the first, with its compile, "
        f"{log['first_step_s']:.1f} s; the checkpoint included); "
        f"train_step traced {TRACES['train_step']} time(s)"
    )
    print(
        f"max relative |lr - onecycle_schedule(step)|: {lr_err:.2e}; "
        f"max |momentum - onecycle_momentum_schedule(step)|: {mom_err:.2e}"
    )
    print(
        f"momentum range over the run: {min(map(float, log['momentum'])):.4f} .. "
        f"{max(map(float, log['momentum'])):.4f}"
    )
    print(f"final test accuracy {float(accuracy(model, data[2], data[3])):.4f}")


if __name__ == "__main__":
    main()
