"""Value-for-value parity with the reference libraries.

Golden values come from running PyTorch, braintools, optax, fastai and DeepSpeed
(``tests/make_golden.py``); the references that are importable here are also run live.
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_onecycle as jo

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "onecycle.json").read_text())


def _tolerance(case):
    values = np.asarray(case["values"])
    scale = float(np.max(np.abs(values)))
    # float32 resolution of the curve; fastai computes its phase position in float32
    # (fastai/callback/schedule.py, combine_scheds), which costs it ~1e-6 of the peak.
    atol = (2e-6 if case["reference"] == "fastai" else 1e-7) * scale
    return dict(rtol=1e-5, atol=atol)


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["id"] for c in GOLDEN["cases"]])
def test_golden_values_match_every_step(case):
    sched = getattr(jo, case["function"])(**case["kwargs"])
    steps = jnp.asarray(case["steps"], dtype=jnp.int32)
    np.testing.assert_allclose(jax.jit(sched)(steps), case["values"], **_tolerance(case))


def test_every_reference_is_covered():
    references = {c["reference"] for c in GOLDEN["cases"]}
    assert references == {"torch", "braintools", "optax", "fastai", "deepspeed"}


# ---- live references -------------------------------------------------------------

LIVE_GRID = [(1, 0.3), (2, 0.3), (7, 0.3), (10, 0.25), (100, 0.05), (1000, 0.3)]


@pytest.mark.parametrize("total, pct", LIVE_GRID)
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_live_optax_onecycle(total, pct, anneal):
    import optax

    if anneal == "cos":
        ref = optax.cosine_onecycle_schedule(total, 0.1, pct)
    else:  # optax's linear two-phase one-cycle is piecewise_interpolate over the same knots
        ref = optax.piecewise_interpolate_schedule(
            "linear", 0.1 / 25, {int(pct * total): 25.0, total: 1 / (25 * 1e4)})
    steps = jnp.arange(total + 5)
    ours = jo.onecycle_schedule(0.1, total, pct_start=pct, anneal_strategy=anneal,
                                convention="optax")
    # optax evaluates `1 + cos(pi p)` in float32, which cancels near the end: allow its
    # float32 resolution of the curve (the float64 golden values above are exact).
    np.testing.assert_allclose(jax.jit(ours)(steps), jax.vmap(ref)(steps),
                               rtol=1e-5, atol=2e-8)


@pytest.mark.parametrize("total, pct", LIVE_GRID)
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_live_braintools_onecycle(total, pct, anneal):
    braintools = pytest.importorskip("braintools")
    ref = braintools.optim.OneCycleLR(0.1, total, pct_start=pct, anneal_strategy=anneal)
    expected = []
    for _ in range(total + 3):
        expected.append(float(ref.get_lr()[0]))
        ref.step()
    ours = jo.onecycle_schedule(0.1, total, pct_start=pct, anneal_strategy=anneal)
    np.testing.assert_allclose(jax.jit(ours)(jnp.arange(total + 3)), expected,
                               rtol=1e-5, atol=2e-8)


@pytest.mark.parametrize("total, pct", LIVE_GRID + [(10, 1.0)])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_live_torch_onecycle_lr_and_momentum(total, pct, anneal, three_phase):
    torch = pytest.importorskip("torch")
    if pct * total == 1.0 or (three_phase and pct == 1.0):
        pytest.skip("PyTorch divides by zero here")
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(
        opt, 0.1, total_steps=total, pct_start=pct, anneal_strategy=anneal,
        three_phase=three_phase)
    lrs, moms = [], []
    for step in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        if step < total - 1:
            ref.step()
    kwargs = dict(pct_start=pct, anneal_strategy=anneal, three_phase=three_phase,
                  convention="torch")
    steps = jnp.arange(total)
    lr = jax.jit(jo.onecycle_schedule(0.1, total, **kwargs))(steps)
    mom = jax.jit(jo.onecycle_momentum_schedule(total, **kwargs))(steps)
    np.testing.assert_allclose(lr, lrs, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(mom, moms, rtol=1e-5)
