"""Bad arguments are refused where they are given, naming the argument and the value."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jax_onecycle as jo

ONECYCLE = jo.onecycle_schedule
MOMENTUM = jo.onecycle_momentum_schedule


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: ONECYCLE(0.1), ValueError, r"`total_steps`.*`epochs`.*`steps_per_epoch`"),
        (lambda: ONECYCLE(0.1, epochs=3), ValueError, r"steps_per_epoch=None"),
        (lambda: ONECYCLE(0.1, 0), ValueError, r"`total_steps` must be a positive integer, got 0"),
        (lambda: ONECYCLE(0.1, -4), ValueError, r"`total_steps`.*got -4"),
        (lambda: ONECYCLE(0.1, 10.5), TypeError, r"`total_steps`.*got 10.5"),
        (lambda: ONECYCLE(0.1, True), TypeError, r"`total_steps`.*got True"),
        (lambda: ONECYCLE(0.1, epochs=0, steps_per_epoch=3), ValueError, r"`epochs`.*got 0"),
        (lambda: ONECYCLE(0.1, epochs=2, steps_per_epoch=2.0), TypeError, r"`steps_per_epoch`"),
        (lambda: ONECYCLE(0.1, 10, pct_start=0.0), ValueError, r"`pct_start` must be in \(0, 1\)"),
        (lambda: ONECYCLE(0.1, 10, pct_start=1.0), ValueError, r"`pct_start`.*got 1.0"),
        (
            lambda: ONECYCLE(0.1, 10, pct_start=1.2, convention="torch"),
            ValueError,
            r"`pct_start` must be in \(0, 1\], got 1.2",
        ),
        (lambda: ONECYCLE(0.1, 10, pct_start=float("nan")), ValueError, r"`pct_start`.*nan"),
        (lambda: ONECYCLE(0.1, 10, pct_start="0.3"), TypeError, r"`pct_start`.*'0.3'"),
        (
            lambda: ONECYCLE(0.1, 10, anneal_strategy="cosine"),
            ValueError,
            r"`anneal_strategy` must be one of 'cos', 'linear', got 'cosine'",
        ),
        (
            lambda: ONECYCLE(0.1, 10, convention="pytorch"),
            ValueError,
            r"`convention` must be one of .*'torch'.*got 'pytorch'",
        ),
        (lambda: ONECYCLE(-0.1, 10), ValueError, r"`max_lr` must be a finite number >= 0.*-0.1"),
        (lambda: ONECYCLE(float("inf"), 10), ValueError, r"`max_lr`.*inf"),
        (lambda: ONECYCLE(float("nan"), 10), ValueError, r"`max_lr`.*nan"),
        (lambda: ONECYCLE(jnp.array([0.1, -1.0]), 10), ValueError, r"`max_lr`"),
        (lambda: ONECYCLE("0.1", 10), TypeError, r"`max_lr`"),
        (lambda: ONECYCLE(0.1, 10, div_factor=0.0), ValueError, r"`div_factor`.*> 0, got 0.0"),
        (lambda: ONECYCLE(0.1, 10, final_div_factor=-1.0), ValueError, r"`final_div_factor`"),
        (
            lambda: ONECYCLE(0.1, 10, final_div_factor=float("inf")),
            ValueError,
            r"`final_div_factor`",
        ),
        (lambda: ONECYCLE(0.1, 10, three_phase=1), TypeError, r"`three_phase`"),
        (lambda: ONECYCLE(0.1, 10, pct_final=0.8), ValueError, r"`pct_final`.*three_phase=False"),
        (
            lambda: ONECYCLE(0.1, 10, pct_start=0.6, three_phase=True),
            ValueError,
            r"`pct_final` \(default 2 \* pct_start\) must be in \(pct_start, 1\].*got 1.2",
        ),
        (
            lambda: ONECYCLE(0.1, 10, pct_start=0.3, three_phase=True, pct_final=0.2),
            ValueError,
            r"`pct_final`.*got 0.2",
        ),
        (
            lambda: MOMENTUM(10, base_momentum=1.0),
            ValueError,
            r"`base_momentum` must be in \[0, 1\), got 1.0",
        ),
        (lambda: MOMENTUM(10, max_momentum=-0.1), ValueError, r"`max_momentum`"),
        (
            lambda: MOMENTUM(10, base_momentum=0.95, max_momentum=0.85),
            ValueError,
            r"`base_momentum` must be <= `max_momentum`",
        ),
        (
            lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, cycle_first_step_size=0),
            ValueError,
            r"`cycle_first_step_size`.*got 0",
        ),
        (
            lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, cycle_second_step_size=-1),
            ValueError,
            r"`cycle_second_step_size`.*got -1",
        ),
        (
            lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, cycle_first_stair_count=1.5),
            TypeError,
            r"`cycle_first_stair_count`",
        ),
        (lambda: jo.deepspeed_onecycle_schedule(-0.1, 1.0), ValueError, r"`cycle_min_lr`"),
        (
            lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, decay_lr_rate=-1.0),
            ValueError,
            r"`decay_lr_rate`",
        ),
        (
            lambda: jo.deepspeed_onecycle_momentum_schedule(cycle_max_mom=1.5),
            ValueError,
            r"`cycle_max_mom`",
        ),
        (
            lambda: jo.deepspeed_onecycle_momentum_schedule(decay_mom_rate=float("nan")),
            ValueError,
            r"`decay_mom_rate`",
        ),
    ],
)
def test_bad_argument_is_refused_with_its_name_and_value(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_message_names_the_function():
    with pytest.raises(ValueError, match=r"^onecycle_momentum_schedule: `pct_start`"):
        MOMENTUM(10, pct_start=2.0)


def test_pct_start_one_is_allowed_where_the_reference_allows_it():
    for convention in ("torch", "fastai"):
        sched = ONECYCLE(0.1, 10, pct_start=1.0, convention=convention)
        assert float(sched(100)) == float(sched(10))
    assert float(ONECYCLE(0.1, 10, pct_start=1.0, convention="torch")(100)) == pytest.approx(0.1)


def test_traced_max_lr_is_not_checked_but_concrete_is():
    # Validation applies to concrete values only; a tracer passes through.
    traced = jax.jit(lambda peak: ONECYCLE(peak, 10)(3))(jnp.float32(0.1))
    np.testing.assert_allclose(traced, ONECYCLE(0.1, 10)(3), rtol=1e-6)
    with pytest.raises(ValueError, match="`max_lr`"):
        ONECYCLE(jnp.float32(-1.0), 10)


# ---- one rule for every size: int32 step counts ------------------------------------

BIG = 2**31
DS = jo.deepspeed_onecycle_schedule
DS_MOM = jo.deepspeed_onecycle_momentum_schedule
INT32_RULE = r"must be an integer in \[\d, 2\*\*31 - 1\], got 2147483648"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ONECYCLE(0.1, BIG), r"^onecycle_schedule: `total_steps` " + INT32_RULE),
        (lambda: MOMENTUM(BIG), r"^onecycle_momentum_schedule: `total_steps` " + INT32_RULE),
        (lambda: ONECYCLE(0.1, epochs=BIG, steps_per_epoch=1), r"`epochs` " + INT32_RULE),
        (
            lambda: ONECYCLE(0.1, epochs=2**16, steps_per_epoch=2**16),
            r"`epochs \* steps_per_epoch` must be at most 2\*\*31 - 1, got 4294967296",
        ),
        (lambda: jo.onecycle_sgd(0.1, BIG), r"^onecycle_sgd: `total_steps` " + INT32_RULE),
        (lambda: jo.onecycle_adamw(0.1, BIG), r"^onecycle_adamw: `total_steps` " + INT32_RULE),
        (lambda: jo.OneCycleLR(0.1, BIG), r"^OneCycleLR: `total_steps` " + INT32_RULE),
        (
            lambda: jo.OneCycleLR(0.1, epochs=2**16, steps_per_epoch=2**16),
            r"^OneCycleLR: `epochs \* steps_per_epoch` must be at most 2\*\*31 - 1",
        ),
        (lambda: jo.OneCycleLR(0.1, 100, last_epoch=BIG), r"^OneCycleLR: `last_epoch`.*2147483648"),
        (lambda: DS(0.1, 1.0, cycle_first_step_size=BIG), r"`cycle_first_step_size` " + INT32_RULE),
        (
            lambda: DS(0.1, 1.0, cycle_second_step_size=BIG),
            r"`cycle_second_step_size` " + INT32_RULE,
        ),
        (lambda: DS(0.1, 1.0, decay_step_size=BIG), r"`decay_step_size` " + INT32_RULE),
        (lambda: DS(0.1, 1.0, cycle_first_stair_count=BIG), r"`cycle_first_stair_count`"),
        (
            lambda: DS(0.1, 1.0, cycle_first_step_size=2**30, cycle_second_step_size=2**30),
            r"`cycle_first_step_size \+ cycle_second_step_size` must be at most 2\*\*31 - 1",
        ),
        (
            lambda: DS_MOM(cycle_first_step_size=BIG),
            r"^deepspeed_onecycle_momentum_schedule: "
            r"`cycle_first_step_size` " + INT32_RULE,
        ),
        (lambda: DS_MOM(decay_step_size=BIG), r"`decay_step_size` " + INT32_RULE),
    ],
)
def test_sizes_above_int32_are_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_largest_int32_size_is_accepted_and_ends_on_its_final_value():
    top = 2**31 - 1
    # braintools: the final rate max_lr / final_div_factor at T; momentum back at its max
    assert ONECYCLE(0.1, top)(top) == np.float32(0.1 / 1e4)
    assert MOMENTUM(top)(top) == np.float32(0.95)
    # DeepSpeed: the cycle is back at cycle_min_lr at first + second steps
    ds = DS(0.1, 1.0, cycle_first_step_size=2**30, cycle_second_step_size=2**30 - 1)
    assert ds(top) == np.float32(0.1)
    assert ds(2**30) == np.float32(1.0)  # the peak


# ---- values that float32 cannot hold ---------------------------------------------

F32 = r"at most 3.4028234663852886e\+38 \(the largest float32\)"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ONECYCLE(1e39, 100), r"^onecycle_schedule: `max_lr` must be " + F32),
        (lambda: ONECYCLE(np.array([0.1, 1e39]), 100), r"`max_lr` must be " + F32),
        (
            lambda: ONECYCLE(0.1, 100, div_factor=1e-40),
            r"`div_factor` must be large enough that max_lr / div_factor is a finite float32",
        ),
        (
            lambda: ONECYCLE(0.1, 100, final_div_factor=1e-45),
            r"`final_div_factor` must be large enough that the final learning rate is a finite",
        ),
        (
            lambda: ONECYCLE(0.1, 100, final_div_factor=1e-46),
            r"`final_div_factor` must be a number > 0 that float32 can hold",
        ),
        (lambda: ONECYCLE(0.1, 100, div_factor=1e39), r"`div_factor` must be " + F32),
        (lambda: jo.OneCycleLR([0.1, 1e38], 100, div_factor=0.1), r"^OneCycleLR: `div_factor`"),
        (lambda: jo.onecycle_sgd(0.1, 100, weight_decay=1e39), r"`weight_decay` must be " + F32),
        (lambda: jo.onecycle_adamw(0.1, 100, weight_decay=1e39), r"`weight_decay`.*" + F32),
        (
            lambda: jo.onecycle_adamw(0.1, 100, eps=1e-50),
            r"^onecycle_adamw: `eps` must be a number > 0 that float32 can hold",
        ),
        (lambda: DS(0.1, 1e39), r"`cycle_max_lr` must be " + F32),
        (lambda: DS(0.1, 1.0, decay_lr_rate=1e39), r"`decay_lr_rate` must be " + F32),
        (lambda: jo.SGD(lr=1e39), r"^SGD: `lr` must be .*float32"),
        (lambda: jo.ReduceLROnPlateau(1e39), r"`lr` must be " + F32),
    ],
)
def test_values_that_overflow_float32_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_cycle_at_the_top_of_float32_keeps_its_values():
    # div_factor = final_div_factor = 1: the curve is flat at max_lr, which float32 holds
    sched = ONECYCLE(3e38, 10, div_factor=1.0, final_div_factor=1.0, convention="torch")
    np.testing.assert_array_equal(sched(jnp.arange(12)), np.full(12, np.float32(3e38)))


# ---- arguments accepted and ignored ------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: ONECYCLE(0.1, total_steps=100, epochs=3, steps_per_epoch=10),
            ValueError,
            r"`total_steps` and `epochs` \* `steps_per_epoch` disagree: total_steps=100, "
            r"epochs \* steps_per_epoch = 3 \* 10 = 30",
        ),
        (lambda: jo.OneCycleLR(0.1, 100, 3, 10), ValueError, r"^OneCycleLR: `total_steps` and"),
        (lambda: ONECYCLE(0.1, 100, epochs="abc"), TypeError, r"`epochs`.*'abc'"),
        (lambda: MOMENTUM(100, steps_per_epoch=-1), ValueError, r"`steps_per_epoch`.*-1"),
        (
            lambda: jo.onecycle_sgd(0.1, 100, cycle_momentum=False, base_momentum="abc"),
            TypeError,
            r"^onecycle_sgd: `base_momentum`.*'abc'",
        ),
        (
            lambda: jo.onecycle_adamw(0.1, 100, cycle_momentum=False, base_momentum=2.0),
            ValueError,
            r"`base_momentum` must be in \[0, 1\), got 2.0",
        ),
        (lambda: jo.OneCycleLR(0.1, 100, base_momentum="x"), TypeError, r"`base_momentum`"),
        (
            lambda: jo.onecycle_sgd(
                0.1, 100, nesterov=True, cycle_momentum=False, base_momentum=0.0, max_momentum=0.0
            ),
            ValueError,
            r"^onecycle_sgd: `nesterov=True` needs a momentum > 0",
        ),
        (
            lambda: jo.onecycle_sgd(0.1, 100, nesterov=True, base_momentum=0.0, max_momentum=0.0),
            ValueError,
            r"`nesterov=True` needs a momentum > 0",
        ),
        (
            lambda: DS_MOM(cycle_min_mom=0.95, cycle_max_mom=0.8),
            ValueError,
            r"^deepspeed_onecycle_momentum_schedule: `cycle_min_mom` must be <= `cycle_max_mom`, "
            r"got cycle_min_mom=0.95 and cycle_max_mom=0.8",
        ),
        (
            lambda: ONECYCLE(0.1, 10, pct_start=0.9, anneal_strategy="linear", convention="optax"),
            ValueError,
            r"`pct_final` \(default 0.85\) must be in \(pct_start, 1\] = \(0.9, 1\]",
        ),
    ],
)
def test_arguments_are_validated_even_where_unused(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_nesterov_with_cycled_momentum_reaching_zero_trains_as_optax_nesterov():
    # base_momentum 0 is fine while cycling (the momentum is > 0 elsewhere): the first update
    # is optax's Nesterov SGD at momentum 0.9 and the schedule's first learning rate
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.array([1.0, -2.0, 0.5])}
    opt = jo.onecycle_sgd(0.1, 100, nesterov=True, base_momentum=0.0, max_momentum=0.9)
    ours, _ = opt.update(grads, opt.init(params), params)
    plain = optax.sgd(0.1 / 25, momentum=0.9, nesterov=True)
    want, _ = plain.update(grads, plain.init(params), params)
    np.testing.assert_allclose(ours["w"], want["w"], rtol=1e-6)
