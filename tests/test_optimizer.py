"""The brainstate SGD: braintools parity, compiled updates, groups, resume, sharding, real data."""

import os
import pickle
import subprocess
import sys
import textwrap

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import reference

import jax_onecycle as jo


def _run_on_eight_host_devices(script: str) -> None:
    """Run ``script`` in a fresh interpreter with 8 simulated CPU devices; it prints OK."""
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("OK")


def _model(seed=0, din=3, dout=2):
    brainstate.random.seed(seed)
    return brainstate.nn.Linear(din, dout)


def _grad_step(model, opt, scheduler=None, step_inside=False):
    params = model.states(brainstate.ParamState)

    @brainstate.transform.jit
    def step(x):
        loss = lambda: jnp.sum(jnp.tanh(model(x)) ** 2)  # noqa: E731
        opt.update(brainstate.transform.grad(loss, grad_states=params)())
        if step_inside:
            scheduler.step()

    return step


def _weights(model):
    return jax.tree.map(
        np.asarray, {k: s.value for k, s in model.states(brainstate.ParamState).items()}
    )


@pytest.mark.live
def test_twenty_steps_match_braintools_sgd_with_its_onecycle():
    braintools = reference("braintools")
    xs = jax.random.normal(jax.random.PRNGKey(0), (20, 3))
    runs = []
    for lib in (jo, braintools.optim):
        model = _model()
        sched = lib.OneCycleLR(max_lr=0.5, total_steps=20)
        opt = lib.SGD(lr=sched, momentum=0.9)
        opt.register_trainable_weights(model.states(brainstate.ParamState))
        step = _grad_step(model, opt)
        for x in xs:
            step(x)
            sched.step()
        runs.append(_weights(model))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), *runs)


def test_update_compiles_once_while_the_scheduler_steps_outside():
    model = _model()
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=100, cycle_momentum=True)
    opt = jo.SGD(lr=sched)
    opt.register_trainable_weights(model.states(brainstate.ParamState))
    traces = []
    params = model.states(brainstate.ParamState)

    @brainstate.transform.jit
    def step(x):
        traces.append(1)
        loss = lambda: jnp.sum(model(x) ** 2)  # noqa: E731
        opt.update(brainstate.transform.grad(loss, grad_states=params)())

    moms = []
    for _ in range(100):
        step(jnp.ones(3))
        moms.append(opt.current_momentum)
        sched.step()
    assert len(traces) == 1
    assert opt.step_count == 100 and sched.last_epoch == 100
    # the momentum actually applied moves across the cycle
    assert max(moms) == pytest.approx(0.95, abs=1e-6)
    assert min(moms) == pytest.approx(0.85, abs=1e-6)
    applied = jax.tree.leaves(opt.opt_state.value)
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in applied)


def test_scheduler_step_inside_jit_equals_outside():
    results = []
    for inside in (False, True):
        model = _model()
        sched = jo.OneCycleLR(max_lr=0.3, total_steps=10)
        opt = jo.SGD(lr=sched, momentum=0.9)
        opt.register_trainable_weights(model.states(brainstate.ParamState))
        step = _grad_step(model, opt, sched, step_inside=inside)
        for _ in range(10):
            step(jnp.ones(3))
            if not inside:
                sched.step()
        assert sched.last_epoch == 10
        results.append(_weights(model))
    jax.tree.map(np.testing.assert_array_equal, *results)


def test_schedule_function_is_driven_by_the_optimizer_count():
    model = _model()
    lr = jo.onecycle_schedule(0.1, 10, convention="torch")
    opt = jo.SGD(lr=lr, momentum=jo.onecycle_momentum_schedule(10, convention="torch"))
    opt.register_trainable_weights(model.states(brainstate.ParamState))
    step = _grad_step(model, opt)
    for k in range(4):
        assert opt.current_lr == pytest.approx(float(lr(k)))
        step(jnp.ones(3))
    hyper = jo.hyperparams(opt)  # one group: plain names, the values update 3 used
    np.testing.assert_allclose(hyper["learning_rate"], lr(3), rtol=1e-6)
    assert opt.current_momentum == pytest.approx(
        float(jo.onecycle_momentum_schedule(10, convention="torch")(4))
    )


def test_update_is_pytorch_sgd_with_nested_weights():
    model = _model()
    opt = jo.SGD(lr=0.1, momentum=0.5, weight_decay=0.01)
    params = model.states(brainstate.ParamState)
    opt.register_trainable_weights(params)
    before = _weights(model)
    grads = jax.tree.map(jnp.ones_like, {k: s.value for k, s in params.items()})
    opt.update(grads)
    opt.update(grads)
    # PyTorch: g = 1 + wd * p; buf1 = g1; buf2 = 0.5 * buf1 + g2; p -= 0.1 * buf
    for key, w0 in before.items():
        for name in w0:
            p0 = w0[name]
            p1 = p0 - 0.1 * (1 + 0.01 * p0)
            p2 = p1 - 0.1 * (0.5 * (1 + 0.01 * p0) + (1 + 0.01 * p1))
            np.testing.assert_allclose(_weights(model)[key][name], p2, rtol=1e-6)


def test_param_groups_get_their_own_learning_rate_in_one_update():
    a, b = _model(0), _model(1)
    opt = jo.SGD(lr=0.1)
    opt.register_trainable_weights(a.states(brainstate.ParamState))
    opt.add_param_group(
        {("b",) + k: s for k, s in b.states(brainstate.ParamState).items()}, lr=0.01
    )
    wa, wb = _weights(a), _weights(b)
    grads = {k: jax.tree.map(jnp.ones_like, s.value) for k, s in opt.param_states.items()}
    opt.update(grads)
    for name in wa[("weight",)]:
        np.testing.assert_allclose(
            _weights(a)[("weight",)][name], wa[("weight",)][name] - 0.1, rtol=1e-6
        )
        np.testing.assert_allclose(
            _weights(b)[("weight",)][name], wb[("weight",)][name] - 0.01, rtol=1e-6
        )


def test_max_lr_list_drives_one_group_each_and_keeps_buffers_when_a_group_is_added():
    a, b = _model(0), _model(1)
    sched = jo.OneCycleLR(max_lr=[0.1, 1.0], total_steps=10)
    opt = jo.SGD(lr=sched, momentum=0.9)
    opt.register_trainable_weights(a.states(brainstate.ParamState))
    grads_a = {k: jax.tree.map(jnp.ones_like, s.value) for k, s in opt.param_states.items()}
    with pytest.raises(ValueError, match=r"scheduler has 2 learning rate\(s\).*1 parameter group"):
        opt.update(grads_a)
    opt.add_param_group({("b",) + k: s for k, s in b.states(brainstate.ParamState).items()})
    wb = _weights(b)
    grads = {k: jax.tree.map(jnp.ones_like, s.value) for k, s in opt.param_states.items()}
    opt.update(grads)
    np.testing.assert_allclose(
        _weights(b)[("weight",)]["weight"], wb[("weight",)]["weight"] - 1.0 / 25, rtol=1e-6
    )
    assert sched.get_lr() == pytest.approx([0.004, 0.04])


def test_resume_from_state_dict_is_bitwise_identical(tmp_path):
    xs = jax.random.normal(jax.random.PRNGKey(1), (20, 3))

    def make():
        model = _model()
        sched = jo.OneCycleLR(max_lr=0.5, total_steps=20, cycle_momentum=True, convention="torch")
        opt = jo.SGD(lr=sched, nesterov=True, weight_decay=1e-3)
        opt.register_trainable_weights(model.states(brainstate.ParamState))
        return model, sched, opt, _grad_step(model, opt)

    model, sched, opt, step = make()
    for x in xs:
        step(x)
        sched.step()
    uninterrupted = _weights(model)

    model, sched, opt, step = make()
    for x in xs[:10]:
        step(x)
        sched.step()
    path = tmp_path / "ckpt.pkl"
    path.write_bytes(
        pickle.dumps(
            {"weights": _weights(model), "opt": opt.state_dict(), "sched": sched.state_dict()}
        )
    )

    model, sched, opt, step = make()
    saved = pickle.loads(path.read_bytes())
    for key, state in model.states(brainstate.ParamState).items():
        state.value = jax.tree.map(jnp.asarray, saved["weights"][key])
    opt.load_state_dict(saved["opt"])
    sched.load_state_dict(saved["sched"])
    assert opt.step_count == 10 and sched.last_epoch == 10
    for x in xs[10:]:
        step(x)
        sched.step()
    jax.tree.map(np.testing.assert_array_equal, _weights(model), uninterrupted)


def test_digits_mlp_reaches_95_percent_in_a_few_epochs():
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

    class MLP(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = brainstate.nn.Linear(64, 128)
            self.l2 = brainstate.nn.Linear(128, 10)

        def __call__(self, x):
            return self.l2(jax.nn.relu(self.l1(x)))

    brainstate.random.seed(0)
    model = MLP()
    epochs, batch = 5, 50
    steps = epochs * (len(x_train) // batch)
    sched = jo.OneCycleLR(max_lr=0.5, total_steps=steps, cycle_momentum=True)
    opt = jo.SGD(lr=sched)
    params = model.states(brainstate.ParamState)
    opt.register_trainable_weights(params)

    @brainstate.transform.jit
    def train_step(xb, yb):
        def loss():
            logits = model(xb)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], 1))

        opt.update(brainstate.transform.grad(loss, grad_states=params)())

    for _ in range(epochs):
        for i in range(0, len(x_train) - batch + 1, batch):
            train_step(x_train[i : i + batch], y_train[i : i + batch])
            sched.step()
    accuracy = float(jnp.mean(jnp.argmax(model(x_test), -1) == y_test))
    assert accuracy > 0.95


def test_data_parallel_update_on_eight_devices_keeps_sharding_and_matches_one_device():
    script = textwrap.dedent("""
        import jax, jax.numpy as jnp, numpy as np, brainstate
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        import jax_onecycle as jo
        assert jax.device_count() == 8
        mesh = Mesh(np.array(jax.devices()), ("data",))
        x = jax.random.normal(jax.random.PRNGKey(0), (64, 16))
        y = jax.random.normal(jax.random.PRNGKey(1), (64, 4))

        def run(shard):
            brainstate.random.seed(0)
            model = brainstate.nn.Linear(16, 4)
            params = model.states(brainstate.ParamState)
            if shard:  # weights replicated, batch split along "data"
                for s in params.values():
                    s.value = jax.device_put(s.value, NamedSharding(mesh, P()))
            sched = jo.OneCycleLR(max_lr=0.1, total_steps=5, cycle_momentum=True)
            opt = jo.SGD(lr=sched)
            opt.register_trainable_weights(params)

            @brainstate.transform.jit
            def step(xb, yb):
                loss = lambda: jnp.mean((model(xb) - yb) ** 2)
                opt.update(brainstate.transform.grad(loss, grad_states=params)())

            xb, yb = x, y
            if shard:
                xb = jax.device_put(x, NamedSharding(mesh, P("data")))
                yb = jax.device_put(y, NamedSharding(mesh, P("data")))
            for _ in range(5):
                step(xb, yb)
                sched.step()
            return {k: s.value for k, s in params.items()}, opt

        (sharded, opt), (single, _) = run(True), run(False)
        for w in jax.tree.leaves(sharded):
            assert len(w.sharding.device_set) == 8, w.sharding
        before = [leaf.sharding for leaf in jax.tree.leaves(opt.opt_state.value)]
        opt.load_state_dict(opt.state_dict())  # restored with the sharding it replaces
        after = [leaf.sharding for leaf in jax.tree.leaves(opt.opt_state.value)]
        assert after == before and any(len(s.device_set) == 8 for s in after), after
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                     sharded, single)
        print("OK")
    """)
    _run_on_eight_host_devices(script)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: jo.SGD(lr=-1.0),
            ValueError,
            r"SGD: `lr` must be a finite number >= 0 that float32 holds, got -1.0\.$",
        ),
        (lambda: jo.SGD(lr="0.1"), TypeError, r"`lr` must be a float, a schedule.*'0.1'"),
        (lambda: jo.SGD(momentum=1.0), ValueError, r"`momentum` must be in \[0, 1\), got 1.0"),
        (lambda: jo.SGD(momentum=0.0, nesterov=True), ValueError, r"`nesterov=True` needs"),
        (lambda: jo.SGD(weight_decay=float("nan")), ValueError, r"`weight_decay`"),
        (lambda: jo.SGD(grad_clip_norm=-1.0), ValueError, r"`grad_clip_norm`"),
        (lambda: jo.SGD().register_trainable_weights(42), TypeError, r"`param_states`.*int"),
        (
            lambda: jo.SGD().register_trainable_weights({"w": jnp.ones(2)}),
            TypeError,
            r"`param_states` must hold brainstate States",
        ),
        (lambda: jo.SGD().update({}), ValueError, r"register_trainable_weights` before `update"),
        (lambda: jo.SGD().add_param_group({}), ValueError, r"register_trainable_weights` first"),
        (lambda: jo.SGD().state_dict(), ValueError, r"register_trainable_weights` first"),
        (lambda: jo.OneCycleLR(max_lr=[]), ValueError, r"`max_lr` must not be an empty list"),
        (lambda: jo.OneCycleLR(max_lr=0.1), ValueError, r"`total_steps`"),
        (lambda: jo.OneCycleLR(max_lr=[0.1, -0.2], total_steps=5), ValueError, r"`max_lr`"),
        (lambda: jo.OneCycleLR(0.1, 5, last_epoch=-1), ValueError, r"`last_epoch`.*-1"),
    ],
)
def test_bad_argument_is_refused_with_its_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_gradients_that_do_not_match_the_weights_are_refused():
    model = _model()
    opt = jo.SGD(lr=0.1)
    params = model.states(brainstate.ParamState)
    opt.register_trainable_weights(params)
    with pytest.raises(ValueError, match=r"`grads` must have the keys"):
        opt.update({("nope",): jnp.ones(2)})
    with pytest.raises(ValueError, match=r"`grads` must have the tree structure"):
        opt.update({k: jnp.ones(2) for k in params})
    other = jo.SGD(lr=0.1)
    other.register_trainable_weights(_model(din=5).states(brainstate.ParamState))
    with pytest.raises(
        ValueError,
        match=r"`state_dict\['opt_state'\]\[.*` must be of shape \(3, 2\), got shape \(5, 2\)",
    ):
        opt.load_state_dict(other.state_dict())


def test_adding_a_group_keeps_the_momentum_buffers_and_the_step_count():
    def run(add_after):
        a, b = _model(0), _model(1)
        sched = jo.onecycle_schedule(0.1, 10)
        opt = jo.SGD(lr=sched, momentum=0.9)
        opt.register_trainable_weights(a.states(brainstate.ParamState))
        for k in range(3):
            if k == add_after:
                opt.add_param_group(
                    {("b",) + key: s for key, s in b.states(brainstate.ParamState).items()}, lr=0.01
                )
            opt.update(
                {key: jax.tree.map(jnp.ones_like, s.value) for key, s in opt.param_states.items()}
            )
        return _weights(a), opt

    alone, _ = run(add_after=None)
    joined, opt = run(add_after=2)
    jax.tree.map(np.testing.assert_array_equal, joined, alone)
    assert opt.step_count == 3
    assert opt.state_dict()["step_count"] == 3


# ---- reliability: dtypes, registration, groups, gradients, checkpoints ------------------


def _jit_step(opt, states, traces=None):
    @brainstate.transform.jit
    def step():
        if traces is not None:
            traces.append(1)
        opt.update({k: jnp.ones_like(s.value) for k, s in states.items()})

    return step


def test_mixed_float32_and_bf16_weights_compile_once_and_keep_their_buffer_dtypes():
    states = {
        "f32": brainstate.ParamState(jnp.ones(3, jnp.float32)),
        "bf16": brainstate.ParamState(jnp.ones(3, jnp.bfloat16)),
    }
    opt = jo.SGD(lr=jo.onecycle_schedule(0.1, 10), momentum=0.9)
    opt.register_trainable_weights(states)
    traces = []
    step = _jit_step(opt, states, traces)
    for _ in range(4):
        step()
    assert len(traces) == 1
    trace = opt.opt_state.value.inner_state[0].trace
    assert trace["f32"].dtype == jnp.float32 and trace["bf16"].dtype == jnp.bfloat16
    assert states["bf16"].value.dtype == jnp.bfloat16


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_weights_get_float32_hyperparameters(dtype):
    w = brainstate.ParamState(jnp.ones(2, dtype))
    opt = jo.SGD(lr=1e-7, momentum=0.85)
    opt.register_trainable_weights({"w": w})
    opt.update({"w": jnp.ones(2, dtype)})
    hp = jo.hyperparams(opt)
    assert hp["learning_rate"].dtype == jnp.float32 and hp["momentum"].dtype == jnp.float32
    assert float(hp["momentum"]) == float(np.float32(0.85))  # not bf16's 0.8516
    assert float(hp["learning_rate"]) == float(np.float32(1e-7))  # not f16's 1.19e-7
    assert opt.current_momentum == pytest.approx(0.85, rel=1e-7)


def test_registering_the_same_weights_again_after_compiling_loses_nothing():
    model = brainstate.nn.Linear(3, 2)
    ws = model.states(brainstate.ParamState)
    opt = jo.SGD(0.1, momentum=0.9)
    opt.register_trainable_weights(ws)

    @brainstate.transform.jit
    def step(x):
        opt.update(brainstate.transform.grad(lambda: (model(x) ** 2).sum(), ws)())

    for _ in range(3):
        step(jnp.ones((1, 3)))
    saved = opt.state_dict()
    opt.register_trainable_weights(ws)  # a re-run notebook cell
    assert opt.step_count == 3
    for _ in range(3):
        step(jnp.ones((1, 3)))
    assert opt.step_count == 6
    assert opt.state_dict()["step_count"] == 6
    assert any(
        not np.array_equal(v, opt.state_dict()["opt_state"][k])
        for k, v in saved["opt_state"].items()
    )


def test_registering_other_weights_merges_them_into_group_zero_as_braintools_does():
    a, b = brainstate.ParamState(jnp.ones(2)), brainstate.ParamState(jnp.ones(2))
    opt = jo.SGD(0.1, momentum=0.9)
    opt.register_trainable_weights({"a": a})
    opt.update({"a": jnp.ones(2)})
    opt.register_trainable_weights({"b": b})
    opt.update({"a": jnp.ones(2), "b": jnp.ones(2)})
    np.testing.assert_allclose(a.value, 1 - 0.1 - 0.1 * 1.9)  # a's momentum buffer was kept
    np.testing.assert_allclose(b.value, 1 - 0.1)
    assert opt.step_count == 2
    with pytest.raises(ValueError, match=r"key 'a' is already registered with another State"):
        opt.register_trainable_weights({"a": brainstate.ParamState(jnp.ones(2))})


def test_one_weight_in_two_groups_or_twice_in_one_is_refused():
    w = brainstate.ParamState(jnp.ones(2))
    opt = jo.SGD(0.1)
    opt.register_trainable_weights({"a": w})
    with pytest.raises(ValueError, match=r"appear in more than one parameter group.*'b'.*'a'"):
        opt.add_param_group({"b": w}, lr=0.5)
    with pytest.raises(ValueError, match=r"appear in more than one parameter group"):
        jo.SGD(0.1).register_trainable_weights([w, w])
    opt.update({"a": jnp.ones(2)})
    np.testing.assert_allclose(w.value, 0.9)  # one step, not two


def test_a_gradient_of_the_wrong_shape_is_refused_eagerly_and_under_jit():
    w = brainstate.ParamState(jnp.ones((3, 1)))
    opt = jo.SGD(0.1)
    opt.register_trainable_weights({"w": w})
    match = r"`grads\['w'\]` has shape \(3,\), but the weight has shape \(3, 1\)"
    with pytest.raises(ValueError, match=match):
        opt.update({"w": jnp.ones(3)})
    with pytest.raises(ValueError, match=match):
        brainstate.transform.jit(lambda: opt.update({"w": jnp.ones(3)}))()
    assert w.value.shape == (3, 1)


def test_tx_is_the_optax_transformation_from_construction_on():
    opt = jo.SGD(0.1, momentum=0.9)
    params = {"w": jnp.ones(2)}
    state = opt.tx.init(params)
    updates, state = opt.tx.update({"w": jnp.ones(2)}, state, params)
    np.testing.assert_allclose(updates["w"], -0.1)
    assert int(state.count) == 1


def _trained(din=3, steps=2):
    model = _model(din=din)
    opt = jo.SGD(lr=0.1, momentum=0.9)
    opt.register_trainable_weights(model.states(brainstate.ParamState))
    step = _grad_step(model, opt)
    for _ in range(steps):
        step(jnp.ones(din))
    return opt


@pytest.mark.parametrize(
    "broken, match",
    [
        (lambda d: {}, r"exactly the keys"),
        (lambda d: None, r"`state_dict` must be a mapping \(a SGD state dict\)"),
        (lambda d: {**d, "extra": 1}, r"exactly the keys"),
        (
            lambda d: {**d, "opt_state": {**d["opt_state"], ".groups[9]": np.ones(2)}},
            r"missing \[\], unexpected \['.groups\[9\]'\]",
        ),
        (
            lambda d: {**d, "opt_state": {k: "text" for k in d["opt_state"]}},
            r"`state_dict\['opt_state'\]\['.count'\]` must be an integer in "
            r"\[0, 2\*\*31 - 1\], got 'text'",
        ),
        (
            lambda d: {
                **d,
                "opt_state": {
                    k: v * np.nan if v.dtype.kind == "f" else v for k, v in d["opt_state"].items()
                },
            },
            r"`state_dict\['opt_state'\]\[\".hyperparams\['learning_rate'\]\"\]` must be "
            r"a finite real number, got np.float32\(nan\)",
        ),
        (
            lambda d: {**d, "settings": {"optimizer": "Adam", "groups": 1}},
            r"saved with optimizer='Adam', but this SGD has optimizer='SGD'",
        ),
        (
            lambda d: {**d, "step_count": 5},
            r"step_count'\]` is 5 but the saved optimizer count is 2",
        ),
        (lambda d: {**d, "step_count": -1}, r"step_count'\]` must be an integer"),
    ],
)
def test_a_state_dict_that_does_not_fit_is_refused_whole(broken, match):
    opt = _trained()
    before = opt.state_dict()
    with pytest.raises((ValueError, TypeError), match=match):
        opt.load_state_dict(broken(before))
    after = opt.state_dict()
    assert after["step_count"] == before["step_count"]
    for k, v in before["opt_state"].items():
        np.testing.assert_array_equal(after["opt_state"][k], v)


def test_a_bigger_models_state_dict_is_refused():
    small, big = _trained(din=3), _trained(din=5)
    with pytest.raises(
        ValueError,
        match=r"trace\[.*\]\['weight'\]\"\]` must be of shape \(3, 2\), got shape \(5, 2\)",
    ):
        small.load_state_dict(big.state_dict())


def test_sgd_pickling_points_to_state_dict():
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        pickle.dumps(_trained())


def test_clipping_is_one_global_norm_over_every_group_and_survives_a_new_group():
    a, b = brainstate.ParamState(jnp.ones(3)), brainstate.ParamState(jnp.ones(2))
    opt = jo.SGD(0.1, momentum=0.9, grad_clip_norm=1.0)
    opt.register_trainable_weights({"a": a})
    opt.update({"a": jnp.full(3, 2.0)})  # norm sqrt(12): clipped
    opt.add_param_group({"b": b}, lr=0.5)
    opt.update({"a": jnp.full(3, 2.0), "b": jnp.full(2, 3.0)})  # norm sqrt(30) over both
    # PyTorch's clip_grad_norm_ over all parameters, then SGD per group (numpy)
    g0 = np.full(3, 2.0) / np.sqrt(12.0)
    scale = 1.0 / np.sqrt(30.0)
    buf_a = 0.9 * g0 + np.full(3, 2.0) * scale
    np.testing.assert_allclose(a.value, 1 - 0.1 * g0 - 0.1 * buf_a, rtol=1e-6)
    np.testing.assert_allclose(b.value, 1 - 0.5 * np.full(2, 3.0) * scale, rtol=1e-6)
    per_group = 1 - 0.5 * np.full(2, 3.0) / np.sqrt(18.0)  # what clipping b alone would give
    assert not np.allclose(b.value, per_group)


def test_each_group_follows_its_own_schedulers_momentum():
    head = jo.OneCycleLR(max_lr=0.5, total_steps=10, cycle_momentum=True)
    a, b = brainstate.ParamState(jnp.ones(2)), brainstate.ParamState(jnp.ones(2))
    opt = jo.SGD(0.1, momentum=0.9)
    opt.register_trainable_weights({"a": a})
    opt.add_param_group({"b": b}, lr=head)
    step = brainstate.transform.jit(lambda: opt.update({"a": jnp.ones(2), "b": jnp.ones(2)}))
    pure = jo.onecycle_momentum_schedule(10)
    for k in range(4):
        step()
        hp = jo.hyperparams(opt)
        assert float(hp["0/momentum"]) == pytest.approx(0.9)
        assert float(hp["1/momentum"]) == pytest.approx(float(pure(k)), rel=1e-6)
        head.step()
    assert float(pure(3)) != pytest.approx(0.9)


def test_resume_of_sharded_weights_under_jit_on_eight_devices_is_bitwise():
    script = textwrap.dedent("""
        import jax, jax.numpy as jnp, numpy as np, brainstate
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        import jax_onecycle as jo
        assert jax.device_count() == 8
        mesh = Mesh(np.array(jax.devices()), ("x",))
        grads = [jax.random.normal(jax.random.PRNGKey(i), (16, 4)) for i in range(6)]

        def build():
            sharded = jax.device_put(jnp.ones((16, 4)), NamedSharding(mesh, P("x")))
            w = brainstate.ParamState(sharded)
            opt = jo.SGD(jo.OneCycleLR(0.1, 6, cycle_momentum=True), momentum=0.9)
            opt.register_trainable_weights({"w": w})
            step = brainstate.transform.jit(lambda g: opt.update({"w": g}))
            return w, opt, step

        w, opt, step = build()  # uninterrupted
        for g in grads:
            step(g); opt.lr.step()
        w1, opt1, step1 = build()  # interrupted after 3 steps, restored into a fresh one
        for g in grads[:3]:
            step1(g); opt1.lr.step()
        w2, opt2, step2 = build()
        w2.value = w1.value
        before = [(x.committed, x.sharding) for x in jax.tree.leaves(opt2.opt_state.value)]
        opt2.load_state_dict(opt1.state_dict()); opt2.lr.load_state_dict(opt1.lr.state_dict())
        after = [(x.committed, x.sharding) for x in jax.tree.leaves(opt2.opt_state.value)]
        assert after == before, (after, before)  # each leaf where the one it replaced lived
        assert any(len(s.device_set) == 8 for _, s in after)  # the sharded momentum buffer
        for g in grads[3:]:
            step2(g); opt2.lr.step()
        np.testing.assert_array_equal(np.asarray(w2.value), np.asarray(w.value))
        assert len(w2.value.sharding.device_set) == 8
        print("OK")
    """)
    _run_on_eight_host_devices(script)
