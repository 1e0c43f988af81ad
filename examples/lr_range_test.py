"""Find ``max_lr`` with the LR range test, in its optax form and its brainstate form.

``jax_onecycle.lr_range_test`` trains from the given weights while the learning rate grows
geometrically from ``init_lr`` to ``final_lr`` (one batch per step, SGD with momentum 0.9
unless you pass an optimizer), stops when the smoothed loss diverges, and suggests rates:

  minimum   the rate at the smoothed loss minimum, divided by 10 (a safe fixed rate);
  steepest  where the smoothed loss falls fastest per log(lr);
  valley    fastai's longest-valley rule.

For one-cycle, a peak between ``minimum`` and a few times it is a common choice (the
warm-up keeps a higher peak stable). The sweep never changes the weights it starts from.
Data: scikit-learn's handwritten digits. Plots go to ``examples/out/``.

    python examples/lr_range_test.py            # 100 steps per form
    python examples/lr_range_test.py --quick    # 20 steps
"""

from __future__ import annotations

import argparse
import os

import brainstate
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax

import jax_onecycle as jo

matplotlib.use("Agg")


def load_digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    return x, y.astype(np.int32)


def make_batches(x, y, num: int, batch: int, seed: int = 0):
    """``num`` random batches (a list: the sweep takes a sequence or an iterator)."""
    idx = np.random.default_rng(seed).integers(0, len(x), size=(num, batch))
    return [(x[i], y[i]) for i in idx]


# ---- optax form: loss_fn(params, batch), params a pytree of arrays --------------------
def init_params(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [{"w": jax.random.normal(k, (a, b)) * jnp.sqrt(2.0 / a), "b": jnp.zeros(b)}
            for k, a, b in zip(keys, sizes, sizes[1:])]


def loss_fn(params, batch):
    x, y = batch
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    logits = x @ params[-1]["w"] + params[-1]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


# ---- brainstate form: loss_fn(batch) closing over the model ---------------------------
class MLP(brainstate.nn.Module):
    def __init__(self, din: int, hidden: int, dout: int):
        super().__init__()
        self.hidden = brainstate.nn.Linear(din, hidden)
        self.out = brainstate.nn.Linear(hidden, dout)

    def update(self, x):
        return self.out(jax.nn.relu(self.hidden(x)))


def report(name: str, result, out: str) -> None:
    found = ", ".join(f"{k} {v:.3g}" for k, v in result.suggestions.items())
    print(f"{name}: {result.lrs.size} steps (lr {result.lrs[0]:.1e} .. {result.lrs[-1]:.3g}); "
          f"suggestions: {found}")
    ax = result.plot()  # frames the sweep up to the smoothed minimum, divergence clipped
    ax.set_title(f"LR range test ({name})")
    ax.figure.tight_layout()
    path = os.path.join(out, f"lr_range_test_{name}.png")
    ax.figure.savefig(path, dpi=80)
    matplotlib.pyplot.close(ax.figure)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--num-iter", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--out", default="examples/out")
    args = parser.parse_args()
    if args.quick:
        args.num_iter, args.hidden = 20, 32
    os.makedirs(args.out, exist_ok=True)
    x, y = load_digits()
    batches = make_batches(x, y, args.num_iter, args.batch)

    # optax form
    params = init_params(jax.random.PRNGKey(0), (64, args.hidden, 10))
    result = jo.lr_range_test(loss_fn, params, batches, init_lr=1e-4, final_lr=10.0,
                              num_iter=args.num_iter, progress=False)
    report("optax", result, args.out)
    # any optax optimizer works, if its learning rate is injected (a number, not a schedule)
    adam = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    result = jo.lr_range_test(loss_fn, params, batches, init_lr=1e-5, final_lr=1.0,
                              num_iter=args.num_iter, optimizer=adam, progress=False)
    report("optax_adam", result, args.out)

    # brainstate form: params are the model's ParamStates, restored after the sweep
    brainstate.random.seed(0)
    model = MLP(64, args.hidden, 10)
    weights = model.states(brainstate.ParamState)
    before = jax.tree.map(np.asarray, {k: s.value for k, s in weights.items()})

    def model_loss(batch):
        xb, yb = batch
        return optax.softmax_cross_entropy_with_integer_labels(model(xb), yb).mean()

    result = jo.lr_range_test(model_loss, weights, batches, init_lr=1e-4, final_lr=10.0,
                              num_iter=args.num_iter, progress=False)
    report("brainstate", result, args.out)
    after = jax.tree.map(np.asarray, {k: s.value for k, s in weights.items()})
    unchanged = all(jax.tree.leaves(jax.tree.map(np.array_equal, before, after)))
    print(f"model weights unchanged by the sweep: {unchanged}")

    # then train with the suggestion, e.g. a one-cycle peak a few times the "minimum"
    peak = 5 * result.suggestions["minimum"]
    print(f"e.g. jo.OneCycleLR(max_lr={peak:.3g}, ...) or jo.onecycle_sgd({peak:.3g}, ...)")


if __name__ == "__main__":
    main()
