"""Print and plot the one-cycle learning-rate and momentum curves of every convention."""

import argparse
import os

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jax_onecycle as jo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total-steps", type=int, default=100)
    parser.add_argument("--max-lr", type=float, default=0.1)
    parser.add_argument("--out", default="examples/out")
    parser.add_argument("--quick", action="store_true", help="a 20-step cycle")
    args = parser.parse_args()
    if args.quick:
        args.total_steps = 20
    os.makedirs(args.out, exist_ok=True)
    steps = jnp.arange(args.total_steps + 1)
    fig, (ax_lr, ax_mom) = plt.subplots(1, 2, figsize=(11, 4))
    print(f"{'convention':<11} {'step 0':>10} {'peak':>10} {'final':>12}")
    for convention in ("braintools", "torch", "fastai", "optax"):
        lr = jax.jit(jo.onecycle_schedule(args.max_lr, args.total_steps, convention=convention))
        mom = jo.onecycle_momentum_schedule(args.total_steps, convention=convention)
        values = lr(steps)
        print(f"{convention:<11} {float(values[0]):>10.5f} {float(values.max()):>10.5f} "
              f"{float(values[-1]):>12.3e}")
        ax_lr.plot(steps, values, label=convention)
        ax_mom.plot(steps, mom(steps), label=convention)
    ax_lr.set(title="learning rate", xlabel="step")
    ax_mom.set(title="momentum", xlabel="step")
    ax_lr.legend()
    fig.tight_layout()
    path = os.path.join(args.out, "onecycle_conventions.png")
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
