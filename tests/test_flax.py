"""Flax NNX: ``nnx.Optimizer(model, jo.onecycle_sgd(...), wrt=nnx.Param)`` in an ``nnx.jit`` step.

Against the real library: one compile over a run, the learning rate and momentum each
update used read with `jo.hyperparams` and equal to the pure schedules at that step, the
cycled momentum really driving the update, and a checkpoint (numpy or orbax) that resumes
bitwise. The example and the docs page run in subprocesses.
"""

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
from conftest import run_python
from flax import nnx
from sklearn.datasets import load_digits

import jax_onecycle as jo

ROOT = Path(__file__).resolve().parent.parent
TOTAL, BATCH = 12, 32
MAX_LR = {"sgd": 0.1, "adamw": 3e-3}
MOMENTUM = {"sgd": "momentum", "adamw": "b1"}


def _tx(name: str) -> optax.GradientTransformation:
    if name == "sgd":
        return jo.onecycle_sgd(MAX_LR[name], TOTAL, weight_decay=5e-4)
    return jo.onecycle_adamw(MAX_LR[name], TOTAL)


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, dtype=jnp.float32):
        self.hidden = nnx.Linear(64, 32, param_dtype=dtype, dtype=dtype, rngs=rngs)
        self.out = nnx.Linear(32, 10, param_dtype=dtype, dtype=dtype, rngs=rngs)

    def __call__(self, x):
        return self.out(jax.nn.relu(self.hidden(x)))


def _build(tx, seed=0, dtype=jnp.float32):
    model = MLP(nnx.Rngs(seed), dtype)
    return model, nnx.Optimizer(model, tx, wrt=nnx.Param)


def _make_step():
    """A fresh ``nnx.jit`` train step and the list its traces append to."""
    traces = []

    @nnx.jit
    def step(model, optimizer, x, y):
        traces.append(1)

        def loss_fn(model):
            logits = model(x).astype(jnp.float32)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        # the plain arrays: test_hyperparams_reads_the_nnx_optimizer_state_directly pins the
        # documented form, jo.hyperparams(optimizer.opt_state), on its own
        return loss, jo.hyperparams(optimizer.opt_state)

    return step, traces


@pytest.fixture(scope="module")
def batches():
    x, y = load_digits(return_X_y=True)
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))[: TOTAL * BATCH]
    return [(x[idx], y[idx].astype(np.int32)) for idx in order.reshape(TOTAL, BATCH)]


def _assert_bitwise_equal(a, b):
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_nnx_jit_step_compiles_once_and_reports_the_schedule_every_step(name, batches):
    model, optimizer = _build(_tx(name))
    step, traces = _make_step()
    used = []
    for x, y in batches:
        _, hp = step(model, optimizer, x, y)
        outside = jo.hyperparams(optimizer.opt_state)  # read outside jit
        assert {k: float(v) for k, v in hp.items()} == {k: float(v) for k, v in outside.items()}
        used.append((float(hp["learning_rate"]), float(hp[MOMENTUM[name]])))
    assert len(traces) == 1
    assert int(optimizer.step[...]) == TOTAL
    k = jnp.arange(TOTAL)
    lr = jax.jit(jax.vmap(jo.onecycle_schedule(MAX_LR[name], TOTAL)))(k)
    momentum = jax.jit(jax.vmap(jo.onecycle_momentum_schedule(TOTAL)))(k)
    lrs, momenta = np.array(used).T
    # update k used schedule(k); rtol covers a rounding difference between two XLA programs
    np.testing.assert_allclose(lrs, lr, rtol=1e-6)
    np.testing.assert_allclose(momenta, momentum, rtol=1e-6)
    assert momenta[0] == pytest.approx(0.95) and momenta.min() < 0.86 and momenta[-1] > 0.94


def test_hyperparams_reads_the_nnx_optimizer_state_directly(batches):
    # SPEC: pass optimizer.opt_state as it is (its leaves are nnx.OptArray variables),
    # inside nnx.jit and outside, with warnings as errors (pyproject's filterwarnings)
    model, optimizer = _build(_tx("sgd"))

    @nnx.jit
    def step(model, optimizer, x, y):
        grads = nnx.grad(
            lambda m: jnp.mean(optax.softmax_cross_entropy_with_integer_labels(m(x), y))
        )(model)
        optimizer.update(model, grads)
        return jo.hyperparams(optimizer.opt_state)

    inside = step(model, optimizer, *batches[0])
    outside = jo.hyperparams(optimizer.opt_state)
    assert set(inside) == set(outside) == {"learning_rate", "momentum", "weight_decay"}
    for key in inside:
        assert isinstance(outside[key], jax.Array) and outside[key].dtype == jnp.float32
        assert float(inside[key]) == float(outside[key])
    assert float(outside["learning_rate"]) == pytest.approx(
        float(jo.onecycle_schedule(MAX_LR["sgd"], TOTAL)(0)), rel=1e-6
    )


def test_hyperparams_reads_the_nnx_optimizer_itself(batches):
    # it used to give {} for the optimizer (only its opt_state was searched)
    model, optimizer = _build(_tx("sgd"))
    optimizer.update(model, jax.tree.map(jnp.ones_like, nnx.state(model, nnx.Param)))
    hp = jo.hyperparams(optimizer)
    assert set(hp) == {"learning_rate", "momentum", "weight_decay"}
    assert {k: float(v) for k, v in hp.items()} == {
        k: float(v) for k, v in jo.hyperparams(optimizer.opt_state).items()
    }


@pytest.mark.parametrize("name, buffer", [("sgd", "trace"), ("adamw", "mu")])
def test_cycled_momentum_drives_the_update(name, buffer):
    # with a constant gradient of ones, the momentum buffer is a known recurrence of the
    # momentum each update used: SGD buf = m_k buf + g, AdamW mu = b1_k mu + (1 - b1_k) g
    tx = jo.onecycle_sgd(0.1, TOTAL) if name == "sgd" else jo.onecycle_adamw(3e-3, TOTAL)
    model, optimizer = _build(tx)
    ones = jax.tree.map(jnp.ones_like, nnx.state(model, nnx.Param))
    momenta = [float(jo.onecycle_momentum_schedule(TOTAL)(k)) for k in range(TOTAL)]
    expected = 0.0
    for k in range(TOTAL):
        optimizer.update(model, ones)
        m = momenta[k]
        expected = m * expected + (1.0 if name == "sgd" else 1.0 - m)
        state = nnx.as_pure(optimizer.opt_state)
        for leaf in jax.tree.leaves(optax.tree_utils.tree_get(state, buffer)):
            np.testing.assert_allclose(np.asarray(leaf), expected, rtol=2e-6)
    fixed = 0.0
    for _ in range(TOTAL):  # what a momentum held at 0.95 would have left
        fixed = 0.95 * fixed + (1.0 if name == "sgd" else 0.05)
    assert abs(fixed - expected) > 1e-3 * abs(expected)


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_resume_from_a_numpy_checkpoint_is_bitwise_equal_to_an_uninterrupted_run(name, batches):
    tx = _tx(name)  # one tx object per process: nnx.jit caches on it (see docs/flax.md)
    step, traces = _make_step()
    model, optimizer = _build(tx)
    for x, y in batches:
        step(model, optimizer, x, y)
    uninterrupted = nnx.state((model, optimizer))

    model, optimizer = _build(tx)
    for x, y in batches[: TOTAL // 2]:
        step(model, optimizer, x, y)
    _, state = nnx.split((model, optimizer))
    saved = jax.tree.map(np.asarray, nnx.to_pure_dict(state))  # host arrays, picklable
    del model, optimizer

    model, optimizer = _build(tx, seed=1)  # a restarted job: another initialisation
    _, fresh = nnx.split((model, optimizer))
    nnx.replace_by_pure_dict(fresh, saved)
    nnx.update((model, optimizer), fresh)
    assert int(optimizer.step[...]) == TOTAL // 2
    for x, y in batches[TOTAL // 2 :]:
        step(model, optimizer, x, y)

    _assert_bitwise_equal(nnx.state((model, optimizer)), uninterrupted)
    assert len(traces) == 1


def test_resume_through_orbax_is_bitwise_equal_to_an_uninterrupted_run(batches, tmp_path):
    tx = _tx("sgd")
    step, traces = _make_step()
    model, optimizer = _build(tx)
    for x, y in batches:
        step(model, optimizer, x, y)
    uninterrupted = nnx.state((model, optimizer))

    model, optimizer = _build(tx)
    for x, y in batches[: TOTAL // 2]:
        step(model, optimizer, x, y)
    _, state = nnx.split((model, optimizer))
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "ckpt", state)
    checkpointer.wait_until_finished()

    model, optimizer = _build(tx, seed=1)
    _, abstract = nnx.split((model, optimizer))
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract)
    nnx.update((model, optimizer), checkpointer.restore(tmp_path / "ckpt", target))
    for x, y in batches[TOTAL // 2 :]:
        step(model, optimizer, x, y)

    _assert_bitwise_equal(nnx.state((model, optimizer)), uninterrupted)
    assert len(traces) == 1


def test_bfloat16_params_keep_bfloat16_buffers_and_one_compile(batches):
    model, optimizer = _build(_tx("sgd"), dtype=jnp.bfloat16)
    step, traces = _make_step()
    for x, y in batches[:4]:
        _, hp = step(model, optimizer, x, y)
    assert len(traces) == 1
    assert {leaf.dtype for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))} == {
        jnp.dtype(jnp.bfloat16)
    }
    trace = optax.tree_utils.tree_get(nnx.as_pure(optimizer.opt_state), "trace")
    assert {leaf.dtype for leaf in jax.tree.leaves(trace)} == {jnp.dtype(jnp.bfloat16)}
    assert {v.dtype for v in hp.values()} == {jnp.dtype(jnp.float32)}


def test_example_quick_trains_resumes_and_matches_the_schedules(tmp_path):
    out = run_python([ROOT / "examples" / "flax_nnx_onecycle.py", "--quick", "--out", tmp_path])
    assert re.search(r"^epoch\s+mean_loss\s+lr\s+momentum\s+test_acc$", out, re.M), out
    assert len(re.findall(r"^\s+\d+\s+[\d.]+\s+[\d.e+-]+\s+0\.\d+\s+[01]\.\d+$", out, re.M)) == 2
    assert "resumed at step 8" in out and "train_step traced 1 time(s)" in out
    errors = re.findall(r"\|(?:lr|momentum) - \w+\(step\)\|: (\S+)", out)
    assert len(errors) == 2 and max(float(e.rstrip(";")) for e in errors) < 1e-6, out
    assert (tmp_path / "flax_nnx_sgd_checkpoint").is_dir()
    assert float(re.search(r"final test accuracy (\S+)", out).group(1)) > 0.5


def test_docs_page_code_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "flax.md").read_text(), re.S)
    assert blocks
    script = tmp_path / "flax_page.py"
    script.write_text("\n\n".join(blocks))
    out = run_python([script], cwd=tmp_path)
    assert len(re.findall(r"^epoch \d+: loss", out, re.M)) == 4, out
    assert "resumed at step" in out and "traced 1 time(s)" in out
