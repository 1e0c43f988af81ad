"""Resume and change the budget: a stopped one-cycle run, resumed in a fresh process and extended.

A one-cycle run on MNIST-1D (generated locally by the ``mnist1d`` package) is planned for
``T`` steps. It stops at step ``S`` and saves a checkpoint: the optimizer state *and the
schedule's spec* (``schedule.spec``, JSON). A fresh process (a subprocess here, as a
restarted job) rebuilds the schedule from its own arguments, checks it against the saved
spec (a different one is refused, saying what differs: two are tried to show it),
extends the budget to ``N`` steps from ``S`` on (``horizon_changes=((S, N),)``: the curve
stays continuous, the rest of the cycle stretched), restores the state and finishes. The
result is compared, bit for bit, with an uninterrupted run given the same
``horizon_changes`` from the start:

- optax form: ``jo.scheduled(optax.sgd, learning_rate=lr, momentum=momentum)`` on a plain JAX
  MLP, checkpointed with Orbax (arrays) plus the specs (Orbax's JSON item);
- brainstate form: ``SGD(lr=OneCycleLR(..., cycle_momentum=True))`` on a ``brainstate.nn``
  MLP, ``state_dict()`` saved with ``np.savez`` and read with ``np.load(allow_pickle=False)``
  (never pickle: loading one runs whatever code the file holds), then
  ``scheduler.change_horizon(N)``.

It writes ``resume_and_extend.json`` (the curves, the comparisons, the wall time) and
``resume_and_extend.png`` (both runs' learning rates, the resume point marked) to ``--out``.

    python examples/resume_and_extend.py            # 4000 signals, 800 -> 1200 steps
    python examples/resume_and_extend.py --quick    # tiny sizes (the tests)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import orbax.checkpoint as ocp  # noqa: E402

import jax_onecycle as jo  # noqa: E402

PCT_STOP, STRETCH = 0.6, 1.5  # stop at 60% of the planned steps, extend the run by half


# --- the configuration and the data ------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the tests)")
    parser.add_argument("--out", default="examples/out")
    parser.add_argument("--max-lr", type=float, default=0.1)
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)  # the child
    parser.add_argument("--plot-only", metavar="JSON", help="redraw the figure from a record")
    parser.add_argument("--figure", metavar="PNG", help="where to draw (default: in --out)")
    args = parser.parse_args(argv)
    args.n_train, args.epochs, args.batch, args.hidden = (
        (600, 3, 50, 32) if args.quick else (4000, 10, 50, 256)
    )
    args.steps_per_epoch = args.n_train // args.batch
    args.total = args.epochs * args.steps_per_epoch  # T: the planned run
    args.stop = int(PCT_STOP * args.total)  # S: where the first job stops
    args.new_total = int(STRETCH * args.total)  # N: the budget the resumed job is given
    return args


def load_data(args):
    from mnist1d_study.data import make_mnist1d

    data = make_mnist1d(args.n_train, 0, args.n_train // 4)
    x_train, x_test = data["x_train"], data["x_test"]
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, data["y_train"], (x_test - mean) / std, data["y_test"]


def batch_indices(args, steps: int) -> np.ndarray:
    """The examples of each step: a function of the step alone, so a resumed job sees the same."""
    per_epoch, n = args.steps_per_epoch, args.n_train
    epochs = -(-steps // per_epoch)
    orders = [np.random.default_rng(e).permutation(n) for e in range(epochs)]
    rows = [o[i * args.batch : (i + 1) * args.batch] for o in orders for i in range(per_epoch)]
    return np.stack(rows[:steps])


# --- the optax form ----------------------------------------------------------------------
def optax_schedules(args, horizon_changes=()) -> dict:
    """The run's schedules, from its arguments (a resumed job builds them the same way)."""
    cycle = dict(total_steps=args.total, horizon_changes=horizon_changes)
    return {
        "learning_rate": jo.onecycle_schedule(args.max_lr, **cycle),
        "momentum": jo.onecycle_momentum_schedule(**cycle),
    }


def mlp_init(args) -> dict:
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    return {
        "w1": jax.random.normal(k1, (40, args.hidden)) * np.sqrt(2 / 40),
        "b1": jnp.zeros(args.hidden),
        "w2": jax.random.normal(k2, (args.hidden, 10)) * np.sqrt(1 / args.hidden),
        "b2": jnp.zeros(10),
    }


def mlp(params, x):
    return jax.nn.relu(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


def optax_train(args, data, schedules, params, opt_state, first, last):
    """Steps ``first`` to ``last - 1``; returns params, state and each step's lr and momentum."""
    tx = jo.scheduled(optax.sgd, **schedules)
    x_train, y_train = data[0], data[1]

    @jax.jit
    def train_step(params, opt_state, x, y):
        def loss_fn(p):
            return optax.softmax_cross_entropy_with_integer_labels(mlp(p, x), y).mean()

        grads = jax.grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        used = opt_state.hyperparams  # what this update used (jo.hyperparams reads the same)
        return optax.apply_updates(params, updates), opt_state, used

    if opt_state is None:
        opt_state = tx.init(params)
    used = []
    for idx in batch_indices(args, last)[first:]:
        params, opt_state, hp = train_step(params, opt_state, x_train[idx], y_train[idx])
        used.append(hp)
    curves = {k: np.asarray([h[k] for h in used], np.float32) for k in schedules}
    return params, opt_state, curves


def spec_difference(saved, built, where="spec"):
    """Where two specs first differ, as ``"where: saved X, built Y"``; None if they agree."""
    if isinstance(saved, dict) and isinstance(built, dict):
        for key in list(saved) + [k for k in built if k not in saved]:
            if key not in saved or key not in built:
                return f"{where}[{key!r}]: saved {saved.get(key)!r}, built {built.get(key)!r}"
            found = spec_difference(saved[key], built[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    return None if saved == built else f"{where}: saved {saved!r}, built {built!r}"


def check_schedules(saved: dict, built: dict) -> None:
    """Refuse to resume with schedules other than the saved ones, saying what differs."""
    for name, schedule in built.items():
        found = spec_difference(saved[name], schedule.spec, name)
        if found:
            raise ValueError(
                f"the checkpoint's {name} schedule is not the one this job builds: {found}. "
                "Resume with the saved arguments; change the budget with horizon_changes."
            )


def orbax_target(args, schedules) -> dict:
    """The shapes and dtypes of what the optax checkpoint holds (for ``StandardRestore``)."""
    params = mlp_init(args)
    state = jo.scheduled(optax.sgd, **schedules).init(params)
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, {"params": params, "opt_state": state})


# --- the brainstate form -----------------------------------------------------------------
def brainstate_build(args, horizon_changes=(), seed=0):
    import brainstate

    brainstate.random.seed(seed)
    model = brainstate.nn.Sequential(
        brainstate.nn.Linear(40, args.hidden),
        brainstate.nn.ReLU(),
        brainstate.nn.Linear(args.hidden, 10),
    )
    scheduler = jo.OneCycleLR(
        args.max_lr, args.total, cycle_momentum=True, horizon_changes=horizon_changes
    )
    opt = jo.SGD(lr=scheduler, momentum=0.9)
    opt.register_trainable_weights(model.states(brainstate.ParamState))
    return model, scheduler, opt


def brainstate_train(args, data, model, scheduler, opt, first, last):
    import brainstate

    params = model.states(brainstate.ParamState)

    @brainstate.transform.jit
    def train_step(x, y):
        def loss_fn():
            return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

        opt.update(brainstate.transform.grad(loss_fn, grad_states=params)())
        return opt.opt_state.value.hyperparams  # what this update used

    used = []
    for idx in batch_indices(args, last)[first:]:
        used.append(train_step(data[0][idx], data[1][idx]))
        scheduler.step()  # after each batch, as in braintools / PyTorch
    return {k: np.asarray([h[k] for h in used], np.float32) for k in ("learning_rate", "momentum")}


def brainstate_weights(model) -> dict:
    import brainstate

    leaves = jax.tree_util.tree_flatten_with_path(
        {str(k): s.value for k, s in model.states(brainstate.ParamState).items()}
    )[0]
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in leaves}


# --- the two jobs --------------------------------------------------------------------------
def first_job(args, data, ckpt: str) -> dict:
    """Train to step S as planned (T steps), save the checkpoints, stop."""
    from brainstate_onecycle import save_checkpoint

    schedules = optax_schedules(args)
    params, opt_state, optax_curves = optax_train(
        args, data, schedules, mlp_init(args), None, 0, args.stop
    )
    meta = {"step": args.stop, "schedules": {k: s.spec for k, s in schedules.items()}}
    with ocp.CheckpointManager(os.path.join(ckpt, "optax")) as manager:
        manager.save(
            args.stop,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave({"params": params, "opt_state": opt_state}),
                meta=ocp.args.JsonSave(meta),
            ),
        )
        manager.wait_until_finished()

    model, scheduler, opt = brainstate_build(args)
    brainstate_curves = brainstate_train(args, data, model, scheduler, opt, 0, args.stop)
    save_checkpoint(os.path.join(ckpt, "brainstate.npz"), model, scheduler, opt)
    return {"optax": optax_curves, "brainstate": brainstate_curves}


def resumed_job(args, data, ckpt: str) -> None:
    """A fresh process: check, extend to N, restore, finish; write what it ends with."""
    from brainstate_onecycle import load_checkpoint, load_state, save_state

    with ocp.CheckpointManager(os.path.join(ckpt, "optax")) as manager:
        step = manager.latest_step()
        meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
        built = optax_schedules(args)  # what this job's arguments give
        check_schedules(meta["schedules"], built)
        rebuilt = {k: jo.schedule_from_spec(s) for k, s in meta["schedules"].items()}
        ks = jnp.arange(2 * args.total)
        assert all(bool(jnp.all(rebuilt[k](ks) == built[k](ks))) for k in built)
        other = optax_schedules(argparse.Namespace(**{**vars(args), "max_lr": 2 * args.max_lr}))
        try:
            check_schedules(meta["schedules"], other)
        except ValueError as err:
            print(f"optax form, a job built with max_lr={2 * args.max_lr} is refused: {err}")
        changes = ((step, args.new_total),)
        extended = optax_schedules(args, horizon_changes=changes)
        same = jo.change_horizon(
            rebuilt["learning_rate"], at_step=step, total_steps=args.total,
            new_total_steps=args.new_total,
        )  # fmt: skip
        assert bool(jnp.all(same(ks) == extended["learning_rate"](ks)))
        restored = manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(orbax_target(args, extended))),
        ).state
    params, opt_state, optax_curves = optax_train(
        args, data, extended, restored["params"], restored["opt_state"], step, args.new_total
    )

    path = os.path.join(ckpt, "brainstate.npz")
    wrong = jo.OneCycleLR(2 * args.max_lr, args.total, cycle_momentum=True)
    try:
        wrong.load_state_dict(load_state(path)["scheduler"])
    except ValueError as err:
        print(f"brainstate form, OneCycleLR(max_lr={2 * args.max_lr}) is refused: {err}")
    # another initialisation: the checkpoint must replace it
    model, scheduler, opt = brainstate_build(args, seed=1)
    load_checkpoint(path, model, scheduler, opt)
    scheduler.change_horizon(args.new_total)  # from its last_epoch, S
    brainstate_curves = brainstate_train(
        args, data, model, scheduler, opt, scheduler.last_epoch, args.new_total
    )
    save_state(
        os.path.join(ckpt, "resumed.npz"),
        {
            "optax": {"params": params, "opt_state": jax.tree.leaves(opt_state), **optax_curves},
            "brainstate": {
                "weights": brainstate_weights(model),
                "opt_state": opt.state_dict()["opt_state"],
                **brainstate_curves,
            },
        },
    )
    print(f"resumed at step {step} in a fresh process, extended to {args.new_total} steps")


def uninterrupted(args, data) -> dict:
    """The run the user meant: the same horizon change, given from the start."""
    changes = ((args.stop, args.new_total),)
    schedules = optax_schedules(args, horizon_changes=changes)
    params, opt_state, optax_curves = optax_train(
        args, data, schedules, mlp_init(args), None, 0, args.new_total
    )
    model, scheduler, opt = brainstate_build(args, horizon_changes=changes)
    brainstate_curves = brainstate_train(args, data, model, scheduler, opt, 0, args.new_total)
    accuracy = float(jnp.mean(jnp.argmax(mlp(params, data[2]), -1) == data[3]))
    return {
        "optax": {"params": params, "opt_state": jax.tree.leaves(opt_state), **optax_curves},
        "brainstate": {
            "weights": brainstate_weights(model),
            "opt_state": opt.state_dict()["opt_state"],
            **brainstate_curves,
        },
        "optax_test_accuracy": accuracy,
    }


def same_bits(a, b) -> bool:
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        np.asarray(x).dtype == np.asarray(y).dtype
        and np.asarray(x).tobytes() == np.asarray(y).tobytes()
        for x, y in zip(la, lb, strict=True)
    )


def _short(values) -> list[float]:
    """float32 values as the shortest decimals that read back as the same float32."""
    return [float(str(v)) for v in np.asarray(values, np.float32)]


# --- the figure ----------------------------------------------------------------------------
def plot(record: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, t, n = record["stop"], record["total"], record["new_total"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True)
    for ax, form in zip(axes, ("optax", "brainstate"), strict=True):
        r = record[form]
        ax.plot(r["planned_lr"], color="0.6", ls=":", lw=1.5, label=f"planned: {t} steps")
        ax.plot(r["resumed_lr"], color="C0", lw=3, alpha=0.6,
                label=f"stopped at step {s}, resumed in a fresh process, {n} steps")  # fmt: skip
        ax.plot(r["uninterrupted_lr"], color="C1", lw=1, ls="--",
                label=f"uninterrupted, horizon_changes=(({s}, {n}),)")  # fmt: skip
        ax.axvline(s, color="k", lw=0.8)
        ax.plot([s], [r["resumed_lr"][s]], "ko", ms=4)
        ax.annotate(f"checkpoint, resume at step {s}", (s, 0.85 * max(r["resumed_lr"])),
                    xytext=(5, 0), textcoords="offset points", fontsize=8)  # fmt: skip
        ax.set_title(f"{r['title']}: largest difference {r['largest_difference']:g}", fontsize=9)
        ax.set_xlabel("step")
    axes[0].set_ylabel("learning rate")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- main ------------------------------------------------------------------------------------
def main(argv=None) -> None:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    figure = args.figure or os.path.join(args.out, "resume_and_extend.png")
    if args.plot_only:
        with open(args.plot_only) as f:
            plot(json.load(f), figure)
        return
    ckpt = os.path.abspath(os.path.join(args.out, "resume_and_extend_ckpt"))
    data = load_data(args)
    if args.resume:
        resumed_job(args, data, ckpt)
        return
    start = time.perf_counter()
    if os.path.exists(ckpt):
        import shutil

        shutil.rmtree(ckpt)
    os.makedirs(ckpt)
    print(f"MNIST-1D: {args.n_train} signals, {args.steps_per_epoch} steps per epoch; planned "
          f"{args.total} steps, stop at {args.stop}, extend to {args.new_total}")  # fmt: skip
    first = first_job(args, data, ckpt)
    child = [sys.executable, os.path.abspath(__file__), "--resume", "--out", args.out]
    child += ["--max-lr", str(args.max_lr)] + (["--quick"] if args.quick else [])
    subprocess.run(child, check=True)  # the restarted job: a fresh process
    from brainstate_onecycle import load_state

    resumed = load_state(os.path.join(ckpt, "resumed.npz"))
    straight = uninterrupted(args, data)

    planned = optax_schedules(args)["learning_rate"](jnp.arange(args.new_total))
    record = {"stop": args.stop, "total": args.total, "new_total": args.new_total}
    ok = True
    for form, title in (("optax", "optax + Orbax"), ("brainstate", "brainstate SGD + OneCycleLR")):
        a, b = resumed[form], straight[form]
        lr_a = np.concatenate([first[form]["learning_rate"], a["learning_rate"]])
        mom_a = np.concatenate([first[form]["momentum"], a["momentum"]])
        keys = ("params", "opt_state") if form == "optax" else ("weights", "opt_state")
        bitwise = {
            "weights": same_bits(a[keys[0]], b[keys[0]]),
            "optimizer_state": same_bits(a["opt_state"], b["opt_state"]),
            "learning_rates": same_bits(lr_a, b["learning_rate"]),
            "momenta": same_bits(mom_a, b["momentum"]),
        }
        largest = float(np.max(np.abs(lr_a.astype(np.float64) - b["learning_rate"])))
        ok &= all(bitwise.values())
        record[form] = {
            "title": title,
            "bitwise_equal": bitwise,
            "largest_difference": largest,
            "resumed_lr": _short(lr_a),
            "uninterrupted_lr": _short(b["learning_rate"]),
            "planned_lr": _short(planned),
        }
        print(f"{form}: resumed == uninterrupted, bitwise: {bitwise}; {len(lr_a)} learning "
              f"rates, largest difference {largest:g}")  # fmt: skip
    record["optax_test_accuracy"] = straight["optax_test_accuracy"]
    record["wall_time_s"] = round(time.perf_counter() - start, 1)
    with open(os.path.join(args.out, "resume_and_extend.json"), "w") as f:
        json.dump(record, f)
    plot(record, figure)
    print(f"test accuracy after {args.new_total} steps: {record['optax_test_accuracy']:.4f}; "
          f"wall time {record['wall_time_s']} s; wrote {figure}")  # fmt: skip
    if not ok:
        raise SystemExit("the resumed run is not the uninterrupted run")


if __name__ == "__main__":
    main()
