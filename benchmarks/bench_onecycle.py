"""Benchmarks of jax_onecycle against optax, braintools and PyTorch, side by side.

Every part runs its contenders in one process, in interleaved rounds: each round runs
every contender once, in an order that rotates from round to round, so slow drifts of
a shared, noisy machine hit all contenders alike. We report, per contender, the median
and the interquartile range (IQR) over rounds, and *paired* ratios: the median over
rounds of ours / theirs measured in the same round.

    python benchmarks/bench_onecycle.py            # full run (a few minutes on 2 CPU cores)
    python benchmarks/bench_onecycle.py --quick    # smoke run (seconds; figures not meaningful)
    python benchmarks/bench_onecycle.py --rounds 30 --only a,c
    python benchmarks/bench_onecycle.py --only b --compare OLD   # + another version's SGD

Parts:
  a  jitted train step (lax.scan over steps, donated buffers): onecycle_sgd against
     optax.sgd and inject_hyperparams(optax.sgd) with optax.cosine_onecycle_schedule,
     on a ~100k- and a ~10M-parameter MLP.
  b  brainstate workflow, one compiled call per batch: jax_onecycle.SGD + OneCycleLR
     (cycle_momentum=True) against braintools.optim.SGD + OneCycleLR and against plain
     optax.sgd on the same model's ParamStates (the "brainstate floor"). With
     ``--compare OLD`` (a source tree of another version, e.g. ``git archive REV``
     unpacked), that version's SGD + OneCycleLR runs in the same rounds, imported from
     OLD/jax_onecycle under another name: a paired before/after ratio from one process.
  c  the update alone on 10M float32 parameters, buffers donated, against a donated
     streaming kernel that moves the same bytes (the memory-traffic bound of this run).
  d  all values of a 100,000-step schedule: jit(vmap(onecycle_schedule)) against
     PyTorch's OneCycleLR stepped in Python and jit(vmap(optax.cosine_onecycle_schedule)).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jax_onecycle as jo

# --------------------------------------------------------------------------------------
# Timing machinery
# --------------------------------------------------------------------------------------

Sample = Callable[[], float]  # runs one timed sample, returns seconds per unit of work


def run_rounds(contenders: dict[str, Sample], rounds: int) -> dict[str, list[float]]:
    """Round-robin: every round runs every contender once, starting one further along."""
    names = list(contenders)
    times: dict[str, list[float]] = {n: [] for n in names}
    gc.collect()
    gc.freeze()  # what exists now is never scanned again: no long GC pauses mid-sample
    gc.disable()
    try:
        for r in range(rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                times[name].append(contenders[name]())
    finally:
        gc.enable()
        gc.unfreeze()
    return times


def quartiles(xs: Sequence[float]) -> tuple[float, float, float]:
    q1, q2, q3 = np.percentile(np.asarray(xs, dtype=float), [25, 50, 75])
    return float(q1), float(q2), float(q3)


class Ratio(NamedTuple):
    median: float  # median over rounds of ours / theirs, measured in the same round
    iqr: float
    ci: tuple[float, float]  # bootstrap 95% interval of that median (percentile method)


def paired(times: dict[str, list[float]], ours: str, theirs: str) -> Ratio:
    """Paired ratio: median and IQR over rounds of ours / theirs in the same round."""
    ratios = np.asarray([a / b for a, b in zip(times[ours], times[theirs], strict=True)])
    q1, q2, q3 = quartiles(ratios)
    rng = np.random.default_rng(0)
    boot = np.median(rng.choice(ratios, size=(2000, ratios.size)), axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return Ratio(q2, q3 - q1, (float(lo), float(hi)))


def fmt_time(s: float) -> str:
    if s >= 1.0:
        return f"{s:8.3f} s "
    if s >= 1e-3:
        return f"{s * 1e3:8.3f} ms"
    return f"{s * 1e6:8.2f} us"


def report(title: str, times: dict[str, list[float]], unit: str = "per call") -> None:
    print(f"\n  {title}   (median, IQR over {len(next(iter(times.values())))} rounds, {unit})")
    width = max(len(n) for n in times)
    for name, xs in times.items():
        q1, q2, q3 = quartiles(xs)
        print(f"    {name:<{width}}  {fmt_time(q2)}   IQR {fmt_time(q3 - q1)}")


def print_ratio(label: str, r: Ratio, fmt: str = "{:7.3f}") -> None:
    lo, hi = (fmt.format(v).strip() for v in r.ci)
    print(
        f"    paired ratio {label:<50} {fmt.format(r.median)}  "
        f"(IQR {fmt.format(r.iqr).strip()}, 95% CI of median [{lo}, {hi}])"
    )


def report_ratio(
    label: str, times: dict[str, list[float]], ours: str, theirs: str, fmt: str = "{:7.3f}"
) -> Ratio:
    r = paired(times, ours, theirs)
    print_ratio(label, r, fmt)
    return r


class Targets:
    """PASS/MISS of each target on the median paired ratio; every miss is printed."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def check(self, name: str, r: Ratio, op: str, bound: float, fmt: str = "{:.3f}") -> None:
        ok = r.median <= bound if op == "<=" else r.median >= bound
        verdict = "PASS" if ok else "MISS"
        lo, hi = r.ci
        cmp = f"{fmt.format(r.median)} {op} {fmt.format(bound)}"
        cmp += f"   (95% CI [{fmt.format(lo)}, {fmt.format(hi)}]"
        cmp += ", bound inside: within noise)" if lo <= bound <= hi else ")"
        self.rows.append((name, cmp, verdict))
        print(f"    target {name}: {cmp}  -> {verdict}")

    def summary(self) -> None:
        if not self.rows:
            return
        print("\n== Targets ==")
        width = max(len(r[0]) for r in self.rows)
        for name, cmp, verdict in self.rows:
            print(f"  {verdict}  {name:<{width}}  {cmp}")
        misses = sum(r[2] == "MISS" for r in self.rows)
        print(f"  {len(self.rows) - misses} PASS, {misses} MISS")


def block(tree) -> None:
    jax.tree.map(lambda x: x.block_until_ready() if hasattr(x, "block_until_ready") else x, tree)


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def normal(seed: int, shape: Sequence[int], scale: float = 1.0) -> jax.Array:
    """float32 Gaussian data made with numpy (no eager JAX op to compile per shape)."""
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.standard_normal(shape, dtype=np.float32) * scale)


def mlp_init(seed: int, sizes: Sequence[int]) -> list[dict[str, jax.Array]]:
    return [
        {"w": normal(seed + i, (a, b), 1.0 / np.sqrt(a)), "b": jnp.zeros((b,), jnp.float32)}
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]


def mlp_loss(params, x, y):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    out = x @ params[-1]["w"] + params[-1]["b"]
    return jnp.mean((out - y) ** 2)


def n_params(tree) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


SMALL = (256, 384, 10)  # 102,538 parameters
LARGE = (1024, 2304, 2304, 1024, 10)  # 10,042,890 parameters
QUICK_LARGE = (256, 1024, 512, 10)  # 793,098 parameters (--quick only)


# --------------------------------------------------------------------------------------
# (a) jitted train step
# --------------------------------------------------------------------------------------

TOTAL = 10_000  # cycle length of every schedule (only the shape of the program matters)
MAX_LR = 1e-3


def part_a(args, targets: Targets) -> None:
    print("\n== (a) jitted train step: lax.scan over steps, forward + grad + update ==")
    batch = 8
    txs = {
        "onecycle_sgd": jo.onecycle_sgd(MAX_LR, TOTAL),
        "optax.sgd(const, m=0.9)": optax.sgd(MAX_LR, momentum=0.9),
        "inject(optax.sgd, cosine_onecycle)": optax.inject_hyperparams(optax.sgd)(
            learning_rate=optax.cosine_onecycle_schedule(TOTAL, MAX_LR), momentum=0.9
        ),
    }
    ours, plain, inject = txs
    cases = (
        (False, SMALL, args.small_steps, args.small_calls),
        (True, args.large, args.large_steps, 1),
    )
    for large, sizes, steps, per_sample in cases:
        params0 = mlp_init(0, sizes)
        xs = normal(100, (steps, batch, sizes[0]))
        ys = normal(101, (steps, batch, sizes[-1]))

        def make(tx):
            def chunk(params, state, xs, ys):
                def body(carry, xy):
                    p, s = carry
                    g = jax.grad(mlp_loss)(p, *xy)
                    u, s = tx.update(g, s, p)
                    return (optax.apply_updates(p, u), s), None

                return jax.lax.scan(body, (params, state), (xs, ys))[0]

            fn = jax.jit(chunk, donate_argnums=(0, 1))
            carry = [jax.tree.map(jnp.copy, params0), None]
            carry[1] = tx.init(carry[0])
            carry[0], carry[1] = fn(carry[0], carry[1], xs, ys)  # compile + warm up
            block(carry)

            def sample() -> float:
                t0 = time.perf_counter()
                for _ in range(per_sample):
                    carry[0], carry[1] = fn(carry[0], carry[1], xs, ys)
                block(carry)
                return (time.perf_counter() - t0) / (steps * per_sample)

            return sample

        contenders = {name: make(tx) for name, tx in txs.items()}
        for s in contenders.values():  # one more warm-up call each
            s()
        times = run_rounds(contenders, args.rounds)
        report(
            f"MLP {sizes}: {n_params(params0):,} params, batch {batch}, {steps} steps per "
            f"call, {per_sample} call(s) per sample",
            times,
            unit="per train step",
        )
        r_inj = report_ratio(f"{ours} / {inject}", times, ours, inject)
        r_plain = report_ratio(f"{ours} / {plain}", times, ours, plain)
        if large:
            size = f"{n_params(params0) / 1e6:.2g}M"
            targets.check(f"(a) {size}: onecycle_sgd / inject(optax one-cycle)", r_inj, "<=", 1.03)
            targets.check(f"(a) {size}: onecycle_sgd / plain optax.sgd", r_plain, "<=", 1.05)


# --------------------------------------------------------------------------------------
# (b) brainstate workflow, one compiled call per batch
# --------------------------------------------------------------------------------------


def bs_model(sizes: Sequence[int]) -> brainstate.nn.Module:
    brainstate.random.seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(brainstate.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(brainstate.nn.ReLU())
    return brainstate.nn.Sequential(*layers)


def part_b(args, targets: Targets) -> None:
    print("\n== (b) brainstate workflow: one brainstate.transform.jit call per batch ==")
    calls, batch = args.bs_calls, 8
    x = normal(100, (batch, SMALL[0]))
    y = normal(101, (batch, SMALL[-1]))

    def train_step_for(model, apply_grads):
        params = model.states(brainstate.ParamState)

        def loss_fn(x, y):
            return jnp.mean((model(x) - y) ** 2)

        @brainstate.transform.jit
        def train_step(x, y):
            grads = brainstate.transform.grad(loss_fn, params)(x, y)
            apply_grads(grads)

        return train_step

    def version(jo_version):
        def build():
            model = bs_model(SMALL)
            sched = jo_version.OneCycleLR(
                max_lr=MAX_LR, total_steps=TOTAL * 10, cycle_momentum=True
            )
            opt = jo_version.SGD(lr=sched, momentum=0.9)
            opt.register_trainable_weights(model.states(brainstate.ParamState))
            return model, train_step_for(model, opt.update), sched.step

        return build

    ours = version(jo)

    def theirs():
        model = bs_model(SMALL)
        scheduler = braintools.optim.OneCycleLR(max_lr=MAX_LR, total_steps=TOTAL * 10)
        opt = braintools.optim.SGD(lr=scheduler, momentum=0.9)
        opt.register_trainable_weights(model.states(brainstate.ParamState))
        return model, train_step_for(model, opt.update), scheduler.step

    def floor():
        model = bs_model(SMALL)
        params = model.states(brainstate.ParamState)
        tx = optax.sgd(MAX_LR, momentum=0.9)
        opt_state = brainstate.LongTermState(tx.init({k: s.value for k, s in params.items()}))

        def apply_grads(grads):
            values = {k: s.value for k, s in params.items()}
            updates, opt_state.value = tx.update(grads, opt_state.value, values)
            for k, v in optax.apply_updates(values, updates).items():
                params[k].value = v

        return model, train_step_for(model, apply_grads), None

    def make(build, with_scheduler=True):
        model, step, sched_step = build()
        if not with_scheduler:
            sched_step = None
        params = model.states(brainstate.ParamState)

        def run(n):
            for _ in range(n):
                step(x, y)
                if sched_step is not None:
                    sched_step()
            block([s.value for s in params.values()])  # the last update has landed

        run(3)  # compile + warm up

        def sample() -> float:
            t0 = time.perf_counter()
            run(calls)
            return (time.perf_counter() - t0) / calls

        return sample

    def scheduler_alone(build):
        """Diagnostic: ``scheduler.step()`` alone, on a scheduler of its own."""
        model, step, sched_step = build()
        step(x, y)
        sched_step()

        def sample() -> float:
            t0 = time.perf_counter()
            for _ in range(calls):
                sched_step()
            jax.effects_barrier()
            return (time.perf_counter() - t0) / calls

        return sample

    ours_name, bt_name, floor_name = (
        "jo.SGD(OneCycleLR(cycle_momentum))",
        "braintools SGD+OneCycleLR",
        "brainstate floor",
    )
    diag_step, diag_jo, diag_bt = (
        "diag: jo.SGD, no scheduler.step()",
        "diag: jo OneCycleLR.step() alone",
        "diag: braintools OneCycleLR.step() alone",
    )
    contenders = {
        ours_name: make(ours),
        bt_name: make(theirs),
        floor_name: make(floor),
        diag_step: make(ours, with_scheduler=False),
        diag_jo: scheduler_alone(ours),
        diag_bt: scheduler_alone(theirs),
    }
    old_name = "jo.SGD(OneCycleLR(cycle_momentum)), --compare"
    if args.compare is not None:
        contenders[old_name] = make(version(load_version(args.compare)))
    times = run_rounds(contenders, args.rounds)
    report(
        f"~100k MLP ({n_params(mlp_init(0, SMALL)):,} params), "
        f"batch {batch}, {calls} calls per sample, scheduler.step() after each",
        times,
        unit="per batch",
    )
    r_floor = report_ratio("jo.SGD / brainstate floor", times, ours_name, floor_name)
    r_bt = report_ratio("jo.SGD / braintools workflow", times, ours_name, bt_name)
    report_ratio("braintools workflow / brainstate floor", times, bt_name, floor_name)
    report_ratio("diag: jo.SGD without scheduler.step() / floor", times, diag_step, floor_name)
    if args.compare is not None:
        report_ratio("jo.SGD / the --compare version's", times, ours_name, old_name)
        report_ratio("the --compare version's / brainstate floor", times, old_name, floor_name)
    targets.check("(b) jo.SGD / brainstate floor", r_floor, "<=", 1.05)
    targets.check("(b) jo.SGD / braintools workflow", r_bt, "<=", 0.75)


# --------------------------------------------------------------------------------------
# (c) donated update against the memory-traffic bound
# --------------------------------------------------------------------------------------


def part_c(args, targets: Targets) -> None:
    n = args.update_params
    print(f"\n== (c) update alone, {n:,} float32 parameters, buffers donated ==")
    reps = args.update_reps
    grads = {"w": normal(0, (n,))}
    nbytes = 5 * 4 * n  # read params, grads, momentum; write params, momentum

    tx = jo.onecycle_sgd(MAX_LR, TOTAL)

    def update(params, state, grads):
        u, state = tx.update(grads, state, params)
        return optax.apply_updates(params, u), state

    def stream(p, m, g):
        # same traffic as momentum SGD, nothing else: reads p, m, g; writes p, m
        m = jax.tree.map(lambda m, g: 0.5 * m + g, m, g)
        return jax.tree.map(lambda p, m: p - 1e-6 * m, p, m), m

    def single_loop(p, m, g):
        # diagnostic: the plainest streaming loop, p += c * g (reads 2 arrays, writes 1)
        return jax.tree.map(lambda p, g: p + 1e-6 * g, p, g), m

    upd = jax.jit(update, donate_argnums=(0, 1))
    strm = jax.jit(stream, donate_argnums=(0, 1))
    single = jax.jit(single_loop, donate_argnums=(0, 1))

    def make(fn, init):
        carry = list(init())
        carry[0], carry[1] = fn(carry[0], carry[1], grads)
        block(carry)

        def sample() -> float:
            t0 = time.perf_counter()
            for _ in range(reps):
                carry[0], carry[1] = fn(carry[0], carry[1], grads)
            block(carry)
            return (time.perf_counter() - t0) / reps

        return sample

    def init_ours():
        p = {"w": jnp.zeros((n,), jnp.float32)}
        return p, tx.init(p)

    def init_stream():
        return {"w": jnp.zeros((n,), jnp.float32)}, {"w": jnp.zeros((n,), jnp.float32)}

    ours, bound, diag = (
        "onecycle_sgd update (donated)",
        "streaming bound (donated)",
        "diag: single loop p += c*g",
    )
    contenders = {
        ours: make(upd, init_ours),
        bound: make(strm, init_stream),
        diag: make(single, init_stream),
    }
    moved = {ours: nbytes, bound: nbytes, diag: 3 * 4 * n}
    times = run_rounds(contenders, args.rounds)
    report(
        f"{n:,} float32 parameters, {nbytes / 1e6:.0f} MB nominal per call (diag: "
        f"{moved[diag] / 1e6:.0f} MB), {reps} calls per sample",
        times,
    )
    for name in contenders:
        gbs = moved[name] / statistics.median(times[name]) / 1e9
        print(f"    {name:<30} {gbs:6.2f} GB/s (nominal bytes / median time)")
    # fraction of the bound reached = bound's time / our time, paired per round
    frac = report_ratio("fraction of the bound (bound / ours)", times, bound, ours)
    raw = paired(times, diag, ours)  # scaled below to bytes/s: ours / single loop
    scale = nbytes / moved[diag]
    print_ratio(
        "diag: our GB/s / single-loop GB/s",
        Ratio(raw.median * scale, raw.iqr * scale, (raw.ci[0] * scale, raw.ci[1] * scale)),
    )
    targets.check("(c) donated update, fraction of memory bound", frac, ">=", 0.60)


# --------------------------------------------------------------------------------------
# (d) evaluating a whole 100,000-step schedule
# --------------------------------------------------------------------------------------


def part_d(args, targets: Targets) -> None:
    import torch

    print("\n== (d) all values of a 100,000-step one-cycle schedule ==")
    total = 100_000
    torch_steps = args.torch_steps
    reps = args.sched_reps
    steps = jnp.arange(total)

    def ours_fn():
        return jax.jit(jax.vmap(jo.onecycle_schedule(0.1, total)))

    def optax_fn():
        return jax.jit(jax.vmap(optax.cosine_onecycle_schedule(total, 0.1)))

    compile_times: dict[str, list[float]] = {}

    def make_jax(name, build):
        compile_times[name] = []
        fn = build()
        fn(steps).block_until_ready()

        def sample() -> float:
            f = build()  # a fresh closure: the first call traces and compiles again
            t0 = time.perf_counter()
            f(steps).block_until_ready()
            compile_times[name].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for _ in range(reps):
                out = fn(steps)
            out.block_until_ready()
            return (time.perf_counter() - t0) / reps

        return sample

    def torch_sample() -> float:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=total)
        t0 = time.perf_counter()
        for _ in range(torch_steps):
            sched.step()
            opt.param_groups[0]["lr"]
        return (time.perf_counter() - t0) * (total / torch_steps)

    names = (
        "jit(vmap(onecycle_schedule))",
        "torch OneCycleLR (Python loop)",
        "jit(vmap(optax.cosine_onecycle))",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: scheduler.step() before optimizer.step()
        contenders = {
            names[0]: make_jax(names[0], ours_fn),
            names[1]: torch_sample,
            names[2]: make_jax(names[2], optax_fn),
        }
        times = run_rounds(contenders, args.rounds)
    report(
        f"steady state, {total:,} values (torch: {torch_steps:,} steps timed, "
        f"x{total // torch_steps})",
        times,
        unit="per 100,000 values",
    )
    report("first call (trace + compile + run), fresh closure each round", compile_times)
    r_torch = report_ratio(
        "torch / onecycle_schedule (speed-up)", times, names[1], names[0], fmt="{:7.0f}"
    )
    r_optax = report_ratio("onecycle_schedule / optax one-cycle", times, names[0], names[2])
    targets.check("(d) speed-up over PyTorch's Python stepping", r_torch, ">=", 100.0, "{:.0f}")
    targets.check("(d) onecycle_schedule / optax one-cycle (steady)", r_optax, "<=", 1.0)


# --------------------------------------------------------------------------------------


def machine() -> None:
    import torch

    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print("== Machine ==")
    print(f"  CPU: {model}, {cores} logical cores ({usable} usable)")
    print(f"  Python {platform.python_version()} on {platform.platform()}")
    print(
        f"  jax {jax.__version__}, optax {optax.__version__}, brainstate "
        f"{brainstate.__version__}, braintools {braintools.__version__}, torch "
        f"{torch.__version__}, numpy {np.__version__}, jax_onecycle {jo.__version__}"
    )
    print(f"  jax backend: {jax.default_backend()}, devices: {jax.devices()}")


def load_version(tree: str):
    """The package in ``tree``/jax_onecycle, imported as ``jax_onecycle_compare``."""
    init = os.path.join(tree, "jax_onecycle", "__init__.py")
    if not os.path.isfile(init):
        raise SystemExit(f"--compare: no jax_onecycle/__init__.py under {tree!r}")
    spec = importlib.util.spec_from_file_location(
        "jax_onecycle_compare", init, submodule_search_locations=[os.path.dirname(init)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fast smoke run (small sizes, 3 rounds): checks it runs, figures are not meaningful",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="interleaved rounds per comparison (default 60, --quick 3)",
    )
    parser.add_argument(
        "--only",
        default="a,b,c,d",
        help="comma-separated parts to run, from a,b,c,d (default: all)",
    )
    parser.add_argument(
        "--compare",
        metavar="OLD",
        default=None,
        help="part b: also run the SGD of the package in OLD/jax_onecycle (another version)",
    )
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    bad = [p for p in parts if p not in ("a", "b", "c", "d")]
    if bad:
        parser.error(f"--only: unknown part(s) {bad}; choose from a,b,c,d")
    if args.rounds is None:
        args.rounds = 3 if args.quick else 60
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.quick:
        args.large, args.bs_calls = QUICK_LARGE, 10
        args.small_steps, args.small_calls, args.large_steps = 5, 1, 5
        args.update_params, args.update_reps = 1_000_000, 3
        args.torch_steps, args.sched_reps = 1_000, 3
    else:
        args.large, args.bs_calls = LARGE, 100
        # 10M: ~30 ms per step, so 10 steps per call already make dispatch negligible
        args.small_steps, args.small_calls, args.large_steps = 20, 5, 10
        args.update_params, args.update_reps = 10_000_000, 10
        args.torch_steps, args.sched_reps = 10_000, 20

    machine()
    print(f"  command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"  rounds: {args.rounds}{' (quick: small sizes, not meaningful)' if args.quick else ''}")
    targets = Targets()
    t0 = time.perf_counter()
    for p in parts:
        t_part = time.perf_counter()
        {"a": part_a, "b": part_b, "c": part_c, "d": part_d}[p](args, targets)
        print(f"  (part {p}: {time.perf_counter() - t_part:.1f} s wall, compiles included)")
    targets.summary()
    print(f"\ntotal wall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
