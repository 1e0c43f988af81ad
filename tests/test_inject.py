"""scheduled(): any optax optimizer, float32 hyperparameters, buffers that keep their dtype."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jax_onecycle as jo


def _scan(opt, params, steps=3):
    """``steps`` updates of ``opt`` inside ``lax.scan`` (it refuses a carry that changes type)."""

    def body(carry, _):
        p, s = carry
        u, s = opt.update(jax.tree.map(jnp.ones_like, p), s, p)
        return (optax.apply_updates(p, u), s), None

    (params, state), _ = jax.lax.scan(body, (params, opt.init(params)), None, length=steps)
    return params, state


def _dtypes(tree):
    return {str(leaf.dtype) for leaf in jax.tree.leaves(tree)}


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize(
    "make",
    [
        lambda: jo.onecycle_sgd(0.1, 100),
        lambda: jo.onecycle_sgd(0.1, 100, nesterov=True, weight_decay=1e-4),
        lambda: jo.onecycle_adamw(1e-3, 100),
    ],
    ids=["sgd", "sgd-nesterov-wd", "adamw"],
)
def test_half_precision_buffers_keep_their_dtype_in_a_scan(make, dtype):
    params = {"w": jnp.ones(4, dtype), "b": jnp.ones((), dtype)}
    params, state = _scan(make(), params)
    assert _dtypes(params) == {jnp.dtype(dtype).name}
    buffers = [leaf for leaf in jax.tree.leaves(state.inner_state) if leaf.ndim > 0]
    assert buffers and all(leaf.dtype == dtype for leaf in buffers)
    assert all(v.dtype == jnp.float32 for v in jo.hyperparams(state).values())


def test_x64_keeps_float32_buffers_and_float32_hyperparameters_in_one_trace():
    with jax.enable_x64(True):
        opt = jo.onecycle_sgd(0.1, 100)
        params = {"w": jnp.ones(4, jnp.float32)}
        state = opt.init(params)

        @jax.jit
        @chex.assert_max_traces(n=1)
        def step(params, state):
            u, state = opt.update(jax.tree.map(jnp.ones_like, params), state, params)
            return optax.apply_updates(params, u), state

        for _ in range(3):
            params, state = step(params, state)
        assert state.inner_state[0].trace["w"].dtype == jnp.float32
        assert params["w"].dtype == jnp.float32
        assert all(v.dtype == jnp.float32 for v in jo.hyperparams(state).values())
    chex.clear_trace_counter()


def test_any_factory_takes_floats_and_schedules_driven_by_one_count():
    wsd = jo.wsd_schedule(0.1, 2, 3, 5)
    mom = jo.onecycle_momentum_schedule(10)
    cosine = optax.cosine_decay_schedule(1e-2, 10)
    opt = jo.scheduled(optax.adamw, learning_rate=wsd, b1=mom, weight_decay=cosine, b2=0.99)
    params = {"w": jnp.ones(3)}
    state = opt.init(params)
    for k in range(6):
        _, state = opt.update({"w": jnp.ones(3)}, state, params)
        hp = jo.hyperparams(state)
        np.testing.assert_allclose(hp["learning_rate"], wsd(k), rtol=1e-6)
        np.testing.assert_allclose(hp["b1"], mom(k), rtol=1e-6)
        np.testing.assert_allclose(hp["weight_decay"], cosine(k), rtol=1e-6)
        assert float(hp["b2"]) == pytest.approx(0.99)
    assert int(state.count) == 6


def test_scheduled_sgd_equals_plain_optax_sgd_in_float32():
    sched = jo.onecycle_schedule(0.5, 20)
    ours, ref = jo.scheduled(optax.sgd, learning_rate=sched, momentum=0.9), optax.sgd(sched, 0.9)
    key = jax.random.PRNGKey(0)
    p = q = {"w": jax.random.normal(key, (5,))}
    s, r = ours.init(p), ref.init(q)
    for k in range(20):
        g = {"w": jnp.sin(p["w"] * (k + 1))}
        u, s = ours.update(g, s, p)
        v, r = ref.update({"w": jnp.sin(q["w"] * (k + 1))}, r, q)
        p, q = optax.apply_updates(p, u), optax.apply_updates(q, v)
    np.testing.assert_allclose(p["w"], q["w"], rtol=1e-5, atol=1e-6)


def test_a_number_written_into_the_state_takes_effect_without_recompiling():
    opt = jo.scheduled(optax.sgd, learning_rate=0.1)
    params = {"w": jnp.zeros(2)}
    state = opt.init(params)
    traces = []

    @jax.jit
    def step(state):
        traces.append(1)
        return opt.update({"w": jnp.ones(2)}, state, params)

    u1, state = step(state)
    state = state._replace(hyperparams={"learning_rate": jnp.float32(0.5)})
    u2, _ = step(state)
    np.testing.assert_allclose(u1["w"], -0.1)
    np.testing.assert_allclose(u2["w"], -0.5)
    assert len(traces) == 1


def test_extra_args_reach_the_factory_chain():
    opt = optax.chain(
        jo.scheduled(optax.sgd, learning_rate=1.0), jo.reduce_lr_on_plateau(patience=0, factor=0.5)
    )
    params = {"w": jnp.zeros(2)}
    state = opt.init(params)
    for metric in (1.0, 2.0, 3.0):
        updates, state = opt.update({"w": jnp.ones(2)}, state, params, value=metric)
    np.testing.assert_allclose(updates["w"], -0.5)


def test_static_arguments_and_masks_pass_through_unchanged():
    mask = lambda p: jax.tree.map(lambda x: x.ndim > 0, p)  # noqa: E731
    opt = jo.scheduled(optax.adamw, learning_rate=0.1, weight_decay=0.5, mask=mask)
    params = {"w": jnp.ones(2), "b": jnp.ones(())}
    state = opt.init(params)
    assert set(jo.hyperparams(state)) == {"learning_rate", "weight_decay"}  # only those given
    updates, _ = opt.update(jax.tree.map(jnp.zeros_like, params), state, params)
    np.testing.assert_allclose(updates["w"], -0.1 * 0.5 * np.ones(2), rtol=1e-6)
    assert float(updates["b"]) == 0.0  # masked out of the weight decay


def test_bad_factories_names_and_values_are_refused_by_name():
    with pytest.raises(TypeError, match=r"scheduled: `factory` must be an optax optimizer"):
        jo.scheduled("sgd", learning_rate=0.1)
    with pytest.raises(ValueError, match=r"scheduled: `lr` is not an argument of sgd"):
        jo.scheduled(optax.sgd, lr=0.1)
    with pytest.raises(ValueError, match=r"scheduled: `learning_rate` must be finite in float32"):
        jo.scheduled(optax.sgd, learning_rate=1e39)
    with pytest.raises(ValueError, match=r"scheduled: `momentum` must be finite in float32"):
        jo.scheduled(optax.sgd, learning_rate=0.1, momentum=float("nan"))
