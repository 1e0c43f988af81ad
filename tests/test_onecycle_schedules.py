"""Behaviour of the pure schedules: shape, holding, finiteness, jit/vmap, traced peaks."""

import inspect

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

import jax_onecycle as jo

CONVENTIONS = ["braintools", "torch", "fastai", "optax"]
INT32_STEPS = jnp.array([-(2**31), -5, -1, 0, 1, 2, 2**24 + 1, 2**31 - 1], dtype=jnp.int32)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("total", [1, 2, 7, 10, 1000])
def test_every_int32_step_is_finite_and_held(convention, three_phase, anneal, total):
    kwargs = dict(pct_start=0.25, anneal_strategy=anneal, three_phase=three_phase)
    lr = jax.jit(jo.onecycle_schedule(0.1, total, convention=convention, **kwargs))
    mom = jax.jit(jo.onecycle_momentum_schedule(total, convention=convention, **kwargs))
    for sched in (lr, mom):
        values = sched(INT32_STEPS)
        chex.assert_tree_all_finite(values)
        first, last = sched(0), sched(total)
        np.testing.assert_array_equal(values[:4], first)  # negative steps: the first value
        np.testing.assert_array_equal(values[-2:], last)  # past the end: the final value
        np.testing.assert_array_equal(sched(total + 1), last)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_endpoints_follow_the_convention_table(convention):
    sched = jo.onecycle_schedule(
        1.0, 100, div_factor=10.0, final_div_factor=100.0, convention=convention
    )
    final = {"braintools": 1.0 / 100, "fastai": 1.0 / 100, "torch": 0.1 / 100, "optax": 0.1 / 100}[
        convention
    ]
    np.testing.assert_allclose(sched(0), 0.1, rtol=1e-6)
    np.testing.assert_allclose(sched(10_000), final, rtol=1e-6)
    peak_step = {"torch": 29, "optax": 30}.get(convention, 30)
    np.testing.assert_allclose(sched(peak_step), 1.0, rtol=1e-6)


def test_fractional_phase_boundary_matches_the_real_valued_formula():
    # T=10, pct_start=0.25: braintools' warmup ends at step 2.5, so step 3 is already
    # 0.5 step into the anneal of length 7.5.
    sched = jo.onecycle_schedule(1.0, 10, pct_start=0.25, anneal_strategy="linear")
    np.testing.assert_allclose(sched(2), 0.04 + 0.96 * 2 / 2.5, rtol=1e-6)
    np.testing.assert_allclose(sched(3), 1.0 - (1.0 - 1e-4) * 0.5 / 7.5, rtol=1e-6)


def test_usable_as_an_optax_learning_rate():
    sched = jo.onecycle_schedule(0.1, 10, convention="torch")
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=sched)
    params = {"w": jnp.ones(3)}
    state = opt.init(params)
    updates, state = opt.update({"w": jnp.ones(3)}, state, params)
    np.testing.assert_allclose(updates["w"], -sched(0) * jnp.ones(3), rtol=1e-6)
    # inject_hyperparams records the value the update just used
    np.testing.assert_allclose(state.hyperparams["learning_rate"], sched(0), rtol=1e-6)


def test_vmap_over_steps_equals_elementwise_calls():
    sched = jo.onecycle_schedule(0.3, 50, convention="fastai")
    steps = jnp.arange(-3, 60)
    batched = jax.jit(jax.vmap(sched))(steps)
    np.testing.assert_allclose(batched, [sched(int(s)) for s in steps], rtol=1e-6)


def test_traced_max_lr_sweeps_peaks_in_one_program():
    peaks = jnp.array([0.01, 0.1, 1.0])

    @jax.jit
    def curves(peak):
        return jax.vmap(jo.onecycle_schedule(peak, 20, convention="torch"))(jnp.arange(20))

    swept = jax.vmap(curves)(peaks)
    for i, peak in enumerate([0.01, 0.1, 1.0]):
        expected = jo.onecycle_schedule(peak, 20, convention="torch")(jnp.arange(20))
        np.testing.assert_allclose(swept[i], expected, rtol=1e-6)


def test_array_max_lr_broadcasts():
    sched = jo.onecycle_schedule(jnp.array([0.1, 1.0]), 10)
    np.testing.assert_allclose(sched(0), [0.004, 0.04], rtol=1e-6)


def test_epochs_times_steps_per_epoch_equals_total_steps():
    a = jo.onecycle_schedule(0.1, epochs=3, steps_per_epoch=7, convention="torch")
    b = jo.onecycle_schedule(0.1, 21, convention="torch")
    steps = jnp.arange(25)
    np.testing.assert_array_equal(a(steps), b(steps))


def test_three_phase_returns_to_initial_before_the_final_anneal():
    sched = jo.onecycle_schedule(
        1.0, 100, pct_start=0.3, three_phase=True, anneal_strategy="linear", convention="torch"
    )
    np.testing.assert_allclose(sched(29), 1.0, rtol=1e-6)
    np.testing.assert_allclose(sched(58), 0.04, rtol=1e-6)
    mom = jo.onecycle_momentum_schedule(100, three_phase=True, convention="torch")
    np.testing.assert_allclose(mom(jnp.arange(58, 100)), 0.95, rtol=1e-6)


def test_pct_final_moves_the_end_of_the_second_phase():
    sched = jo.onecycle_schedule(
        1.0,
        100,
        pct_start=0.3,
        three_phase=True,
        pct_final=0.85,
        anneal_strategy="linear",
        convention="optax",
    )
    np.testing.assert_allclose(sched(85), 0.04, rtol=1e-6)
    assert float(sched(70)) > 0.04


def test_no_cancellation_near_a_tiny_final_value():
    # The textbook cos formula in float32 loses ~1e-3 relative accuracy here.
    total = 10_000
    sched = jo.onecycle_schedule(0.1, total, convention="torch")
    step = total - 3
    pct = (step - (0.3 * total - 1)) / ((total - 1) - (0.3 * total - 1))
    initial = 0.1 / 25
    exact = initial / 1e4 + (0.1 - initial / 1e4) / 2 * (np.cos(np.pi * pct) + 1)
    np.testing.assert_allclose(sched(step), exact, rtol=1e-5)


def test_deepspeed_stairs_hold_flat_then_decay_after_the_cycle():
    sched = jo.deepspeed_onecycle_schedule(
        0.0,
        1.0,
        cycle_first_step_size=8,
        cycle_first_stair_count=4,
        decay_step_size=2,
        decay_lr_rate=1.0,
    )
    values = np.asarray(sched(jnp.arange(20)))
    np.testing.assert_allclose(values[:9], [0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0])
    np.testing.assert_allclose(values[16], 0.0)
    cycle_min = jo.deepspeed_onecycle_schedule(
        0.5, 1.0, cycle_first_step_size=2, decay_step_size=2, decay_lr_rate=1.0
    )
    np.testing.assert_allclose(cycle_min(jnp.array([4, 6, 8])), [0.5, 0.25, 0.5 / 3], rtol=1e-6)


def test_deepspeed_momentum_starts_at_the_constructor_value():
    mom = jo.deepspeed_onecycle_momentum_schedule(cycle_first_step_size=4)
    np.testing.assert_allclose(
        mom(jnp.array([0, 1, 4, 8, 100])), [0.8, 0.875, 0.8, 0.9, 0.9], rtol=1e-6
    )


_params = st.fixed_dictionaries(
    {
        "total": st.integers(1, 3000),
        "pct_start": st.floats(0.01, 0.99),
        "anneal": st.sampled_from(["cos", "linear"]),
        "convention": st.sampled_from(CONVENTIONS),
        "max_lr": st.floats(1e-4, 10.0),
        "div": st.floats(1.5, 100.0),
    }
)


@settings(max_examples=40, deadline=None)
@given(_params)
def test_property_bounded_monotone_phases_and_opposite_momentum(p):
    total, conv = p["total"], p["convention"]
    kwargs = dict(pct_start=p["pct_start"], anneal_strategy=p["anneal"], convention=conv)
    if conv == "optax" and p["anneal"] == "linear":  # three-phase, as optax's linear one-cycle
        kwargs["pct_final"] = max(0.85, (1.0 + p["pct_start"]) / 2)
    lr_fn = jo.onecycle_schedule(p["max_lr"], total, div_factor=p["div"], **kwargs)
    mom_fn = jo.onecycle_momentum_schedule(total, **kwargs)
    steps = jnp.arange(total + 2)
    lr = np.asarray(jax.jit(lr_fn)(steps), dtype=np.float64)
    mom = np.asarray(jax.jit(mom_fn)(steps), dtype=np.float64)
    np.testing.assert_allclose(lr, np.asarray(lr_fn(steps)), rtol=1e-6)  # jit == eager
    tol = 1e-6 * p["max_lr"]
    assert lr.max() <= p["max_lr"] + tol and lr.min() >= 0.0
    assert mom.max() <= 0.95 + 1e-6 and mom.min() >= 0.85 - 1e-6
    peak = int(np.argmax(lr))
    rising, falling = np.diff(lr[: peak + 1]), np.diff(lr[peak:])
    assert (rising >= -tol).all() and (falling <= tol).all()
    # momentum moves the other way, step by step (a pair of steps straddling the peak,
    # which lies between the sampled maximum's neighbours, may move both ways)
    dlr, dmom = np.diff(lr), np.diff(mom)
    moving = np.abs(dlr) > 1e-3 * p["max_lr"]
    moving[max(peak - 1, 0) : peak + 1] = False
    assert (np.sign(dlr[moving]) * np.sign(dmom[moving]) <= 0).all()


# ---- narrow step dtypes, and the five one-cycle entry points --------------------------

NARROW = [jnp.int8, jnp.int16, jnp.uint8, jnp.uint16, jnp.uint32, jnp.int32]
SCHEDULES = {
    "onecycle_lr": lambda: jo.onecycle_schedule(0.1, 100, convention="torch"),
    "onecycle_lr_long": lambda: jo.onecycle_schedule(0.1, 100_000),
    "onecycle_momentum": lambda: jo.onecycle_momentum_schedule(60, convention="fastai"),
    "optax_linear": lambda: jo.onecycle_schedule(
        0.1, 90, anneal_strategy="linear", convention="optax"
    ),
    "deepspeed_lr": lambda: jo.deepspeed_onecycle_schedule(
        0.01, 0.1, cycle_first_step_size=40, decay_step_size=5, decay_lr_rate=0.5
    ),
    "deepspeed_momentum": lambda: jo.deepspeed_onecycle_momentum_schedule(
        cycle_first_step_size=40, decay_step_size=5, decay_mom_rate=0.01
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("dtype", NARROW, ids=lambda d: jnp.dtype(d).name)
def test_narrow_integer_steps_give_the_int32_values(name, dtype):
    sched = SCHEDULES[name]()
    info = jnp.iinfo(dtype)
    steps = np.array([0, 1, 5, 37, 99, 100, 101, 127, info.max], dtype=np.int64)
    steps = steps[steps <= info.max]
    as_int32 = jnp.asarray(np.minimum(steps, 2**31 - 1), jnp.int32)  # uint32 max: held
    np.testing.assert_array_equal(jax.jit(sched)(jnp.asarray(steps, dtype)), sched(as_int32))
    if info.min < 0:  # a negative step is step 0, in any dtype
        np.testing.assert_array_equal(sched(jnp.asarray(-1, dtype)), sched(0))


# The cycle keywords every one-cycle entry point shares, with one default each
# (div_factor and final_div_factor do not apply to the momentum schedule, nor the
# momentum bounds to the learning-rate schedule).
CYCLE = [
    "total_steps",
    "epochs",
    "steps_per_epoch",
    "pct_start",
    "anneal_strategy",
    "div_factor",
    "final_div_factor",
    "three_phase",
    "pct_final",
    "convention",
    "horizon_changes",
]
MOMENTUM = ["base_momentum", "max_momentum"]
ENTRY_POINTS = {
    "onecycle_schedule": (jo.onecycle_schedule, CYCLE),
    "onecycle_momentum_schedule": (
        jo.onecycle_momentum_schedule,
        [k for k in CYCLE if "div_factor" not in k] + MOMENTUM,
    ),
    "onecycle_sgd": (jo.onecycle_sgd, CYCLE + MOMENTUM),
    "onecycle_adamw": (jo.onecycle_adamw, CYCLE + MOMENTUM),
    "OneCycleLR": (jo.OneCycleLR, CYCLE + MOMENTUM),
}


def _parameters(fn):
    """The parameters a user passes (a class's constructor's, without ``self``)."""
    params = dict(inspect.signature(fn.__init__ if inspect.isclass(fn) else fn).parameters)
    params.pop("self", None)
    return params


def test_the_five_one_cycle_entry_points_share_names_and_defaults():
    from jax_onecycle.schedules._onecycle import CYCLE_DEFAULTS

    reference = dict(inspect.signature(jo.onecycle_schedule).parameters)
    assert {k: reference[k].default for k in CYCLE_DEFAULTS} == CYCLE_DEFAULTS
    reference.update(
        (k, v)
        for k, v in inspect.signature(jo.onecycle_momentum_schedule).parameters.items()
        if k in MOMENTUM
    )
    for name, (fn, keys) in ENTRY_POINTS.items():
        params = _parameters(fn)
        for key in keys:
            assert key in params, f"{name} lacks `{key}`"
            assert params[key].default == reference[key].default, (name, key)
            assert params[key].annotation == reference[key].annotation, (name, key)


def test_onecycle_lr_keeps_braintools_positional_order_and_new_keywords_are_keyword_only():
    params = _parameters(jo.OneCycleLR)
    positional = [k for k, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == [
        "max_lr",
        "total_steps",
        "epochs",
        "steps_per_epoch",
        "pct_start",
        "anneal_strategy",
        "div_factor",
        "final_div_factor",
        "last_epoch",
    ]
    assert params["pct_final"].kind is inspect.Parameter.KEYWORD_ONLY


def test_both_forms_of_the_cycle_length_may_be_given_when_they_agree():
    a = jo.onecycle_schedule(0.1, 30, epochs=3, steps_per_epoch=10)
    b = jo.onecycle_schedule(0.1, 30)
    np.testing.assert_array_equal(a(jnp.arange(35)), b(jnp.arange(35)))


def test_onecycle_optimizers_and_facade_follow_the_schedule_with_pct_final():
    kwargs = dict(pct_start=0.2, three_phase=True, pct_final=0.7, convention="torch")
    lr = jo.onecycle_schedule(0.1, 50, **kwargs)
    sched = jo.OneCycleLR(0.1, 50, **kwargs)
    np.testing.assert_allclose(
        [sched(k) for k in range(0, 50, 7)], [lr(k) for k in range(0, 50, 7)], rtol=1e-6
    )
    for make in (jo.onecycle_sgd, jo.onecycle_adamw):
        opt = make(0.1, 50, **kwargs)
        params = {"w": jnp.zeros(2)}
        state = opt.init(params)
        for _ in range(36):
            _, state = opt.update({"w": jnp.ones(2)}, state, params)
        np.testing.assert_allclose(jo.hyperparams(state)["learning_rate"], lr(35), rtol=1e-6)
