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
        return jo.onecycle_sgd(sched["max_lr"], steps, convention="torch",
                               anneal_strategy=sched.get("anneal_strategy", "cos"),
                               three_phase=sched.get("three_phase", False),
                               nesterov=opt.get("nesterov", False),
                               weight_decay=opt.get("weight_decay", 0.0))
    return jo.onecycle_adamw(sched["max_lr"], steps, convention="torch",
                             weight_decay=opt["weight_decay"])


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
    for opt, names in ((jo.onecycle_sgd(0.1, 10, weight_decay=wd), ("weight_decay",)),
                       (jo.onecycle_adamw(1e-3, 10, weight_decay=wd, b2=b2),
                        ("weight_decay", "b2"))):
        state = opt.init(params)
        for k in range(4):
            _, state = opt.update({"w": jnp.ones(3)}, state, params)
            hp = jo.hyperparams(state)
            for name in names:
                np.testing.assert_allclose(hp[name], {"weight_decay": wd, "b2": b2}[name](k),
                                           rtol=1e-6)


def test_zero_weight_decay_adds_no_work_to_the_sgd_update():
    assert "weight_decay" not in jo.hyperparams(jo.onecycle_sgd(0.1, 10).init({"w": jnp.ones(2)}))
