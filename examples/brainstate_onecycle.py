"""The braintools workflow with jax_onecycle: SGD + OneCycleLR on a brainstate MLP.

The code reads like ``braintools.optim`` (and like PyTorch): a ``brainstate.nn.Module``,
``SGD(lr=OneCycleLR(...))``, ``register_trainable_weights(model.states(ParamState))``, a
``brainstate.transform.jit`` train step and ``scheduler.step()`` after each batch. The
differences are under the hood: the learning rate *and* the momentum (with
``cycle_momentum=True``) reach the compiled update through optax's injected
hyperparameters, so stepping the scheduler never recompiles, and the momentum cycle
really changes the update (braintools' own OneCycleLR has no momentum cycling).

Halfway through, the script saves a checkpoint (model weights, ``opt.state_dict()``,
``scheduler.state_dict()``: arrays and plain numbers) to ``examples/out/`` as one ``.npz``
file, rebuilds model, optimizer and scheduler from scratch, restores them and finishes the
cycle, as a restarted job would. The file holds arrays and JSON, never a pickle: loading a
pickle runs whatever code the file holds. Data: scikit-learn's handwritten digits (shipped
with scikit-learn).

    python examples/brainstate_onecycle.py            # 8 epochs, a few seconds
    python examples/brainstate_onecycle.py --quick    # tiny sizes
"""

from __future__ import annotations

import argparse
import json
import os

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo


class MLP(brainstate.nn.Module):
    """Two linear layers with a ReLU in between."""

    def __init__(self, din: int, hidden: int, dout: int):
        super().__init__()
        self.hidden = brainstate.nn.Linear(din, hidden)
        self.out = brainstate.nn.Linear(hidden, dout)

    def update(self, x):
        return self.out(jax.nn.relu(self.hidden(x)))


def load_digits(n_train: int | None = None):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].astype(np.int32)
    cut = int(0.75 * len(x))
    mean, std = x[:cut].mean(0), x[:cut].std(0) + 1e-6
    x = (x - mean) / std
    n_train = cut if n_train is None else min(n_train, cut)
    return x[:n_train], y[:n_train], x[cut:], y[cut:]


def build(args, steps_per_epoch: int, seed: int = 0):
    """Model, scheduler and optimizer, exactly as a braintools user would write them."""
    brainstate.random.seed(seed)
    model = MLP(64, args.hidden, 10)
    scheduler = jo.OneCycleLR(
        max_lr=args.max_lr,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        cycle_momentum=True,  # momentum 0.95 -> 0.85 -> 0.95, overriding SGD's momentum=
    )
    opt = jo.SGD(lr=scheduler, momentum=0.9, weight_decay=5e-4)
    opt.register_trainable_weights(model.states(brainstate.ParamState))
    return model, scheduler, opt


def make_train_step(model: MLP, opt: jo.SGD):
    params = model.states(brainstate.ParamState)

    @brainstate.transform.jit
    def train_step(x, y):
        def loss_fn():
            return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

        grads, loss = brainstate.transform.grad(loss_fn, grad_states=params, return_value=True)()
        opt.update(grads)
        return loss

    return train_step


def accuracy(model: MLP, x, y) -> float:
    return float(jnp.mean(jnp.argmax(model(jnp.asarray(x)), -1) == y))


def train_epochs(model, scheduler, opt, data, batch, first_epoch, last_epoch):
    x_train, y_train, x_test, y_test = data
    train_step = make_train_step(model, opt)
    steps_per_epoch = len(x_train) // batch
    for epoch in range(first_epoch, last_epoch):
        order = np.random.default_rng(epoch).permutation(len(x_train))
        losses = []
        for i in range(steps_per_epoch):
            idx = order[i * batch : (i + 1) * batch]
            losses.append(train_step(x_train[idx], y_train[idx]))
            scheduler.step()  # after each batch, as in braintools / PyTorch
        print(
            f"{epoch + 1:>5} {float(np.mean(losses)):>10.4f} "
            f"{accuracy(model, x_test, y_test):>9.4f} {scheduler.get_last_lr()[0]:>10.3e} "
            f"{opt.current_momentum:>9.4f} {opt.step_count:>6}"
        )


def save_state(path, tree) -> None:
    """Write a nested dict of arrays and plain data (numbers, strings, lists) to one ``.npz``.

    Arrays become ``.npy`` entries, the rest one JSON entry. No pickle, on purpose: loading a
    pickle runs whatever code the file holds (why PyTorch's ``torch.load`` now defaults to
    ``weights_only=True``), and a state dict here is only numbers and arrays.
    """
    arrays: dict[str, np.ndarray] = {}

    def encode(x):
        if isinstance(x, dict):
            return {str(k): encode(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [encode(v) for v in x]
        if isinstance(x, np.ndarray | np.generic | jax.Array):
            name = f"array_{len(arrays)}"
            arrays[name] = np.asarray(x)
            return {"__array__": name}
        return x

    text = json.dumps(encode(tree))
    with open(path, "wb") as f:  # a file object: np.savez adds no ".npz" to the name
        np.savez(f, __json__=np.asarray(text), **arrays)


def load_state(path):
    """What `save_state` wrote; ``allow_pickle=False``: the file cannot run code."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}

    def decode(x):
        if isinstance(x, dict):
            if set(x) == {"__array__"}:
                return arrays[x["__array__"]]
            return {k: decode(v) for k, v in x.items()}
        if isinstance(x, list):
            return [decode(v) for v in x]
        return x

    return decode(json.loads(str(arrays.pop("__json__"))))


def _weights_name(key) -> str:
    return "/".join(map(str, key)) if isinstance(key, tuple) else str(key)


def save_checkpoint(path, model, scheduler, opt) -> None:
    weights = {
        _weights_name(k): jax.tree.map(np.asarray, s.value)
        for k, s in model.states(brainstate.ParamState).items()
    }
    save_state(
        path, {"model": weights, "optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}
    )


def load_checkpoint(path, model, scheduler, opt) -> None:
    ckpt = load_state(path)
    for key, state in model.states(brainstate.ParamState).items():
        state.value = jax.tree.map(jnp.asarray, ckpt["model"][_weights_name(key)])
    opt.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--max-lr", type=float, default=0.1)
    parser.add_argument("--out", default="examples/out")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.hidden = 2, 32
    os.makedirs(args.out, exist_ok=True)
    data = load_digits(n_train=256 if args.quick else None)
    steps_per_epoch = len(data[0]) // args.batch

    model, scheduler, opt = build(args, steps_per_epoch)
    print(
        f"digits: {len(data[0])} train / {len(data[2])} test; {steps_per_epoch} steps per "
        f"epoch; OneCycleLR(max_lr={args.max_lr}, epochs={args.epochs}, cycle_momentum=True)"
    )
    print(
        f"{'epoch':>5} {'train_loss':>10} {'accuracy':>9} {'next lr':>10} {'momentum':>9} "
        f"{'steps':>6}"
    )
    half = args.epochs // 2
    train_epochs(model, scheduler, opt, data, args.batch, 0, half)

    path = os.path.join(args.out, "brainstate_onecycle_checkpoint.npz")
    save_checkpoint(path, model, scheduler, opt)
    saved = (opt.step_count, scheduler.last_epoch, opt.current_lr, opt.current_momentum)

    # a restarted job: fresh objects (another initialisation), then the checkpoint
    model, scheduler, opt = build(args, steps_per_epoch, seed=1)
    load_checkpoint(path, model, scheduler, opt)
    resumed = (opt.step_count, scheduler.last_epoch, opt.current_lr, opt.current_momentum)
    assert np.allclose(saved, resumed), (saved, resumed)
    print(
        f"saved {path}; resumed at step {opt.step_count} (lr {opt.current_lr:.3e}, "
        f"momentum {opt.current_momentum:.4f})"
    )
    train_epochs(model, scheduler, opt, data, args.batch, half, args.epochs)
    print(f"final test accuracy {accuracy(model, data[2], data[3]):.4f}")


if __name__ == "__main__":
    main()
