"""Equinox: an ``eqx.filter_jit`` step with ``opt.update(grads, state, eqx.filter(model, ...))``.

Against the real library: one compile over a run, the learning rate and momentum each
update used read with `jo.hyperparams` and equal to the pure schedules at that step, the
cycled momentum really driving the update, and a checkpoint written with
``eqx.tree_serialise_leaves`` that resumes bitwise. The example and the docs page run in
subprocesses.
"""

import re
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import run_python
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


def _build(opt, seed=0, dtype=jnp.float32):
    model = eqx.nn.MLP(64, 10, 32, depth=1, key=jax.random.PRNGKey(seed))
    model = jax.tree.map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, model)
    return model, opt.init(eqx.filter(model, eqx.is_array))


def _loss(model, x, y):
    logits = jax.vmap(model)(x).astype(jnp.float32)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def _make_step():
    """A fresh ``eqx.filter_jit`` train step and the list its traces append to."""
    traces = []

    @eqx.filter_jit
    def step(model, state, opt, x, y):
        traces.append(1)
        loss, grads = eqx.filter_value_and_grad(_loss)(model, x, y)
        updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, jo.hyperparams(state)

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
def test_filter_jit_step_compiles_once_and_reports_the_schedule_every_step(name, batches):
    opt = _tx(name)
    model, state = _build(opt)
    step, traces = _make_step()
    used = []
    for x, y in batches:
        model, state, hp = step(model, state, opt, x, y)
        outside = jo.hyperparams(state)  # the same values, read outside jit
        assert {k: float(v) for k, v in hp.items()} == {k: float(v) for k, v in outside.items()}
        used.append((float(hp["learning_rate"]), float(hp[MOMENTUM[name]])))
    assert len(traces) == 1
    k = jnp.arange(TOTAL)
    lr = jax.jit(jax.vmap(jo.onecycle_schedule(MAX_LR[name], TOTAL)))(k)
    momentum = jax.jit(jax.vmap(jo.onecycle_momentum_schedule(TOTAL)))(k)
    lrs, momenta = np.array(used).T
    # update k used schedule(k); rtol covers a rounding difference between two XLA programs
    np.testing.assert_allclose(lrs, lr, rtol=1e-6)
    np.testing.assert_allclose(momenta, momentum, rtol=1e-6)
    assert momenta[0] == pytest.approx(0.95) and momenta.min() < 0.86 and momenta[-1] > 0.94


@pytest.mark.parametrize("name, buffer", [("sgd", "trace"), ("adamw", "mu")])
def test_cycled_momentum_drives_the_update(name, buffer):
    # with a constant gradient of ones, the momentum buffer is a known recurrence of the
    # momentum each update used: SGD buf = m_k buf + g, AdamW mu = b1_k mu + (1 - b1_k) g
    opt = jo.onecycle_sgd(0.1, TOTAL) if name == "sgd" else jo.onecycle_adamw(3e-3, TOTAL)
    model, state = _build(opt)
    params = eqx.filter(model, eqx.is_array)
    ones = jax.tree.map(jnp.ones_like, params)
    momenta = [float(jo.onecycle_momentum_schedule(TOTAL)(k)) for k in range(TOTAL)]
    expected = 0.0
    for k in range(TOTAL):
        updates, state = opt.update(ones, state, params)
        params = eqx.apply_updates(params, updates)
        m = momenta[k]
        expected = m * expected + (1.0 if name == "sgd" else 1.0 - m)
        for leaf in jax.tree.leaves(optax.tree_utils.tree_get(state, buffer)):
            np.testing.assert_allclose(np.asarray(leaf), expected, rtol=2e-6)
    fixed = 0.0
    for _ in range(TOTAL):  # what a momentum held at 0.95 would have left
        fixed = 0.95 * fixed + (1.0 if name == "sgd" else 0.05)
    assert abs(fixed - expected) > 1e-3 * abs(expected)


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_resume_through_tree_serialise_leaves_is_bitwise_equal_to_an_uninterrupted_run(
    name, batches, tmp_path
):
    opt = _tx(name)
    step, traces = _make_step()
    model, state = _build(opt)
    for x, y in batches:
        model, state, _ = step(model, state, opt, x, y)
    uninterrupted = (model, state)

    model, state = _build(opt)
    for x, y in batches[: TOTAL // 2]:
        model, state, _ = step(model, state, opt, x, y)
    eqx.tree_serialise_leaves(tmp_path / "ckpt.eqx", (model, state))
    del model, state

    like = _build(opt, seed=1)  # a restarted job: another initialisation
    model, state = eqx.tree_deserialise_leaves(tmp_path / "ckpt.eqx", like)
    assert int(state.count) == TOTAL // 2
    for x, y in batches[TOTAL // 2 :]:
        model, state, _ = step(model, state, opt, x, y)

    _assert_bitwise_equal((model, state), uninterrupted)
    assert len(traces) == 1


def test_bfloat16_params_keep_bfloat16_buffers_and_one_compile(batches):
    opt = _tx("sgd")
    model, state = _build(opt, dtype=jnp.bfloat16)
    step, traces = _make_step()
    for x, y in batches[:4]:
        model, state, hp = step(model, state, opt, x.astype(jnp.bfloat16), y)
    assert len(traces) == 1
    leaves = jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array))
    assert {leaf.dtype for leaf in leaves} == {jnp.dtype(jnp.bfloat16)}
    trace = optax.tree_utils.tree_get(state, "trace")
    assert {leaf.dtype for leaf in jax.tree.leaves(trace)} == {jnp.dtype(jnp.bfloat16)}
    assert {v.dtype for v in hp.values()} == {jnp.dtype(jnp.float32)}


def test_example_quick_trains_resumes_and_matches_the_schedules(tmp_path):
    out = run_python([ROOT / "examples" / "equinox_onecycle.py", "--quick", "--out", tmp_path])
    assert re.search(r"^epoch\s+mean_loss\s+lr\s+momentum\s+test_acc$", out, re.M), out
    assert len(re.findall(r"^\s+\d+\s+[\d.]+\s+[\d.e+-]+\s+0\.\d+\s+[01]\.\d+$", out, re.M)) == 2
    assert "resumed at step 8" in out and "train_step traced 1 time(s)" in out
    errors = re.findall(r"\|(?:lr|momentum) - \w+\(step\)\|: (\S+)", out)
    assert len(errors) == 2 and max(float(e.rstrip(";")) for e in errors) < 1e-6, out
    assert (tmp_path / "equinox_sgd_checkpoint.eqx").stat().st_size > 0
    assert float(re.search(r"final test accuracy (\S+)", out).group(1)) > 0.5


def test_docs_page_code_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "equinox.md").read_text(), re.S)
    assert blocks
    script = tmp_path / "equinox_page.py"
    script.write_text("\n\n".join(blocks))
    out = run_python([script], cwd=tmp_path)
    assert len(re.findall(r"^epoch \d+: loss", out, re.M)) == 4, out
    assert "resumed at step" in out and "traced 1 time(s)" in out
