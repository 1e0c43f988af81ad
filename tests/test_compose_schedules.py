"""Composed pure schedules: sequential_schedule, lambda_schedule, multiplicative_schedule.

Golden values come from live PyTorch (``tests/make_golden_compose.py``): ``values`` is
SPEC's restart rule (each part run alone in PyTorch, spliced at the milestones) and
``torch_sequential`` what ``SequentialLR`` itself gives; the two differ only where PyTorch
departs from the rule. The ``live`` tests run PyTorch again.
"""

import json
import pathlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_schedule_matches, golden_tolerance, reference, torch_rates

import jax_onecycle as jo

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "compose.json").read_text())
CASES = GOLDEN["cases"]
SEQUENTIAL = [c for c in CASES if c["kind"] == "sequential"]
RULES = [c for c in CASES if c["kind"] in ("lambda", "multiplicative")]
DEPARTURES = {"warmup_into_onecycle", "exponential_to_multiplicative"}

# The rules of make_golden_compose.LAMBDAS, written with jnp (traceable).
LAMBDAS = {
    "pow_0.95": lambda e: 0.95**e,
    "inverse_1_plus_e": lambda e: 1.0 / (1.0 + e),
    "warmup_cosine_5_30": lambda e: jnp.where(
        e < 5, e / 5.0, 0.5 * (1.0 + jnp.cos(jnp.pi * (e - 5) / 25.0))
    ),
    "const_0.9": lambda e: 0.9,
    "one_minus_0.02e": lambda e: 1.0 - 0.02 * e,
    "halve_every_3": lambda e: jnp.where(e % 3 == 0, 0.5, 1.0),
}
RULE_FUNCTIONS = {"lambda": jo.lambda_schedule, "multiplicative": jo.multiplicative_schedule}


def _part(part):
    kwargs = dict(part["kwargs"])
    if "lr_lambda" in kwargs:
        kwargs["lr_lambda"] = LAMBDAS[kwargs["lr_lambda"]]
    return getattr(jo, part["function"])(**kwargs)


def _sequential(case):
    return jo.sequential_schedule([_part(p) for p in case["parts"]], case["milestones"])


# ---- golden values ---------------------------------------------------------------------


@pytest.mark.parametrize("case", SEQUENTIAL, ids=[c["id"] for c in SEQUENTIAL])
def test_sequential_restarts_each_part_at_its_milestone_as_pytorch(case):
    ours = np.asarray(jax.jit(_sequential(case))(jnp.asarray(case["steps"], jnp.int32)))
    np.testing.assert_allclose(ours, case["values"], **golden_tolerance(case["values"]))
    torch_seq = np.asarray(case["torch_sequential"])
    if case["id"] in DEPARTURES:  # PyTorch does not restart the later part: evidence kept
        assert not np.allclose(ours, torch_seq, **golden_tolerance(torch_seq))
    else:  # elsewhere SequentialLR itself gives the same numbers
        np.testing.assert_allclose(ours, torch_seq, **golden_tolerance(torch_seq))


@pytest.mark.parametrize("case", SEQUENTIAL, ids=[c["id"] for c in SEQUENTIAL])
def test_sequential_golden_values_in_float64(case):
    with jax.enable_x64(True):
        ours = np.asarray(jax.jit(_sequential(case))(jnp.asarray(case["steps"])))
    assert ours.dtype == np.float64
    # the one-cycle curve keeps float32 constants (its contract: rtol 1e-5); the rest is exact
    onecycle = any(p["function"] == "onecycle_schedule" for p in case["parts"])
    np.testing.assert_allclose(ours, case["values"], rtol=1e-6 if onecycle else 1e-9, atol=1e-13)


@pytest.mark.parametrize("case", RULES, ids=[c["id"] for c in RULES])
def test_rules_match_lambda_lr_and_multiplicative_lr(case):
    sched = RULE_FUNCTIONS[case["kind"]](case["base_lr"], LAMBDAS[case["lr_lambda"]])
    ours = np.asarray(jax.jit(sched)(jnp.asarray(case["steps"], jnp.int32)))
    np.testing.assert_allclose(ours, case["values"], **golden_tolerance(case["values"]))
    assert sched.spec is None  # a function has no JSON form


def test_golden_cases_cover_the_issue_compositions_every_family_part_and_the_departures():
    ids = {c["id"] for c in SEQUENTIAL}
    assert {"linear_to_cosine", "constant_exponential_step", "multistep_to_polynomial"} <= ids
    parts = {p["function"] for c in SEQUENTIAL for p in c["parts"]}
    family_lr_schedules = set(jo.family.__all__) - {
        "cyclic_momentum_schedule",  # a momentum curve, not a learning rate
        "get_schedule",  # Hugging Face's names for the warmups below
        "from_deepspeed_config",  # DeepSpeed's, no PyTorch scheduler to compose
        "sequential_schedule",
    }
    family_lr_schedules = {n for n in family_lr_schedules if n.endswith("schedule")}
    assert family_lr_schedules | {"onecycle_schedule"} <= parts
    assert {c["id"] for c in SEQUENTIAL if c["departs"]} == DEPARTURES
    assert GOLDEN["versions"]["torch"].startswith("2.13")


def test_departures_recorded_with_pytorch_numbers():
    by_id = {c["id"]: c for c in SEQUENTIAL}
    onecycle = by_id["warmup_into_onecycle"]
    # PyTorch's OneCycleLR overwrites initial_lr (max_lr / div_factor = 0.04), so the
    # LinearLR warmup before it starts from 0.04 * 0.1 instead of 0.1 * 0.1.
    assert onecycle["values"][0] == pytest.approx(0.01)
    assert onecycle["torch_sequential"][0] == pytest.approx(0.004)
    mult = by_id["exponential_to_multiplicative"]
    m = mult["milestones"][0]
    assert mult["values"][m] == pytest.approx(0.1)  # restarted from base_lr
    assert mult["torch_sequential"][m] == pytest.approx(mult["torch_sequential"][m - 1] * 0.9)


# ---- the rule, counts, transforms ------------------------------------------------------


def _warmup_cosine():
    return jo.sequential_schedule(
        [
            jo.linear_lr_schedule(0.1, start_factor=0.1, total_iters=4),
            jo.onecycle_schedule(1.0, total_steps=20, convention="torch"),
            jo.exponential_schedule(0.2, gamma=0.5),
        ],
        milestones=[4, 24],
    )


def test_sequential_is_the_piecewise_restart_formula():
    parts = [
        jo.linear_lr_schedule(0.1, start_factor=0.1, total_iters=4),
        jo.onecycle_schedule(1.0, total_steps=20, convention="torch"),
        jo.exponential_schedule(0.2, gamma=0.5),
    ]
    sched = _warmup_cosine()
    for k in range(40):
        i, offset = (0, 0) if k < 4 else (1, 4) if k < 24 else (2, 24)
        assert float(sched(k)) == float(parts[i](k - offset))


def test_float_counts_reach_the_parts_as_floats_and_agree_at_integers():
    sched = _warmup_cosine()
    onecycle = jo.onecycle_schedule(1.0, total_steps=20, convention="torch")
    ints = jnp.arange(40)
    np.testing.assert_array_equal(sched(ints), sched(ints.astype(jnp.float32)))
    # a per-batch part sees the fractional count, a per-epoch part floors it
    assert float(sched(10.5)) == pytest.approx(float(onecycle(6.5)), rel=1e-6)
    assert float(sched(30.7)) == float(sched(30))
    assert float(sched(jnp.uint8(200))) == float(sched(200))


def test_sequential_is_jittable_and_vmappable_over_counts():
    sched = _warmup_cosine()
    counts = jnp.arange(50)
    looped = np.array([float(sched(k)) for k in range(50)])
    # compiled over an array, XLA's sine may differ from the eager one in the last bit
    np.testing.assert_allclose(jax.vmap(sched)(counts), looped, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(sched)(counts), looped, rtol=1e-6)
    np.testing.assert_array_equal(jax.jit(jax.vmap(sched))(counts), jax.jit(sched)(counts))
    chex.assert_tree_all_finite(sched(jnp.asarray([0, 4, 24, 2**31 - 1], jnp.int32)))


def test_multiplicative_is_jittable_for_a_traced_epoch_with_one_trace():
    sched = jo.multiplicative_schedule(1.0, lambda e: 1.0 - 0.01 * e, steps_per_epoch=2)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def at(count):
        return sched(count)

    chex.clear_trace_counter()
    expected, value = [], 1.0
    for epoch in range(30):
        if epoch > 0:
            value *= 1.0 - 0.01 * epoch
        expected += [value, value]
    got = [float(at(jnp.int32(b))) for b in range(60)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(jax.vmap(sched)(jnp.arange(60)), expected, rtol=1e-5)


def test_lambda_schedule_uses_the_epoch_of_the_count():
    sched = jo.lambda_schedule(0.5, lambda e: 1.0 / (1.0 + e), steps_per_epoch=3)
    np.testing.assert_allclose(
        sched(jnp.arange(9)), [0.5] * 3 + [0.25] * 3 + [0.5 / 3] * 3, rtol=1e-6
    )
    assert float(sched(4.9)) == float(sched(3))


# ---- specs ------------------------------------------------------------------------------


def test_sequential_spec_rebuilds_it_bitwise():
    sched = _warmup_cosine()
    spec = json.loads(json.dumps(sched.spec))
    assert spec["schedule"] == "sequential_schedule"
    assert [p["schedule"] for p in spec["args"]["schedules"]] == [
        "linear_lr_schedule",
        "onecycle_schedule",
        "exponential_schedule",
    ]
    again = jo.schedule_from_spec(spec)
    assert again.spec == sched.spec
    counts = jnp.arange(60)
    np.testing.assert_array_equal(jax.jit(again)(counts), jax.jit(sched)(counts))
    assert again(counts).dtype == sched(counts).dtype


def test_sequential_of_a_part_without_spec_has_none():
    with_rule = jo.sequential_schedule(
        [jo.lambda_schedule(0.1, lambda e: 0.9**e), jo.exponential_schedule(0.1, 0.5)], [3]
    )
    own_function = jo.sequential_schedule([lambda c: 0.1 + 0.0 * c], [])
    assert with_rule.spec is None and own_function.spec is None
    assert jo.multiplicative_schedule(0.1, lambda e: 0.9).spec is None


# ---- bad input --------------------------------------------------------------------------

PARTS = [jo.exponential_schedule(0.1, 0.5), jo.step_schedule(0.1, 2)]


@pytest.mark.parametrize(
    "milestones, exc",
    [
        ([3, 3, 5], ValueError),  # not strictly increasing
        ([5, 3], ValueError),
        ([0], ValueError),  # not positive
        ([-2], ValueError),
        ([3.0], TypeError),  # not ints
        ([True], TypeError),
        (["3"], TypeError),
        ("3", TypeError),
        (3, TypeError),
        ([], ValueError),  # the wrong count
        ([2, 4], ValueError),
        ([2**31], ValueError),
    ],
)
def test_bad_milestones_are_refused_by_name(milestones, exc):
    parts = PARTS + [PARTS[0]] if milestones == [3, 3, 5] else PARTS
    with pytest.raises(exc, match=r"sequential_schedule: `milestones` must be .*got"):
        jo.sequential_schedule(parts, milestones)


def test_bad_schedules_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`schedules` must be a non-empty list"):
        jo.sequential_schedule([], [])
    with pytest.raises(TypeError, match=r"`schedules` must be a non-empty list"):
        jo.sequential_schedule(PARTS[0], [])
    with pytest.raises(TypeError, match=r"`schedules\[1\]` must be a schedule"):
        jo.sequential_schedule([PARTS[0], 0.1], [3])
    assert np.array_equal(jo.sequential_schedule(PARTS, np.array([3]))(4), PARTS[1](1))


@pytest.mark.parametrize("make", [jo.lambda_schedule, jo.multiplicative_schedule])
def test_bad_lr_lambda_is_refused_by_name(make):
    name = make.__name__
    with pytest.raises(TypeError, match=rf"{name}: `lr_lambda` must be a function.*got 0.9"):
        make(0.1, 0.9)
    with pytest.raises(TypeError, match=rf"{name}: `lr_lambda` must be traceable by JAX"):
        make(0.1, lambda e: 0.5 if e < 3 else 1.0)
    with pytest.raises(TypeError, match=rf"{name}: `lr_lambda` must be traceable by JAX"):
        make(0.1, lambda e: "fast")
    with pytest.raises(TypeError, match=rf"{name}: `lr_lambda` must be a function .* one real"):
        make(0.1, lambda e: jnp.ones(3) * e)
    with pytest.raises(TypeError, match=rf"{name}: `lr_lambda` must be a function .* one real"):
        make(0.1, lambda e: e < 3)
    with pytest.raises(ValueError, match=rf"{name}: `lr_lambda` must be finite.*nan at epoch"):
        make(0.1, lambda e: jnp.nan * e)
    with pytest.raises(ValueError, match=rf"{name}: `base_lr` must be"):
        make(-0.1, lambda e: 1.0)


# ---- live PyTorch ------------------------------------------------------------------------


@pytest.mark.live
def test_live_linear_warmup_into_cosine():
    tls = reference("torch.optim.lr_scheduler")
    values = torch_rates(
        lambda o: tls.SequentialLR(
            o, [tls.LinearLR(o, 0.2, 1.0, 6), tls.CosineAnnealingLR(o, 15, 0.01)], [6]
        ),
        0.3,
        50,
    )
    ours = jo.sequential_schedule(
        [jo.linear_lr_schedule(0.3, 0.2, 1.0, 6), jo.cosine_annealing_schedule(0.3, 15, 0.01)],
        [6],
    )
    assert_schedule_matches(ours, values)


@pytest.mark.live
def test_live_constant_exponential_step():
    tls = reference("torch.optim.lr_scheduler")
    values = torch_rates(
        lambda o: tls.SequentialLR(
            o,
            [tls.ConstantLR(o, 0.5, 2), tls.ExponentialLR(o, 0.7), tls.StepLR(o, 4, 0.2)],
            [3, 8],
        ),
        0.2,
        30,
    )
    ours = jo.sequential_schedule(
        [
            jo.constant_lr_schedule(0.2, 0.5, 2),
            jo.exponential_schedule(0.2, 0.7),
            jo.step_schedule(0.2, 4, 0.2),
        ],
        [3, 8],
    )
    assert_schedule_matches(ours, values)


@pytest.mark.live
def test_live_multistep_into_polynomial():
    tls = reference("torch.optim.lr_scheduler")
    values = torch_rates(
        lambda o: tls.SequentialLR(
            o, [tls.MultiStepLR(o, [1, 4], 0.5), tls.PolynomialLR(o, 9, 1.5)], [6]
        ),
        0.1,
        25,
    )
    ours = jo.sequential_schedule(
        [jo.multistep_schedule(0.1, [1, 4], 0.5), jo.polynomial_schedule(0.1, 9, 1.5)], [6]
    )
    assert_schedule_matches(ours, values)


@pytest.mark.live
def test_live_lambda_lr_and_multiplicative_lr():
    tls = reference("torch.optim.lr_scheduler")
    assert_schedule_matches(
        jo.lambda_schedule(0.1, LAMBDAS["warmup_cosine_5_30"]),
        torch_rates(lambda o: tls.LambdaLR(o, _guide_rule), 0.1, 40),
    )
    assert_schedule_matches(
        jo.multiplicative_schedule(0.1, lambda e: 1.0 - 0.02 * e),
        torch_rates(lambda o: tls.MultiplicativeLR(o, lambda e: 1.0 - 0.02 * e), 0.1, 40),
    )


def _guide_rule(epoch):
    import math

    if epoch < 5:
        return float(epoch) / float(max(1, 5))
    progress = float(epoch - 5) / float(max(1, 30 - 5))
    return 0.5 * (1.0 + math.cos(math.pi * progress))
