"""Super-convergence measured fairly: MNIST-1D, a residual 1D CNN, tuned baselines.

Runs the protocol of ``docs/study.md`` (issue 14): constant and step (x0.1 at 50%/75%)
baselines tuned over a log grid of rates at the full budget E_base; one-cycle
(``jax_onecycle.onecycle_sgd``, momentum cycled, max_lr grid centred on the LR range
test) at E_base/10, /5, /3; step and cosine controls at those budgets; selection on a
validation split, results from fresh seeds on the test split; the tuned step schedule at
1/3, 1/2, 2/3 of E_base. MNIST-1D is generated locally by the ``mnist1d`` package.

Every seed and grid point of a configuration runs in one compiled program (``jax.vmap``
over runs, ``lax.scan`` over epochs and batches).

Run:  python examples/mnist1d_superconvergence.py             (default size, ~4 min on 2 CPU cores)
      python examples/mnist1d_superconvergence.py --full      (the whole protocol)
      python examples/mnist1d_superconvergence.py --quick     (smoke size of the tests)
Options: --dataset digits, --data file.npz (x_train, y_train, x_test, y_test), --out DIR,
--json PATH, --markdown PATH, --n-train N, --e-base E (override the size), --no-progress.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
from mnist1d_study import data as data_mod, protocol, report  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke size (seconds)")
    size.add_argument("--full", action="store_true", help="the whole protocol (~40 min on 2 cores)")
    parser.add_argument("--dataset", choices=("mnist1d", "digits"), default="mnist1d")
    parser.add_argument("--data", help=".npz with x_train, y_train, x_test, y_test")
    parser.add_argument("--out", default="examples/out", help="folder of the PNG plots")
    parser.add_argument("--json", metavar="PATH", help="write the machine-readable result")
    parser.add_argument("--markdown", metavar="PATH", help="write the printed tables as Markdown")
    parser.add_argument("--n-train", type=int, help="override the size's MNIST-1D training count")
    parser.add_argument("--e-base", type=int, help="override the size's full budget (epochs)")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def load(args, size: protocol.Size) -> tuple[dict, str]:
    if args.data:
        return data_mod.load_npz(args.data), os.path.basename(args.data)
    if args.dataset == "digits":
        return data_mod.make_digits(), "digits"
    return data_mod.make_mnist1d(size.n_train, size.n_val, size.n_test), "mnist1d"


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    name = "quick" if args.quick else "full" if args.full else "default"
    size = protocol.SIZES[name]
    overrides = {k: v for k, v in (("n_train", args.n_train), ("e_base", args.e_base)) if v}
    size = protocol.dataclasses.replace(size, **overrides)
    data, dataset = load(args, size)
    n_classes = int(max(data["y_train"].max(), data["y_test"].max())) + 1
    if args.data or args.dataset == "digits":  # the size's sample counts are MNIST-1D's
        size = protocol.dataclasses.replace(
            size, n_train=len(data["x_train"]), n_val=len(data["x_val"]), n_test=len(data["x_test"])
        )
    machine = (
        f"{platform.machine()} {jax.devices()[0].platform}, {os.cpu_count()} CPU cores, "
        f"jax {jax.__version__}"
    )
    header = (
        f"Dataset {dataset}: {len(data['x_train'])} train / {len(data['x_val'])} validation / "
        f"{len(data['x_test'])} test signals of length {data['x_train'].shape[1]}, "
        f"{n_classes} classes. Size `{name}`: residual 1D CNN, widths {size.widths}, BatchNorm; "
        f"batch {size.batch}; SGD momentum 0.9; augmentation: random shift +-{size.shift} "
        f"samples, scale 1 +- {size.scale}. Machine: {machine}."
    )
    print(header)
    result = protocol.run_study(size, data, n_classes, progress=not args.no_progress)
    text = report.tables(
        result,
        f"<!-- written by examples/mnist1d_superconvergence.py"
        f"{' --' + name if name != 'default' else ''}"
        + "".join(f" --{k.replace('_', '-')} {v}" for k, v in overrides.items())
        + f"{' --dataset ' + dataset if dataset != 'mnist1d' else ''} -->\n"
        + header,
    )
    print(text)
    if args.markdown:
        folder = os.path.dirname(args.markdown)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(args.markdown, "w") as f:
            f.write(text)
        print(f"wrote {args.markdown}")
    if args.json:
        payload = report.json_result(result, dataset)
        payload["machine"] = machine
        report.write_json(args.json, payload)
        print(f"wrote {args.json}")
    prefix = "mnist1d" if dataset == "mnist1d" else "study_" + dataset.split(".")[0]
    paths = report.plot_all(result, args.out, prefix, len(data["x_train"]) // size.batch)
    print("wrote " + ", ".join(paths) + f"  (total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
