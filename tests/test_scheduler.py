"""The OneCycleLR facade: braintools' surface over the pure schedule."""

import pickle

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jax_onecycle as jo


def test_get_lr_follows_the_pure_schedule_step_by_step():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=20, convention="torch")
    pure = jo.onecycle_schedule(0.1, 20, convention="torch")
    for k in range(25):
        assert sched.last_epoch == k
        assert sched.get_lr() == pytest.approx([float(pure(k))], rel=1e-6)
        assert sched.get_last_lr() == sched.get_lr()
        sched.step()


def test_get_lr_equals_braintools_onecycle():
    braintools = pytest.importorskip("braintools")
    ours = jo.OneCycleLR(max_lr=[0.1, 0.3], total_steps=17, pct_start=0.25,
                         anneal_strategy="linear")
    ref = braintools.optim.OneCycleLR(max_lr=[0.1, 0.3], total_steps=17, pct_start=0.25,
                                      anneal_strategy="linear")
    for _ in range(20):
        np.testing.assert_allclose(ours.get_lr(), [float(v) for v in ref.get_lr()],
                                   rtol=1e-5)
        ours.step()
        ref.step()


def test_call_is_the_curve_at_count_whatever_step_did():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=10)
    for _ in range(7):
        sched.step()
    pure = jo.onecycle_schedule(0.1, 10)
    np.testing.assert_allclose(jax.jit(sched)(jnp.arange(12)), pure(jnp.arange(12)),
                               rtol=1e-6)
    # so it also serves as an optax schedule
    tx = optax.sgd(learning_rate=sched)
    updates, _ = tx.update({"w": jnp.ones(1)}, tx.init({"w": jnp.ones(1)}))
    np.testing.assert_allclose(updates["w"], -pure(0), rtol=1e-6)


def test_step_with_an_epoch_jumps_and_state_dict_round_trips_through_pickle():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=100, last_epoch=5)
    assert sched.last_epoch == 5
    sched.step(40)
    blob = pickle.dumps(sched.state_dict())
    fresh = jo.OneCycleLR(max_lr=0.1, total_steps=100)
    fresh.load_state_dict(pickle.loads(blob))
    assert fresh.last_epoch == 40 and fresh.get_lr() == sched.get_lr()
    assert isinstance(fresh._epoch.value, jax.Array) and fresh._epoch.value.dtype == jnp.int32


def test_step_inside_jit_advances_the_counter_without_recompiling():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=10)
    traces = []

    @brainstate.transform.jit
    def f():
        traces.append(1)
        sched.step()
        return sched.get_lr()[0]

    values = [float(f()) for _ in range(5)]
    assert len(traces) == 1 and sched.last_epoch == 5
    np.testing.assert_allclose(values, jo.onecycle_schedule(0.1, 10)(jnp.arange(1, 6)),
                               rtol=1e-6)


def test_cycle_momentum_exposes_the_opposite_schedule():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=10, cycle_momentum=True, convention="torch")
    opt = jo.SGD(lr=sched, momentum=0.5)  # momentum= is overridden, as in PyTorch
    assert opt.current_momentum == pytest.approx(0.95)
    sched.step(2)
    assert opt.current_momentum == pytest.approx(0.85)


def test_public_classes_present_the_public_module():
    assert jo.OneCycleLR.__module__ == "jax_onecycle"
    assert jo.SGD.__module__ == "jax_onecycle"
    assert set(jo.__all__) >= {"OneCycleLR", "SGD", "onecycle_sgd", "onecycle_adamw"}
