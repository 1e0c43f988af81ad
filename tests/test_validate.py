"""Bad arguments are refused where they are given, naming the argument and the value."""

import jax
import jax.numpy as jnp
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
        (lambda: ONECYCLE(0.1, 10, pct_start=1.2, convention="torch"), ValueError,
         r"`pct_start` must be in \(0, 1\], got 1.2"),
        (lambda: ONECYCLE(0.1, 10, pct_start=float("nan")), ValueError, r"`pct_start`.*nan"),
        (lambda: ONECYCLE(0.1, 10, pct_start="0.3"), TypeError, r"`pct_start`.*'0.3'"),
        (lambda: ONECYCLE(0.1, 10, anneal_strategy="cosine"), ValueError,
         r"`anneal_strategy` must be one of 'cos', 'linear', got 'cosine'"),
        (lambda: ONECYCLE(0.1, 10, convention="pytorch"), ValueError,
         r"`convention` must be one of .*'torch'.*got 'pytorch'"),
        (lambda: ONECYCLE(-0.1, 10), ValueError, r"`max_lr` must be a finite number >= 0.*-0.1"),
        (lambda: ONECYCLE(float("inf"), 10), ValueError, r"`max_lr`.*inf"),
        (lambda: ONECYCLE(float("nan"), 10), ValueError, r"`max_lr`.*nan"),
        (lambda: ONECYCLE(jnp.array([0.1, -1.0]), 10), ValueError, r"`max_lr`"),
        (lambda: ONECYCLE("0.1", 10), TypeError, r"`max_lr`"),
        (lambda: ONECYCLE(0.1, 10, div_factor=0.0), ValueError, r"`div_factor`.*> 0, got 0.0"),
        (lambda: ONECYCLE(0.1, 10, final_div_factor=-1.0), ValueError, r"`final_div_factor`"),
        (lambda: ONECYCLE(0.1, 10, final_div_factor=float("inf")), ValueError,
         r"`final_div_factor`"),
        (lambda: ONECYCLE(0.1, 10, three_phase=1), TypeError, r"`three_phase`"),
        (lambda: ONECYCLE(0.1, 10, pct_final=0.8), ValueError, r"`pct_final`.*three_phase=False"),
        (lambda: ONECYCLE(0.1, 10, pct_start=0.6, three_phase=True), ValueError,
         r"`pct_final` \(default 2 \* pct_start\) must be in \(pct_start, 1\].*got 1.2"),
        (lambda: ONECYCLE(0.1, 10, pct_start=0.3, three_phase=True, pct_final=0.2), ValueError,
         r"`pct_final`.*got 0.2"),
        (lambda: MOMENTUM(10, base_momentum=1.0), ValueError,
         r"`base_momentum` must be in \[0, 1\), got 1.0"),
        (lambda: MOMENTUM(10, max_momentum=-0.1), ValueError, r"`max_momentum`"),
        (lambda: MOMENTUM(10, base_momentum=0.95, max_momentum=0.85), ValueError,
         r"`base_momentum` must be <= `max_momentum`"),
        (lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, cycle_first_step_size=0), ValueError,
         r"`cycle_first_step_size`.*got 0"),
        (lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, cycle_second_step_size=-1), ValueError,
         r"`cycle_second_step_size`.*got -1"),
        (lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, cycle_first_stair_count=1.5),
         TypeError, r"`cycle_first_stair_count`"),
        (lambda: jo.deepspeed_onecycle_schedule(-0.1, 1.0), ValueError, r"`cycle_min_lr`"),
        (lambda: jo.deepspeed_onecycle_schedule(0.1, 1.0, decay_lr_rate=-1.0), ValueError,
         r"`decay_lr_rate`"),
        (lambda: jo.deepspeed_onecycle_momentum_schedule(cycle_max_mom=1.5), ValueError,
         r"`cycle_max_mom`"),
        (lambda: jo.deepspeed_onecycle_momentum_schedule(decay_mom_rate=float("nan")),
         ValueError, r"`decay_mom_rate`"),
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
    jax.jit(lambda peak: ONECYCLE(peak, 10)(3))(jnp.float32(0.1))
    with pytest.raises(ValueError, match="`max_lr`"):
        ONECYCLE(jnp.float32(-1.0), 10)
