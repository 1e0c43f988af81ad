"""The scheduler family: value-for-value parity with PyTorch and Hugging Face.

Golden values come from the real references (``tests/make_golden_family.py``); the
references are also run live on a small grid, and hypothesis checks the properties.
"""

import json
import math
import pathlib

import chex
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import (
    LazyReference,
    assert_schedule_matches,
    golden_tolerance,
    reference,
    torch_rates,
)
from hypothesis import given, settings

import jax_onecycle as fam
from jax_onecycle.schedules import _huggingface, _pytorch_cosine

# The live references, imported only by the tests that use them (marked `live`): without
# torch or transformers those tests skip and the golden-value tests still run.
tls = LazyReference("torch.optim.lr_scheduler")
hfo = LazyReference("transformers.optimization")

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "family.json").read_text())
CASES = GOLDEN["cases"]
INT32_MAX = 2**31 - 1
PROPERTY = settings(max_examples=25, deadline=None)


def _f(x):
    """``x`` in the schedules' float dtype (float64 when another test module enabled x64)."""
    return np.asarray(x, jnp.result_type(float))


# ---- golden values ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_values_match_every_step(case):
    sched = getattr(fam, case["function"])(**case["kwargs"])
    ours = np.asarray(jax.jit(sched)(jnp.asarray(case["steps"], jnp.int32)))
    ref = np.asarray(case["values"])
    # PyTorch's float-epoch path locates restarts with int(math.log(...)), which rounds
    # log(243, 3) down and puts epoch 121 (T_0=1, T_mult=3) at the end of the previous
    # cycle. We place restarts exactly: at those steps we give the exact SGDR value.
    bugs = case.get("known_reference_bug_steps", [])
    keep = np.ones(ref.shape, bool)
    keep[bugs] = False
    np.testing.assert_allclose(ours[keep], ref[keep], **golden_tolerance(ref))
    if bugs:
        exact = case["exact_values_at_bug_steps"]
        np.testing.assert_allclose(ours[bugs], exact, **golden_tolerance(ref))
        assert not np.allclose(ref[bugs], exact, **golden_tolerance(ref))  # the evidence stays


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_values_in_float64(case):
    with jax.enable_x64(True):
        sched = getattr(fam, case["function"])(**case["kwargs"])
        ours = np.asarray(jax.jit(sched)(jnp.asarray(case["steps"])))
    keep = np.ones(len(ours), bool)
    keep[case.get("known_reference_bug_steps", [])] = False
    ref = np.asarray(case["values"])
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours[keep], ref[keep], rtol=1e-12, atol=1e-15 * np.max(ref))


def test_golden_cases_cover_every_schedule_and_the_restart_bug():
    recorded = {"step_schedule", "multistep_schedule"}
    recorded |= set(_pytorch_cosine.__all__) | set(_huggingface.__all__)
    assert {c["function"] for c in CASES} == recorded
    bugs = {
        c["id"]: c["known_reference_bug_steps"] for c in CASES if "known_reference_bug_steps" in c
    }
    assert bugs == {"warmrestarts_t01_tm3_emin0.0_spe2_lr0.1_ep125": [242]}


# ---- live references ----------------------------------------------------------------


def _opt(lr):
    torch = reference("torch")
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _torch_epochs(make, lr, epochs, spe):
    opt, values = _opt(lr), []
    sched = make(opt)
    for _ in range(epochs):
        for _ in range(spe):
            values.append(opt.param_groups[0]["lr"])
            opt.step()
        sched.step()
    return values


@pytest.mark.parametrize("spe", [1, 3])
def test_live_torch_epoch_schedulers(spe):
    assert_schedule_matches(
        fam.step_schedule(0.2, 4, 0.3, steps_per_epoch=spe),
        _torch_epochs(lambda o: tls.StepLR(o, 4, gamma=0.3), 0.2, 25, spe),
    )
    assert_schedule_matches(
        fam.multistep_schedule(0.2, [0, 0, 2, 7, 7], 0.5, steps_per_epoch=spe),
        _torch_epochs(lambda o: tls.MultiStepLR(o, [0, 0, 2, 7, 7], 0.5), 0.2, 12, spe),
    )
    assert_schedule_matches(
        fam.cosine_annealing_schedule(0.2, 7, 0.02, steps_per_epoch=spe),
        _torch_epochs(lambda o: tls.CosineAnnealingLR(o, 7, 0.02), 0.2, 40, spe),
    )


@pytest.mark.parametrize("t_0, t_mult, spe", [(2, 1, 1), (3, 2, 1), (2, 3, 4), (1, 2, 7)])
def test_live_torch_warm_restarts_per_batch(t_0, t_mult, spe):
    opt, values = _opt(0.3), []
    sched = tls.CosineAnnealingWarmRestarts(opt, t_0, t_mult, eta_min=0.01)
    for epoch in range(30):
        for i in range(spe):
            sched.step(epoch + i / spe)  # before the batch: the un-lagged per-batch form
            values.append(opt.param_groups[0]["lr"])
            opt.step()
    assert_schedule_matches(
        fam.cosine_warm_restarts_schedule(0.3, t_0, t_mult, 0.01, steps_per_epoch=spe), values
    )


@pytest.mark.parametrize("warmup, total", [(0, 12), (3, 12), (12, 12), (1, 2)])
def test_live_hugging_face_warmup_schedules(warmup, total):
    n = total + 15
    assert_schedule_matches(
        fam.linear_schedule_with_warmup(0.2, warmup, total),
        torch_rates(lambda o: hfo.get_linear_schedule_with_warmup(o, warmup, total), 0.2, n),
    )
    for cycles in (0.5, 1.5):
        assert_schedule_matches(
            fam.cosine_schedule_with_warmup(0.2, warmup, total, cycles),
            torch_rates(
                lambda o: hfo.get_cosine_schedule_with_warmup(o, warmup, total, cycles), 0.2, n
            ),
        )
    assert_schedule_matches(
        fam.constant_schedule_with_warmup(0.2, warmup),
        torch_rates(lambda o: hfo.get_constant_schedule_with_warmup(o, warmup), 0.2, n),
    )


@pytest.mark.parametrize("w, s, d", [(4, 3, 5), (0, 0, 1), (1, 0, 0), (3, 2, 7)])
@pytest.mark.parametrize("warmup_type", _huggingface.WSD_TYPES)
@pytest.mark.parametrize("decay_type", _huggingface.WSD_TYPES)
def test_live_hugging_face_wsd(w, s, d, warmup_type, decay_type):
    kw = dict(min_lr_ratio=0.2, decay_type=decay_type, warmup_type=warmup_type, num_cycles=1.5)
    values = torch_rates(
        lambda o: hfo.get_wsd_schedule(o, w, d, num_stable_steps=s, **kw), 0.2, w + s + d + 6
    )
    assert_schedule_matches(fam.wsd_schedule(0.2, w, s, d, **kw), values)


# ---- properties -------------------------------------------------------------------------

LR = st.sampled_from([1e-4, 0.1, 3.0])
STEPS = jnp.arange(400)


@PROPERTY
@given(
    lr=LR,
    t_0=st.integers(1, 20),
    t_mult=st.integers(1, 4),
    spe=st.integers(1, 5),
    frac=st.floats(0, 1),
)
def test_warm_restarts_stay_between_eta_min_and_base_lr(lr, t_0, t_mult, spe, frac):
    eta = lr * frac
    values = np.asarray(
        fam.cosine_warm_restarts_schedule(lr, t_0, t_mult, eta, steps_per_epoch=spe)(
            jnp.asarray([*range(300), INT32_MAX - 1, INT32_MAX])
        )
    )
    assert np.all(values >= _f(eta) * (1 - 1e-6)) and np.all(values <= _f(lr))
    assert values[0] == _f(lr)
    restart = t_0 * spe * (1 + t_mult)  # the start of the third cycle: exactly base_lr
    if restart < 300:
        assert values[restart] == _f(lr)


@PROPERTY
@given(
    lr=LR,
    size=st.integers(1, 50),
    gamma=st.floats(0.01, 1.0),
    spe=st.integers(1, 4),
    milestones=st.lists(st.integers(0, 120), max_size=6).map(sorted),
)
def test_step_and_multistep_never_increase(lr, size, gamma, spe, milestones):
    for sched in (
        fam.step_schedule(lr, size, gamma, steps_per_epoch=spe),
        fam.multistep_schedule(lr, milestones, gamma, steps_per_epoch=spe),
    ):
        values = np.asarray(sched(STEPS))
        assert np.all(np.diff(values) <= 0) and values[0] <= _f(lr)
    multistep = fam.multistep_schedule(lr, milestones, gamma, steps_per_epoch=spe)
    epoch = 130  # every milestone has passed: gamma ** len(milestones), repeats included
    np.testing.assert_allclose(multistep(epoch * spe), lr * gamma ** len(milestones), rtol=1e-5)


@PROPERTY
@given(lr=LR, t_max=st.integers(1, 60), frac=st.floats(0, 1), e=st.integers(0, 10**6))
def test_cosine_annealing_is_periodic_and_bounded(lr, t_max, frac, e):
    sched = fam.cosine_annealing_schedule(lr, t_max, lr * frac)
    assert (
        float(sched(e)) == float(sched(e + 2 * t_max)) == float(sched(2 * t_max - e % (2 * t_max)))
    )
    assert _f(lr * frac) * (1 - 1e-6) <= sched(e) <= _f(lr)


@PROPERTY
@given(warmup=st.integers(0, 30), decay=st.integers(1, 60), k=st.integers(0, 60))
def test_hugging_face_cosine_mirrors_past_the_end(warmup, decay, k):
    k = min(k, decay)
    sched = fam.cosine_schedule_with_warmup(1.0, warmup, warmup + decay)
    end = warmup + decay
    np.testing.assert_allclose(sched(end + k), sched(end - k), atol=1e-6)


@PROPERTY
@given(
    w=st.integers(0, 20),
    s=st.integers(0, 20),
    d=st.integers(0, 20),
    r=st.just(0.0) | st.floats(1e-6, 1),
    up=st.sampled_from(_huggingface.WSD_TYPES),
    down=st.sampled_from(_huggingface.WSD_TYPES),
)
def test_wsd_stays_between_the_floor_and_the_peak(w, s, d, r, up, down):
    values = np.asarray(
        fam.wsd_schedule(2.0, w, s, d, min_lr_ratio=r, warmup_type=up, decay_type=down)(STEPS)
    )
    assert np.all(values >= _f(2.0 * r) * (1 - 1e-6)) and np.all(values <= 2.0)
    np.testing.assert_allclose(values[w + s + d :], 2.0 * r, rtol=1e-6, atol=1e-30)


# ---- behaviour --------------------------------------------------------------------------

SCHEDULES = {
    "step": lambda lr: fam.step_schedule(lr, 3, steps_per_epoch=2),
    "multistep": lambda lr: fam.multistep_schedule(lr, [0, 4, 4], 0.5, steps_per_epoch=2),
    "cosine_annealing": lambda lr: fam.cosine_annealing_schedule(lr, 5, 0.001),
    "warm_restarts": lambda lr: fam.cosine_warm_restarts_schedule(lr, 2, 2, steps_per_epoch=3),
    "warm_restarts_flat": lambda lr: fam.cosine_warm_restarts_schedule(lr, 2),
    "linear": lambda lr: fam.linear_schedule_with_warmup(lr, 3, 10),
    "cosine": lambda lr: fam.cosine_schedule_with_warmup(lr, 3, 10, 2.5),
    "constant": lambda lr: fam.constant_schedule_with_warmup(lr, 3),
    "wsd": lambda lr: fam.wsd_schedule(lr, 3, 2, 4, min_lr_ratio=0.1, warmup_type="1-sqrt"),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_finite_at_every_int32_step_and_first_value_before_zero(name):
    sched = SCHEDULES[name](0.1)
    steps = jnp.asarray([0, 1, 9, 10, 11, 2**24 + 1, INT32_MAX - 1, INT32_MAX], jnp.int32)
    values = jax.jit(sched)(steps)
    chex.assert_tree_all_finite(values)
    assert values.dtype == jnp.result_type(float) and bool(jnp.all(values >= 0))
    np.testing.assert_array_equal(sched(jnp.asarray([-5, -1])), sched(0))
    chex.assert_tree_all_finite(sched(jnp.asarray([2.5, 3e9, 1e30], jnp.float32)))
    jax.grad(lambda lr: SCHEDULES[name](lr)(INT32_MAX))(0.1)  # differentiable, no NaN trap


@pytest.mark.parametrize("name", SCHEDULES)
def test_vmap_jit_and_optax_learning_rate(name):
    sched = SCHEDULES[name](0.1)
    steps = jnp.arange(30)
    batched = jax.jit(jax.vmap(sched))(steps)
    np.testing.assert_allclose(batched, [sched(int(s)) for s in steps], rtol=1e-6)
    swept = jax.jit(jax.vmap(lambda lr: SCHEDULES[name](lr)(steps)))(jnp.asarray([0.1, 1.0]))
    np.testing.assert_allclose(swept[1], SCHEDULES[name](1.0)(steps), rtol=1e-6)
    tx = optax.sgd(sched)
    params = {"w": jnp.ones(2)}
    state = tx.init(params)
    chex.clear_trace_counter()
    traced = chex.assert_max_traces(n=1)(lambda g, s: tx.update(g, s))
    update = jax.jit(traced)
    for k in range(4):  # the count changes, the program does not
        updates, state = update(params, state)
        np.testing.assert_allclose(updates["w"], -sched(k) * jnp.ones(2), rtol=1e-6)


def test_milestone_zero_applies_at_once_and_repeats_compound():
    sched = fam.multistep_schedule(1.0, [0, 2, 2], gamma=0.5)
    np.testing.assert_allclose(sched(jnp.arange(4)), [0.5, 0.5, 0.125, 0.125])
    np.testing.assert_allclose(fam.multistep_schedule(1.0, [])(jnp.arange(3)), [1.0] * 3)
    np.testing.assert_allclose(
        fam.multistep_schedule(1.0, np.array([1]))(jnp.arange(3)), [1.0, 0.1, 0.1], rtol=1e-6
    )


@pytest.mark.parametrize("t_mult, epoch", [(3, 121), (10, 111111), (10, 111), (9, 7381)])
def test_restarts_are_exact_where_torch_float_log_rounds_down(t_mult, epoch):
    assert int(math.log(epoch * (t_mult - 1) + 1, t_mult)) < round(
        math.log(epoch * (t_mult - 1) + 1, t_mult)
    )
    for spe in (1, 4):
        sched = fam.cosine_warm_restarts_schedule(0.1, 1, t_mult, steps_per_epoch=spe)
        assert sched(epoch * spe) == _f(0.1)
        assert float(sched(epoch * spe - 1)) < 0.01


NARROW = [jnp.int8, jnp.int16, jnp.uint8, jnp.uint16, jnp.uint32, jnp.int64]


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("dtype", NARROW, ids=lambda d: jnp.dtype(d).name)
def test_narrow_integer_steps_do_not_wrap(name, dtype):
    sched = SCHEDULES[name](0.1)
    info = np.iinfo(dtype)
    steps = np.array([0, 1, 5, 7, 40, 127, info.max], np.int64)
    steps = steps[steps <= min(info.max, 2**40)]
    with jax.enable_x64(dtype == jnp.int64):
        ours = np.asarray(jax.jit(sched)(jnp.asarray(steps, dtype)), np.float64)
        want = np.asarray(sched(jnp.asarray(np.minimum(steps, INT32_MAX), jnp.int32)), np.float64)
        first = np.asarray(sched(jnp.asarray(-3, dtype)), np.float64) if info.min < 0 else None
    np.testing.assert_allclose(ours, want, rtol=1e-6)
    if first is not None:
        np.testing.assert_allclose(first, sched(0), rtol=1e-6)


def test_issue_reproducers_for_int16_steps():
    assert float(fam.step_schedule(0.1, 10, gamma=0.5)(jnp.int16(5))) == pytest.approx(0.1)
    restarts = fam.cosine_warm_restarts_schedule(0.1, 3, 2)
    assert float(restarts(jnp.int16(5))) == pytest.approx(float(restarts(5)))
    assert float(restarts(5)) == pytest.approx(0.05 * (1 + math.cos(math.pi * 2 / 6)))


def test_held_cosine_is_the_periodic_one_up_to_t_max_then_eta_min():
    lr, low = _f(0.1), _f(0.01)
    periodic = fam.cosine_annealing_schedule(0.1, 7, 0.01)
    held = _pytorch_cosine.cosine_annealing_curve(jnp.asarray(lr), 7, jnp.asarray(low), hold=True)
    steps = jnp.arange(30)
    np.testing.assert_array_equal(held(steps[:8]), periodic(steps[:8]))
    np.testing.assert_allclose(held(steps[7:]), low, rtol=1e-6)
    assert float(periodic(14)) == pytest.approx(0.1)


# ---- errors -----------------------------------------------------------------------------

BAD = [
    (
        lambda: fam.step_schedule(0.1, 0),
        ValueError,
        r"step_schedule: `step_size` must be a positive integer, got 0\.",
    ),
    (lambda: fam.step_schedule(0.1, 2.0), TypeError, r"`step_size`.*got 2\.0"),
    (
        lambda: fam.step_schedule(0.1, 2**31),
        ValueError,
        r"`step_size`.*2\*\*31 - 1\], got 2147483648",
    ),
    (lambda: fam.step_schedule(0.1, 2, 1.5), ValueError, r"`gamma` must be in \(0, 1\], got 1\.5"),
    (lambda: fam.step_schedule(0.1, 2, 0.0), ValueError, r"`gamma`.*got 0\.0"),
    (lambda: fam.step_schedule(0.1, 2, float("nan")), ValueError, r"`gamma`.*got nan"),
    (lambda: fam.step_schedule(0.1, 2, steps_per_epoch=0), ValueError, r"`steps_per_epoch`.*got 0"),
    (
        lambda: fam.step_schedule(-0.1, 2),
        ValueError,
        r"step_schedule: `base_lr` must be a finite number >= 0.*-0\.1",
    ),
    (lambda: fam.step_schedule(float("inf"), 2), ValueError, r"`base_lr`.*inf"),
    (lambda: fam.step_schedule(float("nan"), 2), ValueError, r"`base_lr`.*nan"),
    (lambda: fam.step_schedule("0.1", 2), TypeError, r"`base_lr`.*'0\.1'"),
    (
        lambda: fam.multistep_schedule(0.1, [3, 1]),
        ValueError,
        r"multistep_schedule: `milestones` must be a non-decreasing sequence.*got \[3, 1\]",
    ),
    (lambda: fam.multistep_schedule(0.1, [-1, 2]), ValueError, r"`milestones`.*got \[-1, 2\]"),
    (lambda: fam.multistep_schedule(0.1, [1.5]), TypeError, r"`milestones`.*got \[1\.5\]"),
    (lambda: fam.multistep_schedule(0.1, {1, 2}), TypeError, r"`milestones`.*got \{1, 2\}"),
    (lambda: fam.multistep_schedule(0.1, 3), TypeError, r"`milestones`.*got 3"),
    (lambda: fam.multistep_schedule(0.1, [1], gamma=-0.5), ValueError, r"`gamma`.*-0\.5"),
    (
        lambda: fam.cosine_annealing_schedule(0.1, 0),
        ValueError,
        r"cosine_annealing_schedule: `t_max`.*got 0",
    ),
    (lambda: fam.cosine_annealing_schedule(0.1, 5, -0.01), ValueError, r"`eta_min`.*-0\.01"),
    (
        lambda: fam.cosine_warm_restarts_schedule(0.1, 0),
        ValueError,
        r"`t_0` must be a positive integer, got 0",
    ),
    (lambda: fam.cosine_warm_restarts_schedule(0.1, 2, 0), ValueError, r"`t_mult`.*got 0"),
    (lambda: fam.cosine_warm_restarts_schedule(0.1, 2, 1.5), TypeError, r"`t_mult`.*got 1\.5"),
    (lambda: fam.cosine_warm_restarts_schedule(0.1, 2, True), TypeError, r"`t_mult`.*got True"),
    (
        lambda: fam.cosine_warm_restarts_schedule(0.1, 2, eta_min=float("nan")),
        ValueError,
        r"`eta_min`.*nan",
    ),
    (
        lambda: fam.linear_schedule_with_warmup(0.1, 11, 10),
        ValueError,
        r"linear_schedule_with_warmup: `num_warmup_steps` must be <= `num_training_steps` = 10, "
        r"got 11",
    ),
    (
        lambda: fam.linear_schedule_with_warmup(0.1, -1, 10),
        ValueError,
        r"`num_warmup_steps` must be an integer >= 0, got -1",
    ),
    (
        lambda: fam.linear_schedule_with_warmup(0.1, 0, 0),
        ValueError,
        r"`num_training_steps`.*got 0",
    ),
    (
        lambda: fam.cosine_schedule_with_warmup(0.1, 0, 10, 0.0),
        ValueError,
        r"`num_cycles` must be a finite number > 0, got 0\.0",
    ),
    (
        lambda: fam.cosine_schedule_with_warmup(-1.0, 0, 10),
        ValueError,
        r"cosine_schedule_with_warmup: `base_lr`.*-1\.0",
    ),
    (
        lambda: fam.constant_schedule_with_warmup(0.1, 2.5),
        TypeError,
        r"constant_schedule_with_warmup: `num_warmup_steps`.*2\.5",
    ),
    (
        lambda: fam.wsd_schedule(0.1, 1, 1, 1, decay_type="exp"),
        ValueError,
        r"wsd_schedule: `decay_type` must be one of 'linear', 'cosine', '1-sqrt', got 'exp'",
    ),
    (
        lambda: fam.wsd_schedule(0.1, 1, 1, 1, warmup_type="cos"),
        ValueError,
        r"`warmup_type`.*got 'cos'",
    ),
    (
        lambda: fam.wsd_schedule(0.1, 1, 1, 1, min_lr_ratio=1.5),
        ValueError,
        r"`min_lr_ratio` must be in \[0, 1\], got 1\.5",
    ),
    (lambda: fam.wsd_schedule(0.1, 1, -1, 1), ValueError, r"`num_stable_steps`.*got -1"),
    (
        lambda: fam.wsd_schedule(0.1, 1, 1, 1, num_cycles=float("inf")),
        ValueError,
        r"`num_cycles`.*inf",
    ),
]


@pytest.mark.parametrize("call, exc, match", BAD)
def test_bad_arguments_are_refused_naming_argument_and_value(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
