"""Port a PyTorch one-cycle recipe to JAX, line by line, and check that it trains the same.

The recipe (SGD with momentum 0.9 and weight decay, ``OneCycleLR`` with ``max_lr``,
``epochs``, ``steps_per_epoch`` and ``three_phase``) is written in the comments, each line
beside its jax_onecycle equivalent. ``convention="torch"`` reproduces PyTorch's curve step
for step (its phase ends at ``pct_start*T - 1``, its final rate ``initial/final_div_factor``),
and PyTorch's ``OneCycleLR`` cycles the momentum by default (0.95 -> 0.85 -> 0.95),
overriding the ``momentum=0.9`` given to ``SGD``: ``onecycle_sgd`` does the same, and the
brainstate form does it with ``OneCycleLR(cycle_momentum=True)``.

If torch is importable, the script trains the same MLP from the same initial weights on the
same batches (scikit-learn's digits) with PyTorch, with ``onecycle_sgd`` (optax) and with
``SGD(lr=OneCycleLR(...))`` (brainstate), and prints the largest weight difference.

    python examples/port_pytorch_recipe.py            # 3 epochs
    python examples/port_pytorch_recipe.py --quick    # tiny sizes
"""

from __future__ import annotations

import argparse

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo

# ---------------------------------------------------------------------------------------
# PyTorch                                              | jax_onecycle
# ---------------------------------------------------------------------------------------
# opt = torch.optim.SGD(model.parameters(), lr=0.01,   | tx = jo.onecycle_sgd(
#                       momentum=0.9,                  |   # momentum: cycled 0.95->0.85->0.95
#                       weight_decay=5e-4)             |   weight_decay=5e-4,
# sched = torch.optim.lr_scheduler.OneCycleLR(opt,     |
#     max_lr=0.1,                                      |   max_lr=0.1,
#     epochs=epochs,                                   |   epochs=epochs,
#     steps_per_epoch=len(loader),                     |   steps_per_epoch=steps_per_epoch,
#     three_phase=True)                                |   three_phase=True,
#                                                      |   convention="torch")
# for epoch in range(epochs):                          | state = tx.init(params)
#     for x, y in loader:                              | for epoch ...: for x, y in batches:
#         opt.zero_grad()                              |   grads = jax.grad(loss_fn)(params, x, y)
#         loss_fn(model(x), y).backward()              |   updates, state = tx.update(grads,
#         opt.step()                                   |                         state, params)
#         sched.step()                                 |   params = optax.apply_updates(params,
#                                                      |                                updates)
# (the lr=0.01 given to SGD is ignored: OneCycleLR starts at max_lr / div_factor = 0.004)
#
# brainstate form of the same recipe:
#   sched = jo.OneCycleLR(max_lr=0.1, epochs=epochs, steps_per_epoch=steps_per_epoch,
#                         three_phase=True, cycle_momentum=True, convention="torch")
#   opt = jo.SGD(lr=sched, momentum=0.9, weight_decay=5e-4)
#   opt.register_trainable_weights(model.states(brainstate.ParamState))
#   ... train_step(x, y) (opt.update(grads) inside brainstate.transform.jit); sched.step()
# ---------------------------------------------------------------------------------------

MAX_LR, WEIGHT_DECAY = 0.1, 5e-4


def load_digits(n: int | None):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    return (x, y.astype(np.int32)) if n is None else (x[:n], y[:n].astype(np.int32))


def batches(n: int, batch: int, epochs: int):
    """The same batch order for every framework: a list per epoch of index arrays."""
    rng = np.random.default_rng(0)
    return [rng.permutation(n)[: n // batch * batch].reshape(-1, batch) for _ in range(epochs)]


def initial_weights(sizes, seed: int = 0):
    """PyTorch-style weights, as numpy: [(weight [out, in], bias [out]), ...]."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


# ---- jax_onecycle, optax form ---------------------------------------------------------
def logits_fn(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits_fn(params, x), y).mean()


def train_optax(x, y, order, init, epochs: int):
    steps_per_epoch = len(order[0])
    tx = jo.onecycle_sgd(MAX_LR, epochs=epochs, steps_per_epoch=steps_per_epoch,
                         weight_decay=WEIGHT_DECAY, three_phase=True, convention="torch")
    params = [{"w": jnp.asarray(w.T), "b": jnp.asarray(b)} for w, b in init]
    state = tx.init(params)

    @jax.jit
    def step(params, state, xb, yb):
        grads = jax.grad(loss_fn)(params, xb, yb)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for epoch in order:
        for idx in epoch:
            params, state = step(params, state, x[idx], y[idx])
    return [(np.asarray(p["w"]).T, np.asarray(p["b"])) for p in params]


# ---- jax_onecycle, brainstate form ----------------------------------------------------
class MLP(brainstate.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = [brainstate.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]

    def update(self, x):
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
        return self.layers[-1](x)


def train_brainstate(x, y, order, init, epochs: int, sizes):
    model = MLP(sizes)
    for layer, (w, b) in zip(model.layers, init):
        layer.weight.value = {"weight": jnp.asarray(w.T), "bias": jnp.asarray(b)}
    sched = jo.OneCycleLR(max_lr=MAX_LR, epochs=epochs, steps_per_epoch=len(order[0]),
                          three_phase=True, cycle_momentum=True, convention="torch")
    opt = jo.SGD(lr=sched, momentum=0.9, weight_decay=WEIGHT_DECAY)
    params = model.states(brainstate.ParamState)
    opt.register_trainable_weights(params)

    @brainstate.transform.jit
    def train_step(xb, yb):
        def loss():
            return optax.softmax_cross_entropy_with_integer_labels(model(xb), yb).mean()

        opt.update(brainstate.transform.grad(loss, grad_states=params)())

    for epoch in order:
        for idx in epoch:
            train_step(x[idx], y[idx])
            sched.step()
    return [(np.asarray(layer.weight.value["weight"]).T, np.asarray(layer.weight.value["bias"]))
            for layer in model.layers]


# ---- the PyTorch recipe itself ---------------------------------------------------------
def train_torch(x, y, order, init, epochs: int):
    import torch

    torch.manual_seed(0)
    layers = []
    for w, b in init:
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=MAX_LR, epochs=epochs, steps_per_epoch=len(order[0]), three_phase=True)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    for epoch in order:
        for idx in epoch:
            i = torch.from_numpy(idx)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[i]), yt[i]).backward()
            opt.step()
            sched.step()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    return [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in linears]


def max_difference(a, b) -> float:
    return max(float(np.max(np.abs(p - q))) for pa, pb in zip(a, b) for p, q in zip(pa, pb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.hidden = 2, 16
    x, y = load_digits(256 if args.quick else None)
    sizes = (64, args.hidden, 10)
    order = batches(len(x), args.batch, args.epochs)
    init = initial_weights(sizes)
    print(f"recipe: SGD(momentum=0.9, weight_decay={WEIGHT_DECAY}) + OneCycleLR(max_lr={MAX_LR}, "
          f"epochs={args.epochs}, steps_per_epoch={len(order[0])}, three_phase=True)")

    ours = train_optax(x, y, order, init, args.epochs)
    ours_bs = train_brainstate(x, y, order, init, args.epochs, sizes)
    largest = max(float(np.max(np.abs(p))) for layer in ours for p in layer)
    print(f"largest weight magnitude after training: {largest:.4f}")
    print(f"max |optax - brainstate| weight difference: {max_difference(ours, ours_bs):.2e}")
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: skipped the PyTorch run")
        return
    theirs = train_torch(x, y, order, init, args.epochs)
    print(f"max |optax - torch| weight difference: {max_difference(ours, theirs):.2e}")
    print(f"max |brainstate - torch| weight difference: {max_difference(ours_bs, theirs):.2e}")


if __name__ == "__main__":
    main()
