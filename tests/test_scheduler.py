"""The OneCycleLR facade: braintools' surface over the pure schedule."""

import pickle

import brainstate
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import reference

import jax_onecycle as jo


def test_get_lr_follows_the_pure_schedule_step_by_step():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=20, convention="torch")
    pure = jo.onecycle_schedule(0.1, 20, convention="torch")
    for k in range(25):
        assert sched.last_epoch == k
        assert sched.get_lr() == pytest.approx([float(pure(k))], rel=1e-6)
        assert sched.get_last_lr() == sched.get_lr()
        sched.step()


@pytest.mark.live
def test_get_lr_equals_braintools_onecycle():
    braintools = reference("braintools")
    ours = jo.OneCycleLR(
        max_lr=[0.1, 0.3], total_steps=17, pct_start=0.25, anneal_strategy="linear"
    )
    ref = braintools.optim.OneCycleLR(
        max_lr=[0.1, 0.3], total_steps=17, pct_start=0.25, anneal_strategy="linear"
    )
    for _ in range(20):
        np.testing.assert_allclose(ours.get_lr(), [float(v) for v in ref.get_lr()], rtol=1e-5)
        ours.step()
        ref.step()


def test_call_is_the_curve_at_count_whatever_step_did():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=10)
    for _ in range(7):
        sched.step()
    pure = jo.onecycle_schedule(0.1, 10)
    np.testing.assert_allclose(jax.jit(sched)(jnp.arange(12)), pure(jnp.arange(12)), rtol=1e-6)
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
    assert fresh._epoch.dtype == np.int32  # same dtype as made: nothing recompiles


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
    np.testing.assert_allclose(values, jo.onecycle_schedule(0.1, 10)(jnp.arange(1, 6)), rtol=1e-6)


@pytest.mark.parametrize("cycle_momentum", [False, True])
def test_a_compiled_update_reads_one_state_of_the_scheduler(cycle_momentum):
    """Every State a compiled call reads costs brainstate a lookup per call (issue 20's
    benchmark): the counter, ``lr_apply``'s scale and the horizon record are one State."""
    sched = jo.OneCycleLR(max_lr=[0.1, 0.2], total_steps=10, cycle_momentum=cycle_momentum)
    sched.change_horizon(20)
    sched.lr_apply(lambda r: r / 2)

    def rates():
        return sched.group_lr(0), sched.group_lr(1), sched.current_momentum()

    read = brainstate.transform.StatefulFunction(rates).get_read_states()
    assert len(read) == 1


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


# ---- the family's facades ------------------------------------------------------------

FAMILY = {
    "StepLR": dict(step_size=3, gamma=0.5),
    "MultiStepLR": dict(milestones=[2, 5, 5, 9], gamma=0.3),
    "CosineAnnealingLR": dict(T_max=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts": dict(T_0=3, T_mult=2, eta_min=0.001),
}


@pytest.mark.live
@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_facade_follows_braintools_step_by_step(name):
    braintools = reference("braintools")
    ours = getattr(jo, name)(base_lr=[0.1, 0.5], **FAMILY[name])
    ref = getattr(braintools.optim, name)(base_lr=[0.1, 0.5], **FAMILY[name])
    for _ in range(25):  # well past T_max: braintools holds eta_min, so do we
        np.testing.assert_allclose(
            ours.get_lr(), [float(v) for v in ref.get_lr()], rtol=1e-5, atol=1e-8
        )
        ours.step()
        ref.step()


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_facade_drives_sgd_and_resumes(name):
    sched = getattr(jo, name)(base_lr=0.1, **FAMILY[name])
    opt = jo.SGD(lr=sched)
    state = brainstate.ParamState(jnp.zeros(2))
    opt.register_trainable_weights({"w": state})
    for _ in range(4):
        sched.step()
    expected = state.value - sched.get_last_lr()[0]
    opt.update({"w": jnp.ones(2)})
    np.testing.assert_allclose(state.value, expected, rtol=1e-6)
    fresh = getattr(jo, name)(base_lr=0.1, **FAMILY[name])
    fresh.load_state_dict(pickle.loads(pickle.dumps(sched.state_dict())))
    assert fresh.last_epoch == 4 and fresh.get_lr() == sched.get_lr()
    np.testing.assert_allclose(sched(jnp.arange(30)), fresh(jnp.arange(30)))


def _plateau_cases():
    import json
    import pathlib

    path = pathlib.Path(__file__).parent / "golden" / "plateau.json"
    return json.loads(path.read_text())["plateau_cases"]


@pytest.mark.parametrize("case", _plateau_cases(), ids=lambda c: c["id"])
def test_reduce_on_plateau_facade_equals_pytorch(case):
    sched = jo.ReduceLROnPlateau(**case["kwargs"])
    lrs = []
    for metric in case["metrics"]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs, case["values"], rtol=1e-5, atol=1e-12)


def test_reduce_on_plateau_resume_continues_identically():
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98, 0.97, 1.2, 1.1, 1.0, 0.99, 0.98]
    whole = jo.ReduceLROnPlateau(0.1, patience=1, cooldown=1)
    for m in metrics:
        whole.step(m)
    first = jo.ReduceLROnPlateau(0.1, patience=1, cooldown=1)
    for m in metrics[:5]:
        first.step(m)
    second = jo.ReduceLROnPlateau(0.1, patience=1, cooldown=1)
    second.load_state_dict(pickle.loads(pickle.dumps(first.state_dict())))
    for m in metrics[5:]:
        second.step(m)
    assert second.state_dict().keys() == whole.state_dict().keys()
    for key, value in whole.state_dict().items():
        np.testing.assert_array_equal(second.state_dict()[key], value)
    assert second.last_epoch == len(metrics)


def test_reduce_on_plateau_drops_the_rate_inside_one_compiled_step():
    sched = jo.ReduceLROnPlateau(0.1, patience=0, factor=0.5)
    opt = jo.SGD(lr=sched)
    weight = brainstate.ParamState(jnp.ones(3))
    opt.register_trainable_weights({"w": weight})
    traces = []

    @brainstate.transform.jit
    def epoch(metric):
        traces.append(1)
        opt.update({"w": jnp.ones(3)})
        sched.step(metric)

    for _ in range(4):
        epoch(jnp.float32(1.0))  # a plateau: every epoch after the first is bad
    assert len(traces) == 1
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * 0.5**3)
    # updates used 0.1, 0.1, 0.05, 0.025
    np.testing.assert_allclose(weight.value, 1.0 - (0.1 + 0.1 + 0.05 + 0.025), rtol=1e-6)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: jo.ReduceLROnPlateau(0.1, mode="lowest"), ValueError, r"`mode`.*'lowest'"),
        (lambda: jo.ReduceLROnPlateau(0.1, factor=1.0), ValueError, r"`factor`.*1.0"),
        (lambda: jo.ReduceLROnPlateau(0.1, patience=-1), ValueError, r"`patience`.*-1"),
        (lambda: jo.ReduceLROnPlateau(0.1, threshold_mode="pct"), ValueError, r"`threshold_mode`"),
        (lambda: jo.ReduceLROnPlateau(-0.1), ValueError, r"`lr`.*-0.1"),
        (lambda: jo.ReduceLROnPlateau([0.1, 0.2], min_lr=[0.0, 0.0, 0.0]), ValueError, r"`min_lr`"),
        (lambda: jo.StepLR(0.1, step_size=0), ValueError, r"`step_size`.*0"),
        (lambda: jo.MultiStepLR(0.1, milestones=[5, 2]), ValueError, r"`milestones`"),
        (lambda: jo.CosineAnnealingLR(0.1, T_max=0), ValueError, r"^CosineAnnealingLR: `T_max`.*0"),
        (lambda: jo.CosineAnnealingWarmRestarts(0.1, T_0=2, T_mult=0), ValueError, r"`T_mult`"),
        (lambda: jo.StepLR(float("nan")), ValueError, r"`base_lr`"),
    ],
)
def test_bad_facade_argument_is_refused(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_stepping_on_the_host_and_inside_jit_mixed_never_recompiles():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=20)
    opt = jo.SGD(lr=sched)
    weight = brainstate.ParamState(jnp.zeros(2))
    opt.register_trainable_weights({"w": weight})
    traces = {"update": 0, "update_and_step": 0}

    @brainstate.transform.jit
    def update():
        traces["update"] += 1
        opt.update({"w": jnp.ones(2)})

    @brainstate.transform.jit
    def update_and_step():
        traces["update_and_step"] += 1
        opt.update({"w": jnp.ones(2)})
        sched.step()

    used = []
    for k in range(8):
        used.append(opt.current_lr)
        if k % 2:
            update_and_step()
        else:
            update()
            sched.step()
    assert traces == {"update": 1, "update_and_step": 1}
    assert sched.last_epoch == 8 and opt.step_count == 8
    pure = jo.onecycle_schedule(0.1, 20)
    np.testing.assert_allclose(used, pure(jnp.arange(8)), rtol=1e-6)
    np.testing.assert_allclose(weight.value, -float(jnp.sum(pure(jnp.arange(8)))), rtol=1e-5)


# ---- reliability: counters, state dicts, pickling, groups, names ------------------------


@pytest.mark.parametrize(
    "bad, exc",
    [("30", TypeError), (-5, ValueError), (2.7, TypeError), (True, TypeError), (2**31, ValueError)],
)
def test_a_bad_step_or_last_epoch_is_refused_by_name(bad, exc):
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=10)
    with pytest.raises(exc, match=r"OneCycleLR.step: `epoch` must be an integer"):
        sched.step(bad)
    with pytest.raises(exc, match=r"OneCycleLR: `last_epoch` must be an integer"):
        sched.last_epoch = bad
    assert sched.last_epoch == 0
    with pytest.raises(TypeError, match=r"OneCycleLR: `last_epoch`"):
        sched.last_epoch = 7.9


def test_the_counter_saturates_at_the_int32_limit_eagerly_and_under_jit():
    top = 2**31 - 1
    for jitted in (False, True):
        sched = jo.OneCycleLR(max_lr=0.1, total_steps=100, last_epoch=top)
        final = sched.get_last_lr()[0]
        (brainstate.transform.jit(sched.step) if jitted else sched.step)()
        assert sched.last_epoch == top
        assert sched.get_last_lr()[0] == final  # never back to the initial rate


def test_load_state_dict_refuses_what_does_not_fit_whole():
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=10, last_epoch=3)
    plateau = jo.ReduceLROnPlateau(0.1)
    for bad in (
        {},
        {"last_epoch": 2, "extra": 1},
        plateau.state_dict(),
        {"last_epoch": -1},
        {"last_epoch": "3"},
        None,
    ):
        with pytest.raises((ValueError, TypeError), match=r"OneCycleLR.load_state_dict"):
            sched.load_state_dict(bad)
        assert sched.last_epoch == 3
    sched.load_state_dict({**sched.state_dict(), "last_epoch": 7})
    assert sched.last_epoch == 7


@pytest.mark.parametrize(
    "make",
    [
        lambda: jo.OneCycleLR(max_lr=[0.1, 0.2], total_steps=10, cycle_momentum=True),
        lambda: jo.StepLR(base_lr=0.1, step_size=2),
        lambda: jo.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=3, T_mult=2),
    ],
    ids=["onecycle", "step", "warm-restarts"],
)
def test_schedulers_pickle_with_their_counter(make):
    sched = make()
    for _ in range(4):
        sched.step()
    clone = pickle.loads(pickle.dumps(sched))
    assert type(clone) is type(sched) and clone.last_epoch == 4
    assert clone.get_last_lr() == sched.get_last_lr()


def test_a_numpy_array_of_max_lrs_gives_one_group_each():
    sched = jo.OneCycleLR(max_lr=np.array([0.1, 0.2]), total_steps=10)
    assert len(sched.get_lr()) == 2
    a, b = brainstate.ParamState(jnp.ones(2)), brainstate.ParamState(jnp.ones(2))
    opt = jo.SGD(lr=sched)
    opt.register_trainable_weights({"a": a})
    opt.add_param_group({"b": b})
    opt.update({"a": jnp.ones(2), "b": jnp.ones(2)})
    np.testing.assert_allclose(1 - b.value, 2 * (1 - a.value), rtol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: jo.CosineAnnealingLR(T_max=0), r"^CosineAnnealingLR: `T_max`"),
        (lambda: jo.StepLR(step_size=0), r"^StepLR: `step_size`"),
        (lambda: jo.StepLR(gamma=2.0), r"^StepLR: `gamma`"),
        (lambda: jo.MultiStepLR(milestones=[3, 1]), r"^MultiStepLR: `milestones`"),
        (lambda: jo.CosineAnnealingWarmRestarts(T_0=0), r"^CosineAnnealingWarmRestarts: `T_0`"),
        (
            lambda: jo.CosineAnnealingWarmRestarts(T_mult=0),
            r"^CosineAnnealingWarmRestarts: `T_mult`",
        ),
        (lambda: jo.OneCycleLR(max_lr=0.1, total_steps=2**31), r"^OneCycleLR: `total_steps`"),
    ],
)
def test_facade_errors_name_the_facade_and_its_own_spelling(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# ---- braintools' names, settings in the state dict, facades as optax schedules -----------

FACADES = {
    "OneCycleLR": lambda: jo.OneCycleLR(max_lr=[0.1, 0.2], total_steps=12),
    "StepLR": lambda: jo.StepLR(base_lr=[0.1, 0.2], step_size=2, gamma=0.5),
    "MultiStepLR": lambda: jo.MultiStepLR(base_lr=[0.1, 0.2], milestones=[2, 5]),
    "CosineAnnealingLR": lambda: jo.CosineAnnealingLR(base_lr=[0.1, 0.2], T_max=6),
    "CosineAnnealingWarmRestarts": lambda: jo.CosineAnnealingWarmRestarts([0.1, 0.2], T_0=3),
    "ExponentialLR": lambda: jo.ExponentialLR(base_lr=[0.1, 0.2], gamma=0.8),
    "PolynomialLR": lambda: jo.PolynomialLR(base_lr=[0.1, 0.2], total_iters=6),
    "LinearLR": lambda: jo.LinearLR(base_lr=[0.1, 0.2], start_factor=0.5, total_iters=4),
    "ConstantLR": lambda: jo.ConstantLR(base_lr=[0.1, 0.2], factor=0.5, total_iters=3),
    "CyclicLR": lambda: jo.CyclicLR(base_lr=[0.1, 0.2], max_lr=1.0, step_size_up=3),
}


@pytest.mark.parametrize("name", sorted(FACADES))
def test_facades_offer_braintools_current_lrs_base_lrs_and_last_epoch(name):
    sched = FACADES[name]()
    assert len(sched.base_lrs) == 2 and all(isinstance(b, float) for b in sched.base_lrs)
    for k in range(5):
        np.testing.assert_allclose(sched.current_lrs.value, sched.get_lr(), rtol=1e-6)
        assert sched.last_epoch == k and sched.last_epoch.value == k  # an int and braintools'
        assert list(range(sched.last_epoch)) == list(range(k)) and sched.last_epoch + 1 == k + 1
        sched.step()
    rates = brainstate.transform.jit(lambda: sched.current_lrs.value)()  # read inside jit
    np.testing.assert_allclose(rates, sched.current_lrs.value, rtol=1e-6)
    with pytest.raises(AttributeError, match=r"a read count cannot be changed"):
        sched.last_epoch.value = 1


def test_base_lrs_are_the_base_lr_given_or_the_first_rate():
    assert jo.ConstantLR(base_lr=0.1, factor=0.5).base_lrs == [0.1]  # not 0.05
    assert jo.OneCycleLR(max_lr=0.1, total_steps=10).base_lrs == [0.004]  # max_lr / div


def test_warm_restarts_expose_t_cur_and_t_i_as_braintools_does():
    sched = jo.CosineAnnealingWarmRestarts(base_lr=1.0, T_0=2, T_mult=2, eta_min=0.1)
    seen = []
    for _ in range(8):
        seen.append((sched.T_cur.value, sched.T_i.value))
        sched.step()
    assert seen == [(0, 2), (1, 2), (0, 4), (1, 4), (2, 4), (3, 4), (0, 8), (1, 8)]


@pytest.mark.parametrize("name", sorted(FACADES))
def test_a_facade_as_an_optax_schedule_is_a_pure_function_of_count_under_jit(name):
    sched, twin = FACADES[name](), FACADES[name]()
    compiled = jax.jit(sched)
    first = [float(compiled(k)) for k in range(8)]
    for _ in range(5):  # stepping must not change what the schedule says at a count
        sched.step()
    sched.lr_apply(lambda lr: lr * 0.5)
    jax.clear_caches()  # trace again: a cached trace would hide a state-dependent __call__
    assert [float(compiled(k)) for k in range(8)] == first
    np.testing.assert_allclose(first, [float(twin(k)) for k in range(8)], rtol=1e-6)


def test_reduce_lr_on_plateau_is_not_a_schedule_and_still_drives_sgd():
    plateau = jo.ReduceLROnPlateau(0.1, patience=0)
    assert jo.ReduceLROnPlateau.is_schedule is False
    with pytest.raises(
        TypeError,
        match=r"not a schedule `count -> value`.*"
        r"jax_onecycle.reduce_lr_on_plateau.*SGD\(lr=ReduceLROnPlateau",
    ):
        plateau(0)
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau is not a schedule"):
        jo.SGD(lr=lambda c: plateau(c))  # a wrapper that calls it is refused as it is called
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau is not a schedule"):
        jax.jit(optax.sgd(learning_rate=plateau).update)(  # as an optax schedule: refused
            {"w": jnp.ones(1)}, optax.sgd(learning_rate=0.1).init({"w": jnp.ones(1)})
        )
    opt = jo.SGD(lr=plateau)
    w = brainstate.ParamState(jnp.ones(1))
    opt.register_trainable_weights({"w": w})
    step = brainstate.transform.jit(lambda: opt.update({"w": jnp.ones(1)}))
    step()
    for metric in (1.0, 2.0):
        plateau.step(metric)
    step()
    np.testing.assert_allclose(w.value, 1 - 0.1 - 0.01, rtol=1e-6)


def test_reduce_lr_on_plateau_takes_braintools_base_lr():
    assert jo.ReduceLROnPlateau(base_lr=0.3).get_last_lr() == [0.3]
    assert jo.ReduceLROnPlateau(base_lr=0.3).state_dict()["settings"]["lr"] == 0.3
    with pytest.raises(TypeError, match=r"give the learning rate once"):
        jo.ReduceLROnPlateau(0.2, base_lr=0.3)


@pytest.mark.parametrize(
    "make, other, setting",
    [
        (
            lambda: jo.StepLR(base_lr=0.1, step_size=2),
            lambda: jo.StepLR(base_lr=0.1, step_size=3),
            r"step_size=2, but this StepLR has step_size=3",
        ),
        (
            lambda: jo.OneCycleLR(0.1, 10),
            lambda: jo.OneCycleLR(0.1, 20),
            r"total_steps=10, but this OneCycleLR has total_steps=20",
        ),
        (
            lambda: jo.CyclicLR(0.1, 1.0, mode="triangular"),
            lambda: jo.CyclicLR(0.1, 1.0, mode="triangular2"),
            r"mode='triangular', but this CyclicLR has mode='triangular2'",
        ),
        (
            lambda: jo.ReduceLROnPlateau(0.1, patience=2),
            lambda: jo.ReduceLROnPlateau(0.1, patience=3),
            r"patience=2, but this ReduceLROnPlateau has patience=3",
        ),
    ],
    ids=["step", "onecycle", "cyclic", "plateau"],
)
def test_a_state_dict_saved_with_other_settings_is_refused_whole(make, other, setting):
    saved = make()
    saved.step(1.0) if isinstance(saved, jo.ReduceLROnPlateau) else saved.step()
    target = other()
    before = target.state_dict()
    with pytest.raises(
        ValueError,
        match=r"load_state_dict: the state dict was saved with "
        + setting
        + r".*Nothing was loaded",
    ):
        target.load_state_dict(saved.state_dict())
    chex.assert_trees_all_equal(target.state_dict(), before)


def test_the_settings_refusal_points_at_change_horizon():
    with pytest.raises(ValueError, match=r"use `change_horizon`"):
        jo.OneCycleLR(0.1, 20).load_state_dict(jo.OneCycleLR(0.1, 10).state_dict())


def test_settings_record_every_argument_in_json_types():
    import json

    sched = jo.MultiStepLR(base_lr=np.float32(0.5), milestones=(2, 4))
    settings = sched.state_dict()["settings"]
    assert settings == {"base_lr": 0.5, "milestones": [2, 4], "gamma": 0.1}
    json.dumps(settings)
    same = jo.MultiStepLR(0.5, [2, 4], 0.1)  # the same settings spelled otherwise
    same.load_state_dict(sched.state_dict())


def test_lr_apply_scales_the_curve_from_now_on_and_is_saved():
    sched = jo.StepLR(base_lr=[0.1, 0.2], step_size=2, gamma=0.5)
    sched.lr_apply(lambda lr: lr * 0.5)
    assert sched.get_lr() == [0.05, 0.1]
    sched.step()
    sched.step()
    assert sched.get_lr() == [0.025, 0.05]
    again = jo.StepLR(base_lr=[0.1, 0.2], step_size=2, gamma=0.5)
    again.load_state_dict(sched.state_dict())
    assert again.get_lr() == [0.025, 0.05]
    zero = jo.PolynomialLR(base_lr=1.0, total_iters=1, last_epoch=1)
    with pytest.raises(ValueError, match=r"rate is 0 now"):
        zero.lr_apply(lambda lr: lr + 1)


def test_a_compiled_update_follows_lr_apply_with_one_new_trace_on_the_first_scaling():
    """An unscaled facade passes no factor to the compiled update; the first ``lr_apply``
    adds one (one new trace), later ones change its value only (no trace)."""
    sched = jo.StepLR(base_lr=0.1, step_size=100)
    opt = jo.SGD(lr=sched)
    w = brainstate.ParamState(jnp.zeros(2))
    opt.register_trainable_weights({"w": w})
    traces = []

    @brainstate.transform.jit
    def train_step():
        traces.append(1)
        opt.update({"w": jnp.ones(2)})
        sched.step()

    moves = []
    for i in range(6):
        if i in (2, 4):
            opt.lr_apply(lambda lr: lr / 2)
        before = float(w.value[0])
        train_step()
        moves.append(before - float(w.value[0]))
    np.testing.assert_allclose(moves, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6)
    assert len(traces) == 2
    assert sched.state_dict()["lr_scale"] == [0.25]


def test_lr_apply_and_change_horizon_work_under_brainstates_tree_check():
    # the record State gains an entry on purpose; a user's tree check must not refuse it
    with brainstate.check_state_value_tree():
        sched = jo.OneCycleLR(max_lr=0.1, total_steps=10)
        sched.step()
        sched.lr_apply(lambda r: r / 2)
        sched.change_horizon(20)
        sched.step()
        again = jo.OneCycleLR(max_lr=0.1, total_steps=10)
        again.load_state_dict(sched.state_dict())
    assert again.get_lr() == sched.get_lr() and again.horizon_changes == ((1, 20),)
    assert sched.state_dict()["lr_scale"] == [0.5]


def test_a_curve_scaled_back_to_one_keeps_its_factor_and_never_retraces_again():
    sched = jo.StepLR(base_lr=0.1, step_size=100)
    opt = jo.SGD(lr=sched)
    opt.register_trainable_weights({"w": brainstate.ParamState(jnp.zeros(2))})
    traces = []

    @brainstate.transform.jit
    def train_step():
        traces.append(1)
        opt.update({"w": jnp.ones(2)})

    train_step()
    for factor in (2.0, 0.5, 2.0, 3.0):  # 0.5 brings the curve back to its own rates
        sched.lr_apply(lambda lr, f=factor: lr * f)
        train_step()
    assert len(traces) == 2 and sched.get_lr() == pytest.approx([0.6])
