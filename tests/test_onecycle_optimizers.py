"""onecycle_sgd / onecycle_adamw: PyTorch trajectories, injected hyperparameters, one compile."""

import json
import pathlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jax_onecycle as jo

TRAINING = json.loads((pathlib.Path(__file__).parent / "golden" / "training.json").read_text())


def _loss(params, x, y):
    w1, w2 = params
    return jnp.mean((jnp.tanh(x @ w1) @ w2 - y) ** 2)


def _optimizer(case):
    sched, opt = case["scheduler"], case["optimizer"]
    steps = TRAINING["steps"]
    if case["algorithm"] == "sgd":
        return jo.onecycle_sgd(
            sched["max_lr"],
            steps,
            convention="torch",
            anneal_strategy=sched.get("anneal_strategy", "cos"),
            three_phase=sched.get("three_phase", False),
            nesterov=opt.get("nesterov", False),
            weight_decay=opt.get("weight_decay", 0.0),
        )
    return jo.onecycle_adamw(
        sched["max_lr"], steps, convention="torch", weight_decay=opt["weight_decay"]
    )


@pytest.mark.parametrize("case", TRAINING["cases"], ids=[c["id"] for c in TRAINING["cases"]])
def test_trajectory_matches_pytorch_sgd_and_adamw_with_onecycle(case):
    # PyTorch ran in float64, and so do we here: the comparison is of the maths, not of
    # float32 rounding, which a 50-step trajectory at a high learning rate amplifies.
    with jax.enable_x64(True):
        trajectory = _train(case)
    for k in (0, 9, 24, 49):
        for ours, torch_w in zip(trajectory, case["weights"][k]):
            np.testing.assert_allclose(ours[k], torch_w, atol=1e-5, rtol=1e-5)


def _train(case):
    data = TRAINING["data"]
    params = (jnp.asarray(data["w1"]), jnp.asarray(data["w2"]))
    xs, ys = jnp.asarray(data["x"]), jnp.asarray(data["y"])
    opt = _optimizer(case)

    @jax.jit
    def train(params):
        def body(carry, batch):
            params, state = carry
            grads = jax.grad(_loss)(params, *batch)
            updates, state = opt.update(grads, state, params)
            params = optax.apply_updates(params, updates)
            return (params, state), params

        return jax.lax.scan(body, (params, opt.init(params)), (xs, ys))[1]

    assert params[0].dtype == jnp.float64
    return train(params)


def test_hyperparams_are_readable_and_the_momentum_really_cycles():
    total = 100
    opt = jo.onecycle_sgd(0.1, total, convention="torch")
    lr = jo.onecycle_schedule(0.1, total, convention="torch")
    mom = jo.onecycle_momentum_schedule(total, convention="torch")
    params = {"w": jnp.ones(4)}
    state = opt.init(params)
    update = jax.jit(opt.update)
    seen = {}
    for k in range(total):
        _, state = update({"w": jnp.ones(4)}, state, params)
        seen[k] = (float(state.hyperparams["learning_rate"]), float(state.hyperparams["momentum"]))
    for k in (0, 29, 60, 99):
        np.testing.assert_allclose(seen[k], (lr(k), mom(k)), rtol=1e-6)
    assert seen[0][1] == pytest.approx(0.95) and seen[29][1] == pytest.approx(0.85)


def test_momentum_buffer_uses_the_cycled_coefficient():
    # Two steps with constant gradient g: buf_1 = g, buf_2 = m_1 * g + g.
    opt = jo.onecycle_sgd(1.0, 10, convention="torch", div_factor=1.0, final_div_factor=1.0)
    params = {"w": jnp.zeros(())}
    state = opt.init(params)
    _, state = opt.update({"w": jnp.ones(())}, state, params)
    updates, state = opt.update({"w": jnp.ones(())}, state, params)
    m1 = jo.onecycle_momentum_schedule(10, convention="torch")(1)
    np.testing.assert_allclose(updates["w"], -(m1 + 1.0), rtol=1e-6)


def test_compiles_once_over_a_hundred_steps():
    opt = jo.onecycle_sgd(0.1, 100)
    params = {"w": jnp.ones(8)}

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(params, state):
        updates, state = opt.update({"w": params["w"]}, state, params)
        return optax.apply_updates(params, updates), state

    state = opt.init(params)
    for _ in range(100):
        params, state = step(params, state)
    assert int(state.count) == 100


def test_cycle_momentum_false_keeps_max_momentum():
    opt = jo.onecycle_sgd(0.1, 10, cycle_momentum=False, max_momentum=0.9)
    state = opt.init({"w": jnp.ones(2)})
    _, state = opt.update({"w": jnp.ones(2)}, state)
    assert float(state.hyperparams["momentum"]) == pytest.approx(0.9)


def test_adamw_cycles_b1_like_pytorch_betas():
    opt = jo.onecycle_adamw(1e-3, 20, convention="torch")
    state = opt.init({"w": jnp.ones(2)})
    b1 = []
    for _ in range(20):
        _, state = opt.update({"w": jnp.ones(2)}, state, {"w": jnp.ones(2)})
        b1.append(float(state.hyperparams["b1"]))
    expected = jo.onecycle_momentum_schedule(20, convention="torch")(jnp.arange(20))
    np.testing.assert_allclose(b1, expected, rtol=1e-6)


def test_grad_clip_norm_bounds_the_first_step():
    opt = jo.onecycle_sgd(1.0, 10, div_factor=1.0, grad_clip_norm=1.0)
    state = opt.init({"w": jnp.zeros(4)})
    updates, _ = opt.update({"w": jnp.full(4, 100.0)}, state, {"w": jnp.zeros(4)})
    np.testing.assert_allclose(jnp.linalg.norm(updates["w"]), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: jo.onecycle_sgd(0.1, 10, base_momentum=1.5), ValueError, r"`base_momentum`"),
        (lambda: jo.onecycle_sgd(0.1, 10, weight_decay=-1.0), ValueError, r"`weight_decay`"),
        (lambda: jo.onecycle_sgd(0.1, 10, nesterov="yes"), TypeError, r"`nesterov`"),
        (lambda: jo.onecycle_sgd(0.1, 10, cycle_momentum=None), TypeError, r"`cycle_momentum`"),
        (lambda: jo.onecycle_sgd(0.1, 10, grad_clip_norm=0.0), ValueError, r"`grad_clip_norm`"),
        (lambda: jo.onecycle_sgd(0.1), ValueError, r"`total_steps`"),
        (lambda: jo.onecycle_adamw(0.1, 10, b2=1.0), ValueError, r"`b2`.*1.0"),
        (lambda: jo.onecycle_adamw(0.1, 10, eps=0.0), ValueError, r"`eps`"),
        (lambda: jo.onecycle_adamw(-0.1, 10), ValueError, r"`max_lr`"),
    ],
)
def test_bad_optimizer_argument_is_refused(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_weight_decay_and_b2_may_be_schedules_read_back_per_update():
    wd = optax.linear_schedule(1e-2, 0.0, 10)
    b2 = optax.linear_schedule(0.99, 0.999, 10)
    params = {"w": jnp.ones(3)}
    for opt, names in (
        (jo.onecycle_sgd(0.1, 10, weight_decay=wd), ("weight_decay",)),
        (jo.onecycle_adamw(1e-3, 10, weight_decay=wd, b2=b2), ("weight_decay", "b2")),
    ):
        state = opt.init(params)
        for k in range(4):
            _, state = opt.update({"w": jnp.ones(3)}, state, params)
            hp = jo.hyperparams(state)
            for name in names:
                np.testing.assert_allclose(
                    hp[name], {"weight_decay": wd, "b2": b2}[name](k), rtol=1e-6
                )


def test_zero_weight_decay_adds_no_work_to_the_sgd_update():
    # Without decay the update never reads the params (None is fine); with it, it must.
    grads, params = {"w": jnp.ones(2)}, {"w": jnp.ones(2)}
    opt = jo.onecycle_sgd(0.1, 10)
    opt.update(grads, opt.init(params), None)
    decayed = jo.onecycle_sgd(0.1, 10, weight_decay=1e-3)
    with pytest.raises(ValueError, match="params"):
        decayed.update(grads, decayed.init(params), None)
    n_eqns = {
        wd: len(jax.make_jaxpr(o.update)(grads, o.init(params), params).jaxpr.eqns)
        for wd, o in ((0.0, opt), (1e-3, decayed))
    }
    assert n_eqns[0.0] < n_eqns[1e-3]


# ---- the momentum rule, the weight-decay mask (issue 19, items 5, 7, 8) -------------------


def _fit(opt, params, steps=25):
    """``steps`` updates of ``opt`` on a fixed quadratic, compiled; the final params."""

    @jax.jit
    def step(params, state):
        grads = jax.tree.map(lambda w: 2.0 * w - 0.3, params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    state = opt.init(params)
    for _ in range(steps):
        params, state = step(params, state)
    return params


PARAMS = {"w": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.linspace(0.5, 1.0, 3)}
NO_DECAY_ON_BIAS = {"w": True, "b": False}


def test_a_fixed_momentum_below_base_momentum_is_used_when_not_cycling():
    for opt, key in (
        (jo.onecycle_sgd(0.1, 100, cycle_momentum=False, max_momentum=0.8), "momentum"),
        (jo.onecycle_adamw(0.1, 100, cycle_momentum=False, max_momentum=0.8), "b1"),
    ):
        assert jo.hyperparams(opt.init(PARAMS))[key] == np.float32(0.8)
    sched = jo.OneCycleLR(0.1, 100, cycle_momentum=False, max_momentum=0.8)
    assert sched.current_momentum() is None  # not cycling: SGD keeps its own momentum


@pytest.mark.parametrize("fn", [jo.onecycle_sgd, jo.onecycle_adamw, jo.OneCycleLR])
def test_base_above_max_momentum_is_still_refused_when_cycling(fn):
    with pytest.raises(ValueError, match=r"`base_momentum` must be <= `max_momentum`"):
        fn(0.1, 100, cycle_momentum=True, max_momentum=0.8)


def test_max_momentum_none_is_0_95_cycled_and_0_9_fixed():
    cycled = jo.hyperparams(jo.onecycle_sgd(0.1, 100).init(PARAMS))
    fixed = jo.hyperparams(jo.onecycle_sgd(0.1, 100, cycle_momentum=False).init(PARAMS))
    adam = jo.hyperparams(jo.onecycle_adamw(0.1, 100, cycle_momentum=False).init(PARAMS))
    assert (cycled["momentum"], fixed["momentum"], adam["b1"]) == (
        np.float32(0.95),
        np.float32(0.9),
        np.float32(0.9),
    )
    assert jo.onecycle_momentum_schedule(100)(0) == np.float32(0.95)


def test_onecycle_adamw_without_cycling_trains_as_optax_adamw():
    lr = jo.onecycle_schedule(1e-2, 100)
    ours = _fit(jo.onecycle_adamw(1e-2, 100, cycle_momentum=False), PARAMS)
    # optax's b1 (0.9), injected as a float32 array as here: the same arithmetic, bitwise
    injected = optax.inject_hyperparams(optax.adamw)(learning_rate=lr, weight_decay=1e-2)
    chex.assert_trees_all_equal(ours, _fit(injected, PARAMS))
    # optax with Python floats rounds 1 - b1 differently (0.1 vs 1 - float32(0.9)): close
    chex.assert_trees_all_close(ours, _fit(optax.adamw(lr, weight_decay=1e-2), PARAMS), rtol=1e-5)


def test_onecycle_sgd_without_cycling_trains_as_optax_sgd_with_momentum_0_9():
    lr = jo.onecycle_schedule(0.1, 100)
    ours = _fit(jo.onecycle_sgd(0.1, 100, cycle_momentum=False), PARAMS)
    plain = _fit(optax.sgd(lr, momentum=0.9), PARAMS)
    chex.assert_trees_all_equal(ours, plain)


@pytest.mark.parametrize("mask", [NO_DECAY_ON_BIAS, lambda p: {"w": True, "b": False}])
def test_weight_decay_mask_equals_optax_with_the_same_mask(mask):
    lr = jo.onecycle_schedule(0.1, 100)
    ours = _fit(jo.onecycle_adamw(0.1, 100, cycle_momentum=False, mask=mask), PARAMS)
    adamw = optax.inject_hyperparams(optax.adamw, static_args=("mask",))
    plain = _fit(adamw(learning_rate=lr, weight_decay=1e-2, mask=mask), PARAMS)
    chex.assert_trees_all_equal(ours, plain)
    sgd = jo.onecycle_sgd(0.1, 100, cycle_momentum=False, weight_decay=0.05, mask=mask)
    plain_sgd = optax.chain(optax.add_decayed_weights(0.05, mask), optax.sgd(lr, momentum=0.9))
    chex.assert_trees_all_equal(_fit(sgd, PARAMS), _fit(plain_sgd, PARAMS))
    # the mask matters: without it the biases decay too
    unmasked = _fit(jo.onecycle_adamw(0.1, 100, cycle_momentum=False), PARAMS)
    assert not np.array_equal(unmasked["b"], ours["b"])
    np.testing.assert_array_equal(unmasked["w"], ours["w"])


@pytest.mark.parametrize("fn", [jo.onecycle_sgd, jo.onecycle_adamw])
@pytest.mark.parametrize("mask", ["w", 1.0, {"w": 1, "b": 0}, {}])
def test_a_mask_that_is_not_bools_or_a_callable_is_refused(fn, mask):
    with pytest.raises(TypeError, match=rf"^{fn.__name__}: `mask` must be None, a pytree"):
        fn(0.1, 100, weight_decay=0.01, mask=mask)


@pytest.mark.parametrize(
    "make, called",
    [
        (lambda wd: jo.onecycle_sgd(0.1, 10, weight_decay=wd), "onecycle_sgd"),
        (lambda wd: jo.onecycle_adamw(0.1, 10, weight_decay=wd), "onecycle_adamw"),
        (lambda wd: jo.onecycle_adamw(0.1, 10, b2=wd), "onecycle_adamw"),
        (lambda wd: jo.SGD(0.1, weight_decay=wd), "SGD"),
        (lambda wd: jo.SGD(0.1, momentum=wd), "SGD"),
        (lambda wd: jo.AdamW(0.1, weight_decay=wd), "AdamW"),
    ],
)
def test_a_plateau_facade_as_a_hyperparameter_schedule_is_refused_by_the_name_called(make, called):
    # its rate follows metrics, not the count: as a schedule it would freeze under jit
    with pytest.raises(TypeError, match=rf"^{called}: `\w+` cannot be ReduceLROnPlateau"):
        make(jo.ReduceLROnPlateau(0.1))
