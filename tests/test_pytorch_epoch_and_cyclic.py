"""ExponentialLR, PolynomialLR, LinearLR, ConstantLR, CyclicLR: pure schedules and facades.

Golden values come from torch and braintools (``tests/make_golden_porting.py``); torch and
braintools also run live where installed.
"""

import json
import pathlib
import pickle

import brainstate
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import reference

import jax_onecycle as jo

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "porting.json").read_text())
TORCH = [c for c in GOLDEN["cases"] if c["reference"] == "torch"]
BRAINTOOLS = [c for c in GOLDEN["cases"] if c["reference"] == "braintools"]
FUNCTIONS = [
    "exponential_schedule",
    "polynomial_schedule",
    "linear_lr_schedule",
    "constant_lr_schedule",
    "cyclic_schedule",
    "cyclic_momentum_schedule",
]
FACADES = ["ExponentialLR", "PolynomialLR", "LinearLR", "ConstantLR", "CyclicLR"]
INT32_MAX = 2**31 - 1


def _close(ours, ref):
    ref = np.asarray(ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7 * float(np.max(np.abs(ref))))


# ---- golden values ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", TORCH, ids=[c["id"] for c in TORCH])
def test_pure_schedule_matches_torch_every_step(case):
    sched = getattr(jo, case["function"])(**case["kwargs"])
    _close(jax.jit(sched)(jnp.asarray(case["steps"], jnp.int32)), case["values"])


@pytest.mark.parametrize("case", TORCH, ids=[c["id"] for c in TORCH])
def test_pure_schedule_matches_torch_in_float64_to_rounding(case):
    with jax.enable_x64(True):
        sched = getattr(jo, case["function"])(**case["kwargs"])
        ours = np.asarray(jax.jit(sched)(jnp.asarray(case["steps"])))
    assert ours.dtype == np.float64
    ref = case["values"]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15 * np.max(ref))


@pytest.mark.parametrize("case", BRAINTOOLS, ids=[c["id"] for c in BRAINTOOLS])
def test_facade_matches_braintools_step_by_step(case):
    sched = getattr(jo, case["function"])(**case["kwargs"])
    ours = []
    for _ in case["steps"]:
        ours.append(sched.get_last_lr()[0])
        sched.step()
    _close(ours, case["values"])
    _close(sched(jnp.asarray(case["steps"])), case["values"])  # __call__ is the same curve


def test_golden_cases_cover_every_function_and_facade():
    assert {c["function"] for c in TORCH} == set(FUNCTIONS)
    assert {c["function"] for c in BRAINTOOLS} == set(FACADES)
    modes = {c["kwargs"].get("mode", "triangular") for c in TORCH if "cyclic" in c["function"]}
    assert modes == {"triangular", "triangular2", "exp_range"}


# ---- behaviour --------------------------------------------------------------------------------


def test_cyclic_momentum_moves_opposite_to_the_learning_rate():
    lr = jo.cyclic_schedule(0.01, 0.1, step_size_up=3, step_size_down=5)
    mom = jo.cyclic_momentum_schedule(0.8, 0.9, step_size_up=3, step_size_down=5)
    steps = jnp.arange(40)
    lr_rise = np.diff(np.asarray(lr(steps))) > 0
    mom_fall = np.diff(np.asarray(mom(steps))) < 0
    assert (lr_rise == mom_fall).all()
    assert float(mom(3)) == pytest.approx(0.8) and float(mom(8)) == pytest.approx(0.9)


def test_cyclic_scale_fn_overrides_the_mode():
    halving = jo.cyclic_schedule(0.0, 1.0, 2, mode="triangular2")
    custom = jo.cyclic_schedule(0.0, 1.0, 2, scale_fn=lambda c: 0.5 ** (c - 1), scale_mode="cycle")
    np.testing.assert_allclose(custom(jnp.arange(30)), halving(jnp.arange(30)), rtol=1e-6)
    per_batch = jo.cyclic_schedule(0.0, 1.0, 2, scale_fn=lambda k: 0.9**k, scale_mode="iterations")
    exp_range = jo.cyclic_schedule(0.0, 1.0, 2, mode="exp_range", gamma=0.9)
    np.testing.assert_allclose(per_batch(jnp.arange(30)), exp_range(jnp.arange(30)), rtol=1e-5)


def test_epoch_schedules_hold_each_epoch_for_its_batches():
    per_batch = jo.linear_lr_schedule(0.1, 0.25, 1.0, 4, steps_per_epoch=5)
    per_epoch = jo.linear_lr_schedule(0.1, 0.25, 1.0, 4)
    np.testing.assert_array_equal(per_batch(jnp.arange(30)), per_epoch(jnp.arange(30) // 5))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_schedule_is_finite_and_compiles_once(name):
    args = {"cyclic_schedule": (0.01, 0.1, 3), "cyclic_momentum_schedule": (0.8, 0.9, 3)}
    kwargs = {"exponential_schedule": {"gamma": 0.9}}.get(name, {})
    sched = getattr(jo, name)(*args.get(name, (0.1,)), **kwargs)
    steps = jnp.asarray([0, 1, 7, 2**20, INT32_MAX - 1, INT32_MAX], jnp.int32)
    traces = []

    @jax.jit
    def jitted(k):
        traces.append(1)
        return sched(k)

    values = jitted(steps)
    chex.assert_tree_all_finite(values)
    assert values.dtype == jnp.float32 and bool(jnp.all(values >= 0))
    jitted(steps + 1)
    assert len(traces) == 1


def test_cyclic_facade_with_cycle_momentum_drives_sgd_momentum():
    sched = jo.CyclicLR(
        base_lr=0.01,
        max_lr=0.1,
        step_size_up=2,
        step_size_down=3,
        cycle_momentum=True,
        base_momentum=0.85,
        max_momentum=0.95,
    )
    opt = jo.SGD(lr=sched, momentum=0.5)  # momentum= is overridden, as in PyTorch
    mom = jo.cyclic_momentum_schedule(0.85, 0.95, 2, 3)
    for k in range(8):
        assert opt.current_momentum == pytest.approx(float(mom(k)), rel=1e-6)
        assert opt.current_lr == pytest.approx(sched.get_last_lr()[0], rel=1e-6)
        sched.step()
    assert jo.SGD(lr=jo.CyclicLR(0.01, 0.1, 2), momentum=0.5).current_momentum == 0.5


@pytest.mark.parametrize("name", FACADES)
def test_facade_steps_inside_jit_updates_sgd_and_resumes_through_pickle(name):
    kwargs = {"ExponentialLR": {"gamma": 0.8}, "CyclicLR": {"max_lr": 0.5, "step_size_up": 3}}
    sched = getattr(jo, name)(base_lr=[0.1, 0.2], **kwargs.get(name, {}))
    traces = []

    @brainstate.transform.jit
    def step():
        traces.append(1)
        sched.step()

    for _ in range(4):
        step()
    assert len(traces) == 1 and sched.last_epoch == 4
    opt = jo.SGD(lr=sched.__class__(base_lr=0.1, **kwargs.get(name, {})))
    weight = brainstate.ParamState(jnp.zeros(2))
    opt.register_trainable_weights({"w": weight})
    opt.update({"w": jnp.ones(2)})
    np.testing.assert_allclose(weight.value, -opt.lr.get_last_lr()[0] * np.ones(2), rtol=1e-6)
    fresh = pickle.loads(pickle.dumps(sched))
    assert fresh.last_epoch == 4 and fresh.get_lr() == sched.get_lr()


def test_public_classes_present_the_public_module():
    for name in FACADES:
        assert getattr(jo, name).__module__ == "jax_onecycle"
    assert set(jo.__all__) >= set(FACADES) | set(FUNCTIONS)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: jo.ExponentialLR(gamma=1.5),
            ValueError,
            r"ExponentialLR: `gamma` must be in \(0, 1\], got 1.5",
        ),
        (lambda: jo.exponential_schedule(0.1, 0.0), ValueError, r"exponential_schedule: `gamma`"),
        (
            lambda: jo.PolynomialLR(total_iters=0),
            ValueError,
            r"PolynomialLR: `total_iters` must be a positive integer, got 0",
        ),
        (
            lambda: jo.polynomial_schedule(0.1, power=-1.0),
            ValueError,
            r"polynomial_schedule: `power` must be a finite number >= 0",
        ),
        (lambda: jo.LinearLR(start_factor=0.0), ValueError, r"LinearLR: `start_factor` must be in"),
        (
            lambda: jo.linear_lr_schedule(0.1, end_factor=1.5),
            ValueError,
            r"linear_lr_schedule: `end_factor` must be in \[0, 1\]",
        ),
        (
            lambda: jo.ConstantLR(factor=2.0),
            ValueError,
            r"ConstantLR: `factor` must be in \[0, 1\]",
        ),
        (
            lambda: jo.constant_lr_schedule(0.1, total_iters=2.5),
            TypeError,
            r"constant_lr_schedule: `total_iters` must be a positive integer",
        ),
        (
            lambda: jo.CyclicLR(mode="cosine"),
            ValueError,
            r"CyclicLR: `mode` must be one of 'triangular', 'triangular2', 'exp_range'",
        ),
        (lambda: jo.CyclicLR(step_size_up=0), ValueError, r"CyclicLR: `step_size_up`"),
        (
            lambda: jo.CyclicLR(base_lr=[0.1, 0.2], max_lr=[1.0, 2.0, 3.0]),
            ValueError,
            r"CyclicLR: `max_lr` must be a float or one per group \(2\)",
        ),
        (
            lambda: jo.CyclicLR(cycle_momentum=True, base_momentum=0.95, max_momentum=0.9),
            ValueError,
            r"CyclicLR: `base_momentum` must be <= `max_momentum`",
        ),
        (
            lambda: jo.cyclic_schedule(0.1, 1.0, scale_fn=3),
            TypeError,
            r"cyclic_schedule: `scale_fn` must be a callable or None",
        ),
        (
            lambda: jo.cyclic_momentum_schedule(max_momentum=1.0),
            ValueError,
            r"cyclic_momentum_schedule: `max_momentum` must be in \[0, 1\)",
        ),
        (lambda: jo.cyclic_schedule(-0.1, 1.0), ValueError, r"cyclic_schedule: `base_lr`"),
    ],
)
def test_bad_argument_is_refused_by_its_own_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- live references -------------------------------------------------------------------------


def _torch_run(make, lr, epochs, spe, momentum=False):
    torch = reference("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(epochs):
        for _ in range(spe):
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["momentum"])
            opt.step()
        sched.step()
    return (lrs, moms) if momentum else lrs


@pytest.mark.parametrize("spe", [1, 4])
def test_live_torch_epoch_schedulers(spe):
    tls = reference("torch.optim.lr_scheduler")
    pairs = [
        (
            lambda o: tls.ExponentialLR(o, 0.7),
            jo.exponential_schedule(0.3, 0.7, steps_per_epoch=spe),
        ),
        (
            lambda o: tls.PolynomialLR(o, 6, 1.5),
            jo.polynomial_schedule(0.3, 6, 1.5, steps_per_epoch=spe),
        ),
        (
            lambda o: tls.LinearLR(o, 0.2, 0.9, 7),
            jo.linear_lr_schedule(0.3, 0.2, 0.9, 7, steps_per_epoch=spe),
        ),
        (
            lambda o: tls.ConstantLR(o, 0.4, 3),
            jo.constant_lr_schedule(0.3, 0.4, 3, steps_per_epoch=spe),
        ),
    ]
    for make, ours in pairs:
        ref = _torch_run(make, 0.3, 12, spe)
        _close(jax.jit(ours)(jnp.arange(len(ref))), ref)


@pytest.mark.parametrize(
    "mode, up, down, gamma",
    [
        ("triangular", 3, 5, 1.0),
        ("triangular2", 4, None, 1.0),
        ("exp_range", 2, 6, 0.95),
    ],
)
def test_live_torch_cyclic_lr_and_momentum(mode, up, down, gamma):
    tls = reference("torch.optim.lr_scheduler")
    lrs, moms = _torch_run(
        lambda o: tls.CyclicLR(
            o, 0.02, 0.2, up, down, mode, gamma, base_momentum=0.7, max_momentum=0.95
        ),
        0.02,
        50,
        1,
        momentum=True,
    )
    _close(jo.cyclic_schedule(0.02, 0.2, up, down, mode, gamma)(jnp.arange(50)), lrs)
    _close(jo.cyclic_momentum_schedule(0.7, 0.95, up, down, mode, gamma)(jnp.arange(50)), moms)


def test_live_cyclic_facade_takes_step_size_down_as_torch_does():
    # braintools 0.3's CyclicLR ignores step_size_down; the facade follows PyTorch's
    torch = reference("torch")
    ours = jo.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=6)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    theirs = torch.optim.lr_scheduler.CyclicLR(
        opt, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=6, cycle_momentum=False
    )
    mine, torch_lrs = [], []
    for _ in range(16):
        mine.append(ours.get_last_lr()[0])
        torch_lrs.append(theirs.get_last_lr()[0])
        ours.step()
        opt.step()
        theirs.step()
    _close(mine, torch_lrs)
    _close(mine, jo.cyclic_schedule(0.01, 0.1, 2, 6)(jnp.arange(16)))
    assert mine[2] == pytest.approx(0.1) and mine[8] == pytest.approx(0.01)  # up 2, down 6


def test_family_namespace_holds_the_same_objects_as_the_top_level():
    from jax_onecycle import family

    for name in family.__all__:
        assert getattr(family, name) is getattr(jo, name), name
    assert set(FACADES) | set(FUNCTIONS) | {"get_schedule", "from_deepspeed_config"} <= set(
        family.__all__
    )


def test_cyclic_facade_updates_equal_optax_sgd_with_both_schedules():
    import optax

    sched = jo.CyclicLR(
        base_lr=0.05,
        max_lr=0.5,
        step_size_up=2,
        step_size_down=3,
        cycle_momentum=True,
        base_momentum=0.8,
        max_momentum=0.95,
    )
    opt = jo.SGD(lr=sched, momentum=0.0)
    weight = brainstate.ParamState(jnp.asarray([1.0, -2.0]))
    opt.register_trainable_weights({"w": weight})
    tx = jo.scheduled(
        optax.sgd,
        learning_rate=jo.cyclic_schedule(0.05, 0.5, 2, 3),
        momentum=jo.cyclic_momentum_schedule(0.8, 0.95, 2, 3),
    )
    params = {"w": jnp.asarray([1.0, -2.0])}
    state = tx.init(params)
    for k in range(9):
        grads = {"w": jnp.asarray([0.3, 1.0]) * (k + 1)}
        opt.update(grads)
        sched.step()
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        np.testing.assert_allclose(weight.value, params["w"], rtol=1e-6, atol=1e-6)
