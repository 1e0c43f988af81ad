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
    for static_args in ((), ("mask",), "mask"):  # `mask` is static even when not named
        opt = jo.scheduled(
            optax.adamw, learning_rate=0.1, weight_decay=0.5, mask=mask, static_args=static_args
        )
        params = {"w": jnp.ones(2), "b": jnp.ones(())}
        state = opt.init(params)
        assert set(jo.hyperparams(state)) == {"learning_rate", "weight_decay"}  # only those given
        updates, _ = opt.update(jax.tree.map(jnp.zeros_like, params), state, params)
        np.testing.assert_allclose(updates["w"], -0.1 * 0.5 * np.ones(2), rtol=1e-6)
        assert float(updates["b"]) == 0.0  # masked out of the weight decay


def test_integer_arguments_reach_the_factory_unchanged_and_are_not_hyperparameters():
    # issue 19 item 6: lbfgs' memory_size=5 was injected as Array(5., float32) and init failed
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    ours = jo.scheduled(optax.lbfgs, learning_rate=0.5, memory_size=5)
    ref = optax.lbfgs(learning_rate=0.5, memory_size=5)
    state, ref_state = ours.init(params), ref.init(params)
    assert state.inner_state[0].diff_params_memory["w"].shape == (5, 3)
    assert set(jo.hyperparams(state)) == {"learning_rate"}
    value_fn = lambda p: jnp.sum(p["w"] ** 2)  # noqa: E731
    p = q = params
    for _ in range(3):
        g = jax.grad(value_fn)(p)
        u, state = ours.update(g, state, p, value=value_fn(p), grad=g, value_fn=value_fn)
        h = jax.grad(value_fn)(q)
        v, ref_state = ref.update(h, ref_state, q, value=value_fn(q), grad=h, value_fn=value_fn)
        p, q = optax.apply_updates(p, u), optax.apply_updates(q, v)
    np.testing.assert_array_equal(p["w"], q["w"])


def test_an_integer_or_bool_is_passed_as_the_python_value_the_user_gave():
    seen = {}

    def factory(learning_rate, every, flag, how="x"):
        seen.update(learning_rate=learning_rate, every=every, flag=flag, how=how)
        return optax.sgd(learning_rate)

    opt = jo.scheduled(factory, learning_rate=0.1, every=3, flag=True, how="y")
    state = opt.init({"w": jnp.ones(2)})
    assert type(seen["every"]) is int and seen["every"] == 3
    assert seen["flag"] is True and seen["how"] == "y"
    assert isinstance(seen["learning_rate"], jax.Array)
    assert seen["learning_rate"].dtype == jnp.float32
    assert set(jo.hyperparams(state)) == {"learning_rate"}
    with jax.enable_x64(True):  # numpy ints too, under x64 as well
        opt = jo.scheduled(factory, learning_rate=np.float64(0.1), every=np.int64(4), flag=False)
        state = opt.init({"w": jnp.ones(2)})
        assert seen["every"] == 4 and isinstance(seen["every"], np.int64)
        assert seen["learning_rate"].dtype == jnp.float32
        assert state.hyperparams["learning_rate"].dtype == jnp.float32


def test_a_float_named_in_static_args_stays_a_python_float_and_is_not_reported():
    seen = {}

    def factory(learning_rate, momentum):
        seen.update(momentum=momentum)
        return optax.sgd(learning_rate, momentum)

    opt = jo.scheduled(factory, learning_rate=0.1, momentum=0.9, static_args=("momentum",))
    state = opt.init({"w": jnp.ones(2)})
    assert type(seen["momentum"]) is float and seen["momentum"] == 0.9
    assert set(jo.hyperparams(state)) == {"learning_rate"}


def test_a_callable_that_is_not_a_schedule_is_refused_with_the_static_args_hint():
    not_a_schedule = lambda params: jax.tree.map(lambda x: x.ndim > 1, params)  # noqa: E731
    opt = jo.scheduled(optax.contrib.cocob, learning_rate=1.0, weight_decay=not_a_schedule)
    with pytest.raises(TypeError, match=r"scheduled: `weight_decay` is callable.*static_args"):
        opt.init({"w": jnp.ones(2)})
    returns_a_tree = lambda count: {"a": count}  # noqa: E731
    opt = jo.scheduled(optax.sgd, learning_rate=returns_a_tree)
    with pytest.raises(TypeError, match=r"`learning_rate` is callable.*not a number"):
        opt.init({"w": jnp.ones(2)})


def test_static_args_names_must_be_given_keywords_of_the_factory():
    with pytest.raises(ValueError, match=r"scheduled: `static_args` names `mask`, which is not"):
        jo.scheduled(optax.adamw, learning_rate=0.1, static_args=("mask",))
    with pytest.raises(ValueError, match=r"scheduled: `msk` is not an argument of adamw"):
        jo.scheduled(optax.adamw, learning_rate=0.1, msk=None, static_args=("msk",))
    with pytest.raises(TypeError, match=r"scheduled: `static_args` must be names"):
        jo.scheduled(optax.adamw, learning_rate=0.1, static_args=(1,))
    with pytest.raises(TypeError, match=r"scheduled: `static_args` must be a name or"):
        jo.scheduled(optax.adamw, learning_rate=0.1, static_args=3)


def test_a_facade_used_as_a_schedule_under_jit_gives_its_eager_values():
    counts = [0, 1, 5, 17, 30, 49, 60]
    for facade in (
        jo.OneCycleLR(0.1, total_steps=50),
        jo.StepLR(0.1, step_size=7, gamma=0.5),
    ):
        jitted = jax.jit(lambda c, f=facade: f(c))
        eager = [float(facade(c)) for c in counts]
        # equal to float32 rounding (XLA may fuse the jitted formula differently)
        np.testing.assert_allclose([jitted(jnp.int32(c)) for c in counts], eager, rtol=1e-6)
        assert len(set(eager)) > 2  # the counts really walk the curve
        # and through scheduled, inside one jitted update per step
        opt = jo.scheduled(optax.sgd, learning_rate=facade)
        params = {"w": jnp.zeros(())}
        state = opt.init(params)
        step = jax.jit(lambda s: opt.update({"w": jnp.ones(())}, s, params))
        for k in range(max(counts) + 1):
            updates, state = step(state)
            if k in counts:
                assert float(-updates["w"]) == pytest.approx(eager[counts.index(k)], rel=1e-6)


def test_reduce_lr_on_plateau_is_refused_as_a_schedule():
    # its rate follows the metrics it is given, not the step: jit would freeze it
    plateau = jo.ReduceLROnPlateau(0.1, patience=0)
    with pytest.raises(TypeError, match=r"scheduled: `learning_rate` cannot be ReduceLROnPlateau"):
        jo.scheduled(optax.sgd, learning_rate=plateau)
    with pytest.raises(TypeError, match=r"reduce_lr_on_plateau"):
        jo.scheduled(optax.sgd, learning_rate=plateau)


def test_bad_factories_names_and_values_are_refused_by_name():
    with pytest.raises(TypeError, match=r"scheduled: `factory` must be an optax optimizer"):
        jo.scheduled("sgd", learning_rate=0.1)
    with pytest.raises(ValueError, match=r"scheduled: `lr` is not an argument of sgd"):
        jo.scheduled(optax.sgd, lr=0.1)
    with pytest.raises(ValueError, match=r"scheduled: `learning_rate` must be finite in float32"):
        jo.scheduled(optax.sgd, learning_rate=1e39)
    with pytest.raises(ValueError, match=r"scheduled: `momentum` must be finite in float32"):
        jo.scheduled(optax.sgd, learning_rate=0.1, momentum=float("nan"))


def test_a_facade_over_a_host_side_rule_is_refused_when_scheduled_is_built():
    # LambdaLR over plain Python (math, if) cannot be traced: refused up front, by name
    import math

    host_rule = jo.LambdaLR(0.1, lambda epoch: 0.5 if epoch > 3 else math.cos(epoch))
    with pytest.raises(TypeError, match=r"scheduled: `learning_rate` cannot be LambdaLR"):
        jo.scheduled(optax.sgd, learning_rate=host_rule)
