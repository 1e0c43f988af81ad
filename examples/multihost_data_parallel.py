"""Data-parallel one-cycle training as N processes of one JAX job, with Orbax checkpoints.

Every process runs this same script and calls ``jax.distributed.initialize``; together
their devices form one global ``Mesh`` with the axis ``"data"``. Each global batch is
sharded along it (each process builds only the rows of its own devices); the weights and
the optimizer state are replicated, or with ``--sharding sharded`` split along their
largest axis that the device count divides (ZeRO-3 / FSDP style; XLA gathers them for the
matmuls). Two forms train side by side on the same batches:

- optax: ``jo.onecycle_sgd`` in a plain ``jax.jit`` step whose ``out_shardings`` pin the
  weights' and the state's shardings; the state starts from shapes alone
  (``jax.eval_shape`` + ``jax.ShapeDtypeStruct`` with the target sharding, then
  ``jax.jit(tx.init, out_shardings=...)``), so it is never materialised on one device;
- brainstate: ``jo.SGD(lr=jo.OneCycleLR(...))`` in a ``brainstate.transform.jit`` step.

Each step compiles once (a trace counter checks it) and the loop never waits for the host:
the learning rate and the momentum come from the replicated step count inside the compiled
update (the scheduler's counter is a host integer), and the loop fetches nothing but the
mean loss once per epoch. On GPUs and TPUs ``jax.transfer_guard_device_to_host("disallow")``
around each step makes any fetch an error; JAX's CPU backend does not check it.
``--save-at K`` writes an Orbax checkpoint after step K (every process takes part, as Orbax
requires), ``--stop-at K`` ends the run there, and ``--resume`` restores the latest
checkpoint (each array straight into its sharding) and continues: the result equals an
uninterrupted run bit for bit. The brainstate optimizer goes through its own
``state_dict()`` / ``load_state_dict()``.

On this machine (the default: 2 processes x 4 simulated CPU devices on 127.0.0.1, started
by the script itself, gloo collectives between them):

    python examples/multihost_data_parallel.py --quick
    python examples/multihost_data_parallel.py --num-processes 1 --cpu-devices 8  # one process
    python examples/multihost_data_parallel.py --quick --save-at 10 --stop-at 10 --ckpt-dir ck
    python examples/multihost_data_parallel.py --quick --resume --ckpt-dir ck

One process of a job started by hand or by a cluster's launcher (see docs/multihost.md):

    python examples/multihost_data_parallel.py --coordinator 10.0.0.1:1234 \\
        --num-processes 2 --process-id 0 --cpu-devices 0   # --process-id 1 on the other host
    srun python examples/multihost_data_parallel.py --auto-init --cpu-devices 0

Data: scikit-learn's handwritten digits. Only process 0 prints.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from pathlib import Path

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

import jax_onecycle as jo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="tiny sizes (seconds)")
    add("--epochs", type=int, default=6)
    add("--per-device-batch", type=int, default=8)
    add("--hidden", type=int, default=128)
    add("--max-lr", type=float, default=0.1)
    add(
        "--sharding",
        choices=("replicated", "sharded"),
        default="replicated",
        help="weights and optimizer state: on every device, or split over the devices",
    )
    add("--ckpt-dir", type=Path, help="Orbax checkpoint directory (shared by all processes)")
    add("--save-at", type=int, help="write a checkpoint after this step")
    add("--stop-at", type=int, help="end the run after this step (with --save-at: a preemption)")
    add("--resume", action="store_true", help="restore the latest checkpoint and continue")
    add("--out", type=Path, help="directory for the final arrays (process<i>.npz)")
    add("--num-processes", type=int, default=2, help="processes of the job (default 2)")
    add(
        "--cpu-devices",
        type=int,
        default=4,
        help="simulated CPU devices per process (0: use the real accelerators)",
    )
    add("--timeout", type=float, default=600.0, help="launcher: seconds before killing all")
    add("--coordinator", help="host:port of process 0 (one process of a job)")
    add("--process-id", type=int, help="index of this process, 0-based")
    add(
        "--local",
        action="store_true",
        help="run in this process alone, without jax.distributed (XLA's own collectives)",
    )
    add(
        "--auto-init",
        action="store_true",
        help="jax.distributed.initialize() with the cluster's own settings (SLURM, TPU, MPI)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.hidden = 2, 32
    if (args.save_at is not None or args.resume) and args.ckpt_dir is None:
        parser.error("--save-at and --resume need --ckpt-dir")
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.cpu_devices:  # before JAX starts its backend: N simulated devices, CPU only
        flags = re.sub(
            r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", "")
        )
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_force_host_platform_device_count={args.cpu_devices}".strip()
        )
        jax.config.update("jax_platforms", "cpu")
    if args.process_id is None and not (args.auto_init or args.local):
        from multihost_launch import launch  # this process only starts the others

        launch(
            [sys.executable, __file__, *argv],
            args.num_processes,
            timeout=args.timeout,
            env=os.environ,
        )
        return
    # CPU devices of different processes exchange collectives through gloo (on GPUs NCCL,
    # on TPUs the ICI, whatever this says)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if args.coordinator:
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )
    elif args.auto_init:
        jax.distributed.initialize()
    train(args)


def load_digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].astype(np.int32)
    cut = int(0.75 * len(x))
    x = (x - x[:cut].mean(0)) / (x[:cut].std(0) + 1e-6)
    return x[:cut], y[:cut], x[cut:], y[cut:]


class MLP(brainstate.nn.Module):
    def __init__(self, din: int, hidden: int, dout: int):
        super().__init__()
        self.hidden = brainstate.nn.Linear(din, hidden)
        self.out = brainstate.nn.Linear(hidden, dout)

    def update(self, x):
        return self.out(jax.nn.relu(self.hidden(x)))


def mlp_init(key, din: int, hidden: int, dout: int) -> dict:
    """The optax form's weights (run under ``jax.jit(..., out_shardings=...)``)."""
    k1, k2 = jax.random.split(key)
    return {
        "hidden": {"w": jax.random.normal(k1, (din, hidden)) * din**-0.5, "b": jnp.zeros(hidden)},
        "out": {"w": jax.random.normal(k2, (hidden, dout)) * hidden**-0.5, "b": jnp.zeros(dout)},
    }


def mlp_apply(params: dict, x):
    h = jax.nn.relu(x @ params["hidden"]["w"] + params["hidden"]["b"])
    return h @ params["out"]["w"] + params["out"]["b"]


def cross_entropy(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def train(args: argparse.Namespace) -> None:
    log = print if jax.process_index() == 0 else (lambda *a, **k: None)
    mesh = Mesh(np.asarray(jax.devices()), ("data",))
    n_dev = mesh.size
    replicated, batch_sharded = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

    def sharding_for(shape) -> NamedSharding:
        """Replicated, or (--sharding sharded) split along the largest axis n_dev divides.

        A function of the shape alone, so an optimizer buffer gets its weight's sharding."""
        axes = [a for a in range(len(shape)) if shape[a] % n_dev == 0 and shape[a] >= n_dev]
        if args.sharding == "replicated" or not axes:
            return replicated
        axis = max(axes, key=lambda a: shape[a])
        return NamedSharding(mesh, P(*[("data" if a == axis else None) for a in range(len(shape))]))

    def shardings(tree):
        return jax.tree.map(lambda a: sharding_for(np.shape(a)), tree)

    def place(tree):
        """Host values (the same on every process) as global arrays with their sharding."""
        return jax.tree.map(
            lambda a: jax.make_array_from_callback(
                np.shape(a), sharding_for(np.shape(a)), lambda index, a=np.asarray(a): a[index]
            ),
            tree,
        )

    def constrain(tree):
        return jax.tree.map(
            lambda a: jax.lax.with_sharding_constraint(a, sharding_for(a.shape)), tree
        )

    x_train, y_train, _, _ = load_digits()
    if args.quick:
        x_train, y_train = x_train[:512], y_train[:512]
    global_batch = args.per_device_batch * n_dev
    steps_per_epoch = len(x_train) // global_batch
    total = args.epochs * steps_per_epoch
    log(
        f"{jax.process_count()} process(es), {n_dev} {jax.devices()[0].platform} device(s); "
        f"mesh {dict(mesh.shape)}; global batch {global_batch} "
        f"({global_batch // jax.process_count()} per process); {total} steps; "
        f"weights and optimizer state {args.sharding}"
    )

    def batch(step: int):
        """Global batch ``step``: each process builds only its own devices' rows."""
        order = np.random.default_rng(step // steps_per_epoch).permutation(len(x_train))
        rows = order[(step % steps_per_epoch) * global_batch :][:global_batch]
        return tuple(
            jax.make_array_from_callback(
                (global_batch, *data.shape[1:]),
                batch_sharded,
                lambda index, d=data: d[rows[index[0]]],
            )
            for data in (x_train, y_train)
        )

    traces = {"optax": 0, "brainstate": 0}

    # --- optax: onecycle_sgd in a plain jit step; weights and state made in their sharding
    tx = jo.onecycle_sgd(args.max_lr, total, weight_decay=5e-4)
    dims = (x_train.shape[1], args.hidden, 10)
    init_params = functools.partial(mlp_init, din=dims[0], hidden=dims[1], dout=dims[2])
    abstract_params = jax.eval_shape(init_params, jax.random.key(0))
    param_sh = shardings(abstract_params)
    abstract_state = jax.eval_shape(
        tx.init,
        jax.tree.map(
            lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
            abstract_params,
            param_sh,
        ),
    )
    state_sh = shardings(abstract_state)

    @jax.jit
    def optax_step(params, opt_state, x, y):
        traces["optax"] += 1
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(mlp_apply(p, x), y))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (
            jax.lax.with_sharding_constraint(optax.apply_updates(params, updates), param_sh),
            jax.lax.with_sharding_constraint(opt_state, state_sh),
            loss,
        )

    # --- brainstate: SGD + OneCycleLR, the scheduler stepped on the host as in braintools
    brainstate.random.seed(0)  # the same initial weights on every process
    model = MLP(*dims)
    weights = model.states(brainstate.ParamState)
    for state in weights.values():
        state.value = place(state.value)
    scheduler = jo.OneCycleLR(max_lr=args.max_lr, total_steps=total, cycle_momentum=True)
    opt = jo.SGD(lr=scheduler, momentum=0.9, weight_decay=5e-4)
    opt.register_trainable_weights(weights)
    opt.opt_state.value = jax.jit(opt.tx.init, out_shardings=shardings(opt.opt_state.value))(
        {k: s.value for k, s in weights.items()}
    )

    @brainstate.transform.jit
    def brainstate_step(x, y):
        traces["brainstate"] += 1
        grads, loss = brainstate.transform.grad(
            lambda: cross_entropy(model(x), y), grad_states=weights, return_value=True
        )()
        opt.update(grads)
        for state in weights.values():
            state.value = constrain(state.value)
        opt.opt_state.value = constrain(opt.opt_state.value)
        return loss

    def weight_tree():
        return {".".join(map(str, k)): s.value for k, s in weights.items()}

    manager = None
    if args.ckpt_dir is not None:
        manager = ocp.CheckpointManager(
            args.ckpt_dir.resolve(), options=ocp.CheckpointManagerOptions(max_to_keep=2)
        )

    def checkpoint_args(params, opt_state, save: bool):
        item = ocp.args.StandardSave if save else ocp.args.StandardRestore
        # Arrays go to Orbax's array store; the settings a state dict is checked against on
        # load (strings, None) and the scheduler's small state dict go to its JSON item.
        sgd = opt.state_dict() if save else {}
        meta = {"sgd_settings": sgd.pop("settings", None), "scheduler": scheduler.state_dict()}
        return ocp.args.Composite(
            optax=item({"params": params, "opt_state": opt_state}),
            brainstate=item({"weights": weight_tree(), "sgd": sgd or opt_arrays()}),
            meta=ocp.args.JsonSave(meta) if save else ocp.args.JsonRestore(),
        )

    def opt_arrays():
        """The array part of the optimizer's state dict: the structure a restore fills in."""
        return {k: v for k, v in opt.state_dict().items() if k != "settings"}

    start = 0
    if args.resume:
        start = manager.latest_step()
        if start is None:
            raise SystemExit(f"--resume: no checkpoint in {args.ckpt_dir}")
        with_sharding = lambda tree, sh: jax.tree.map(  # noqa: E731
            lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), tree, sh
        )
        restored = manager.restore(
            start,
            args=checkpoint_args(
                with_sharding(abstract_params, param_sh),
                with_sharding(abstract_state, state_sh),
                save=False,
            ),
        )
        params, opt_state = restored.optax["params"], restored.optax["opt_state"]
        saved = restored.brainstate
        for key, state in weights.items():
            state.value = saved["weights"][".".join(map(str, key))]
        opt.load_state_dict({**saved["sgd"], "settings": restored.meta["sgd_settings"]})
        scheduler.load_state_dict(restored.meta["scheduler"])
        log(f"resumed from the checkpoint of step {start} in {args.ckpt_dir}")
    else:
        params = jax.jit(init_params, out_shardings=param_sh)(jax.random.key(0))
        opt_state = jax.jit(tx.init, out_shardings=state_sh)(params)

    def check_shardings(when: str) -> None:
        for name, tree in (
            ("optax weights", params),
            ("optax state", opt_state),
            ("brainstate weights", weight_tree()),
            ("brainstate state", opt.opt_state.value),
        ):
            for path, a in jax.tree_util.tree_flatten_with_path(tree)[0]:
                want = sharding_for(a.shape)
                if not a.sharding.is_equivalent_to(want, a.ndim):
                    raise AssertionError(
                        f"{when}: {name}{jax.tree_util.keystr(path)} has "
                        f"sharding {a.sharding}, expected {want}"
                    )

    check_shardings("after restore" if args.resume else "at the start")
    stop = total if args.stop_at is None else min(args.stop_at, total)
    losses = []
    log(f"{'epoch':>5} {'loss optax':>10} {'loss brainstate':>15}")
    for step in range(start, stop):
        # on GPUs and TPUs a fetch in here raises (JAX does not guard its CPU backend)
        with jax.transfer_guard_device_to_host("disallow"):
            x, y = batch(step)
            params, opt_state, loss_a = optax_step(params, opt_state, x, y)
            loss_b = brainstate_step(x, y)
            scheduler.step()
            losses.append((loss_a, loss_b))
        if step + 1 == args.save_at:
            manager.save(step + 1, args=checkpoint_args(params, opt_state, save=True))
            manager.wait_until_finished()
            log(f"saved the checkpoint of step {step + 1} in {args.ckpt_dir}")
        if (step + 1) % steps_per_epoch == 0 or step + 1 == stop:
            mean = np.mean(np.asarray(losses), axis=0)  # once per epoch: the only host fetch
            log(f"{(step + 1) / steps_per_epoch:>5.2f} {mean[0]:>10.4f} {mean[1]:>15.4f}")
            losses = []
    check_shardings("after training")
    if stop > start and traces != {"optax": 1, "brainstate": 1}:
        raise AssertionError(f"each step should compile once, traced {traces}")
    hp = jo.hyperparams(opt_state)
    result = {
        "optax/params": params,
        "optax/opt_state": opt_state,
        "optax/count": opt_state.count,
        "optax/lr": hp["learning_rate"],
        "optax/momentum": hp["momentum"],
        "brainstate/weights": weight_tree(),
        "brainstate/opt_state": opt.opt_state.value,
        "brainstate/step_count": opt.opt_state.value.count,
    }
    gathered = multihost_utils.process_allgather(result, tiled=True)  # every process joins
    flat = {
        f"{name}{jax.tree_util.keystr(path)}": np.asarray(a)
        for name, tree in gathered.items()
        for path, a in jax.tree_util.tree_flatten_with_path(tree)[0]
    }
    flat.update(
        {
            "brainstate/lr": np.float32(opt.current_lr),
            "brainstate/momentum": np.float32(opt.current_momentum),
            "brainstate/last_epoch": np.int32(scheduler.last_epoch),
        }
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        np.savez(args.out / f"process{jax.process_index()}.npz", **flat)
    w = weights[("hidden", "weight")].value["weight"]
    log(
        f"after {int(flat['optax/count'])} steps: lr {float(flat['optax/lr']):.3e}, momentum "
        f"{float(flat['optax/momentum']):.4f}; each step compiled once; hidden weight "
        f"{w.sharding.spec} on {len(w.sharding.device_set)} device(s) ({args.sharding})"
        + (
            f"; last batch {x.sharding.spec} over {len(x.sharding.device_set)} device(s)"
            if stop > start
            else ""
        )
    )
    if manager is not None:
        manager.close()


if __name__ == "__main__":
    main()
