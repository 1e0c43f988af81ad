"""Data-parallel SGD + OneCycleLR over a ``jax.sharding.Mesh``, on one host or several.

The train step is the brainstate one of ``brainstate_onecycle.py``, unchanged: the batch is
sharded along the mesh axis ``"data"``, the weights, the optimizer state and the
scheduler's counter are replicated, and XLA inserts the gradient all-reduce. Because the
learning rate and the momentum are computed inside the compiled update from replicated
state, every device applies exactly the same update; nothing is sent to the host per step.
Data: scikit-learn's handwritten digits (every process loads them and feeds its own slice
of each global batch).

One host (all local devices; try 8 simulated CPU devices):

    python examples/multihost_data_parallel.py
    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/multihost_data_parallel.py

Several hosts: run the same command on every host, with the same coordinator address
(host:port of process 0, reachable from all hosts), the number of processes and each
host's own index; ``jax.distributed.initialize`` then joins them into one global mesh:

    # on host 0 (10.0.0.1)                # on host 1
    python examples/multihost_data_parallel.py --coordinator 10.0.0.1:1234 \\
        --num-processes 2 --process-id 0   # ... --process-id 1 on host 1

(Both processes can also run on one machine, for a test: ``--coordinator localhost:1234``;
on CPU, JAX exchanges the all-reduce between processes with its gloo collectives.) On
managed clusters (Cloud TPU, SLURM, Open MPI) ``jax.distributed.initialize()`` can find
these values itself: pass ``--auto-init`` instead. Only process 0 prints.
"""

from __future__ import annotations

import argparse

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

import jax_onecycle as jo


class MLP(brainstate.nn.Module):
    def __init__(self, din: int, hidden: int, dout: int):
        super().__init__()
        self.hidden = brainstate.nn.Linear(din, hidden)
        self.out = brainstate.nn.Linear(hidden, dout)

    def update(self, x):
        return self.out(jax.nn.relu(self.hidden(x)))


def load_digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].astype(np.int32)
    cut = int(0.75 * len(x))
    x = (x - x[:cut].mean(0)) / (x[:cut].std(0) + 1e-6)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--per-device-batch", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--max-lr", type=float, default=0.1)
    parser.add_argument("--coordinator", help="host:port of process 0 (multi-host runs)")
    parser.add_argument("--num-processes", type=int, help="number of processes (hosts)")
    parser.add_argument("--process-id", type=int, help="index of this process, 0-based")
    parser.add_argument("--auto-init", action="store_true",
                        help="jax.distributed.initialize() with the cluster's own settings")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.hidden = 1, 32

    if args.coordinator:
        jax.distributed.initialize(coordinator_address=args.coordinator,
                                   num_processes=args.num_processes,
                                   process_id=args.process_id)
    elif args.auto_init:
        jax.distributed.initialize()
    main_process = jax.process_index() == 0
    log = print if main_process else (lambda *a, **k: None)

    # one mesh axis over every device of every process
    mesh = Mesh(np.asarray(jax.devices()), ("data",))
    replicated, batch_sharded = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

    def replicate(value):
        """Every process holds the same value: place it on every device of the mesh."""
        return jax.make_array_from_process_local_data(replicated, np.asarray(value))

    x_train, y_train, x_test, y_test = load_digits()
    if args.quick:
        x_train, y_train = x_train[:256], y_train[:256]
    global_batch = args.per_device_batch * jax.device_count()
    local_batch = global_batch // jax.process_count()
    steps_per_epoch = len(x_train) // global_batch
    log(f"{jax.process_count()} process(es), {jax.device_count()} {jax.devices()[0].platform} "
        f"device(s); mesh {dict(mesh.shape)}; global batch {global_batch} "
        f"({local_batch} per process); {steps_per_epoch} steps per epoch")

    brainstate.random.seed(0)  # the same initial weights on every process
    model = MLP(x_train.shape[1], args.hidden, 10)
    scheduler = jo.OneCycleLR(max_lr=args.max_lr, epochs=args.epochs,
                              steps_per_epoch=steps_per_epoch, cycle_momentum=True)
    opt = jo.SGD(lr=scheduler, momentum=0.9, weight_decay=5e-4)
    params = model.states(brainstate.ParamState)
    opt.register_trainable_weights(params)
    # replicate every State: weights, optimizer buffers and step count, scheduler counter
    states = {id(s): s for obj in (model, opt, scheduler)
              for s in brainstate.graph.states(obj).values()}
    for state in states.values():
        state.value = jax.tree.map(replicate, state.value)

    @brainstate.transform.jit
    def train_step(x, y):
        def loss_fn():
            return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

        grads, loss = brainstate.transform.grad(loss_fn, grad_states=params, return_value=True)()
        opt.update(grads)
        return loss

    @brainstate.transform.jit
    def accuracy(x, y):
        return jnp.mean(jnp.argmax(model(x), -1) == y)

    x_test_g, y_test_g = replicate(x_test), replicate(y_test)
    lo = jax.process_index() * local_batch  # this process's rows of each global batch
    log(f"{'epoch':>5} {'train_loss':>10} {'accuracy':>9} {'next lr':>10} {'momentum':>9}")
    for epoch in range(args.epochs):
        order = np.random.default_rng(epoch).permutation(len(x_train))  # same on all hosts
        losses = []
        for i in range(steps_per_epoch):
            idx = order[i * global_batch + lo:i * global_batch + lo + local_batch]
            xb = jax.make_array_from_process_local_data(batch_sharded, x_train[idx])
            yb = jax.make_array_from_process_local_data(batch_sharded, y_train[idx])
            losses.append(train_step(xb, yb))
            scheduler.step()
        log(f"{epoch + 1:>5} {float(jnp.mean(jnp.stack(losses))):>10.4f} "
            f"{float(accuracy(x_test_g, y_test_g)):>9.4f} {scheduler.get_last_lr()[0]:>10.3e} "
            f"{opt.current_momentum:>9.4f}")

    weight = params[("hidden", "weight")].value["weight"]
    log(f"weights after {opt.step_count} steps: {weight.sharding.spec} on "
        f"{len(weight.sharding.device_set)} device(s) (replicated); last batch "
        f"{xb.sharding.spec} over {len(xb.sharding.device_set)} device(s)")


if __name__ == "__main__":
    main()
