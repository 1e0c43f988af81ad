"""One-cycle training in Flax NNX: ``nnx.Optimizer(model, jo.onecycle_sgd(...), wrt=nnx.Param)``.

``jo.onecycle_sgd`` (or ``jo.onecycle_adamw``) is an ordinary optax transformation, so it
goes straight into ``nnx.Optimizer``. The training step is one ``nnx.jit`` function,
compiled once for the whole run (the script counts its traces): the learning rate and the
momentum (AdamW's ``b1``) are computed from the optimizer's step count inside the compiled
update, and ``jo.hyperparams(optimizer.opt_state)`` returns the values each update used,
inside the step as here or outside it. The script checks every step's values against
``jo.onecycle_schedule`` / ``jo.onecycle_momentum_schedule`` at that step.

Halfway through, it saves model and optimizer (``nnx.split`` + orbax) to ``--out``,
rebuilds both from another initialisation, restores the checkpoint and finishes the cycle,
as a restarted job would; the restored optimizer carries on from the same step count, so
the schedule continues where it stopped. Data: scikit-learn's handwritten digits (shipped
with scikit-learn, nothing downloads).

    python examples/flax_nnx_onecycle.py                      # 10 epochs, SGD
    python examples/flax_nnx_onecycle.py --optimizer adamw    # AdamW, b1 cycled
    python examples/flax_nnx_onecycle.py --quick              # smoke size (seconds)
"""

from __future__ import annotations

import argparse
import os
import time

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from flax import nnx

import jax_onecycle as jo

MOMENTUM_NAME = {"sgd": "momentum", "adamw": "b1"}
DEFAULT_MAX_LR = {"sgd": 0.1, "adamw": 3e-3}


class MLP(nnx.Module):
    """Two linear layers with a ReLU in between."""

    def __init__(self, din: int, hidden: int, dout: int, *, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(din, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, dout, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(jax.nn.relu(self.hidden(x)))


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


def build(args, tx: optax.GradientTransformation, seed: int) -> tuple[MLP, nnx.Optimizer]:
    """A model and its optimizer.

    ``tx`` is made once per process and shared by every rebuild: ``nnx.jit`` caches on the
    graph definition, which holds ``tx`` as static data compared by identity, so a new
    ``tx`` object (even an equal one) would compile the step again.
    """
    model = MLP(64, args.hidden, 10, rngs=nnx.Rngs(seed))
    return model, nnx.Optimizer(model, tx, wrt=nnx.Param)


TRACES = {"train_step": 0}


@nnx.jit
def train_step(model: MLP, optimizer: nnx.Optimizer, x: jax.Array, y: jax.Array):
    """One update; returns the batch loss and the hyperparameters this update used."""
    TRACES["train_step"] += 1  # runs only while tracing

    def loss_fn(model: MLP) -> jax.Array:
        return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss, jo.hyperparams(optimizer.opt_state)


@nnx.jit
def accuracy(model: MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean(jnp.argmax(model(x), -1) == y)


def train_epochs(model, optimizer, data, args, first: int, last: int, log: dict) -> None:
    """Epochs ``first..last-1``; appends every step's learning rate and momentum to ``log``."""
    x_train, y_train, x_test, y_test = data
    steps_per_epoch = len(x_train) // args.batch
    momentum_name = MOMENTUM_NAME[args.optimizer]
    for epoch in range(first, last):
        order = np.random.default_rng(epoch).permutation(len(x_train))
        losses = []
        for i in range(steps_per_epoch):
            idx = order[i * args.batch : (i + 1) * args.batch]
            loss, hp = train_step(model, optimizer, x_train[idx], y_train[idx])
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


def save(path: str, model: MLP, optimizer: nnx.Optimizer) -> None:
    _, state = nnx.split((model, optimizer))
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(path, state, force=True)
    checkpointer.wait_until_finished()


def restore(path: str, model: MLP, optimizer: nnx.Optimizer) -> None:
    """Load ``path`` into a freshly built ``model`` and ``optimizer`` of the same shapes."""
    _, abstract = nnx.split((model, optimizer))
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract)
    nnx.update((model, optimizer), ocp.StandardCheckpointer().restore(path, target))


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
    data = load_digits(n_train=256 if args.quick else None)
    steps_per_epoch = len(data[0]) // args.batch
    total = args.epochs * steps_per_epoch
    print(
        f"flax {flax.__version__}, jax {jax.__version__}; "
        f"digits: {len(data[0])} train / {len(data[2])} test, {steps_per_epoch} steps per "
        f"epoch; onecycle_{args.optimizer}(max_lr={args.max_lr}, total_steps={total})"
    )
    print(
        f"{'epoch':>5} {'mean_loss':>10} {'lr':>10} {MOMENTUM_NAME[args.optimizer]:>9} "
        f"{'test_acc':>9}"
    )

    start = time.perf_counter()
    tx = make_tx(args.optimizer, args.max_lr, total)
    model, optimizer = build(args, tx, seed=0)
    log: dict = {"lr": [], "momentum": [], "start": start}
    half = args.epochs // 2
    train_epochs(model, optimizer, data, args, 0, half, log)

    path = os.path.abspath(os.path.join(args.out, f"flax_nnx_{args.optimizer}_checkpoint"))
    save(path, model, optimizer)
    model, optimizer = build(args, tx, seed=1)  # a restarted job: another initialisation
    restore(path, model, optimizer)
    print(f"saved {path}; resumed at step {int(optimizer.step[...])}")
    train_epochs(model, optimizer, data, args, half, args.epochs, log)
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
