"""ReduceLROnPlateau, once: the pure rule, the optax transform and the brainstate facade.

Golden values come from PyTorch (``tests/make_golden_plateau.py``); where torch is installed
the tests named ``test_live_*`` also run it directly.
"""

import functools
import json
import math
import pathlib
import pickle

import brainstate
import chex
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import golden_tolerance, reference
from hypothesis import given, settings

import jax_onecycle as jo
from jax_onecycle.optim import _plateau

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "plateau.json").read_text())
PLATEAU = GOLDEN["plateau_cases"]
TRAINING = GOLDEN["training_cases"]
PROPERTY = settings(max_examples=25, deadline=None)


@pytest.fixture(scope="module")
def torch():
    return reference("torch")


# ---- the pure rule ------------------------------------------------------------------------


def _rule_run(kwargs, metrics):
    kwargs = dict(kwargs)
    lr, hyper = _plateau.check_args("test", kwargs.pop("lr"), **kwargs)
    update = functools.partial(_plateau.update, **hyper)

    @jax.jit
    def run(metrics):
        def body(state, metric):
            state = update(state, metric)
            return state, state.lr

        return jax.lax.scan(body, _plateau.init(lr, hyper["mode"]), metrics)

    return run(jnp.asarray(metrics, jnp.float32))


@pytest.mark.parametrize("case", PLATEAU, ids=[c["id"] for c in PLATEAU])
def test_golden_rule_in_a_compiled_scan(case):
    state, lrs = _rule_run(case["kwargs"], case["metrics"])
    np.testing.assert_allclose(lrs, case["values"], **golden_tolerance(case["values"]))
    assert int(state.last_epoch) == len(case["metrics"])


def test_golden_cases_cover_nan_negative_cooldown_floor_eps_max_and_abs():
    kinds = {c["kwargs"]["mode"] for c in PLATEAU} | {
        c["kwargs"]["threshold_mode"] for c in PLATEAU
    }
    assert kinds == {"min", "max", "rel", "abs"}
    assert any(any(math.isnan(m) for m in c["metrics"]) for c in PLATEAU + TRAINING)
    assert any(min(c["metrics"]) < 0 for c in PLATEAU + TRAINING)
    assert any(c["kwargs"]["cooldown"] > 0 for c in PLATEAU + TRAINING)
    assert any(min(c["values"]) == pytest.approx(c["kwargs"]["min_lr"] or -1) for c in PLATEAU)
    assert {"eps_skip_near_min_lr", "eps_skip_small_lr"} <= {c["id"] for c in PLATEAU}
    assert {c["accumulation_size"] for c in TRAINING} >= {1, 2, 3, 4, 5}


def test_rule_state_has_fixed_dtypes_and_per_group_lr():
    lr, hyper = _plateau.check_args(
        "test", jnp.asarray([0.1, 1.0]), patience=0, min_lr=np.array([0.05, 0.0])
    )
    state = _plateau.init(lr, hyper["mode"])
    for metric in (1.0, 1.0, jnp.float32(2.0), math.nan):
        state = jax.jit(functools.partial(_plateau.update, **hyper))(state, metric)
        assert [x.dtype for x in state] == [jnp.float32] * 2 + [jnp.int32] * 3
    np.testing.assert_allclose(state.lr, [0.05, 0.001], rtol=1e-6)
    assert float(state.best) == 1.0 and int(state.last_epoch) == 4


QUARTERS = st.integers(-8, 8).map(lambda k: k / 4)  # exact in float32 and float64
RULE = dict(
    mode=st.sampled_from(_plateau.MODES),
    threshold_mode=st.sampled_from(_plateau.THRESHOLD_MODES),
    threshold=st.sampled_from([0.0, 0.25, 0.5]),
    factor=st.sampled_from([0.5, 0.25]),
    patience=st.integers(0, 3),
    cooldown=st.integers(0, 3),
    min_lr=st.sampled_from([0.0, 2.0**-6]),
    eps=st.sampled_from([0.0, 1e-8, 1e-3]),
)


@PROPERTY
@given(metrics=st.lists(QUARTERS | st.just(math.nan), min_size=1, max_size=30), **RULE)
def test_live_torch_rule(torch, metrics, **kwargs):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    values = []
    for m in metrics:
        opt.step()
        sched.step(m)
        values.append(opt.param_groups[0]["lr"])
    state, lrs = _rule_run({**kwargs, "lr": 1.0}, metrics)
    np.testing.assert_allclose(lrs, values, rtol=1e-6)
    assert int(state.num_bad_epochs) == sched.num_bad_epochs
    assert int(state.cooldown_counter) == sched.cooldown_counter
    np.testing.assert_array_equal(state.best, np.float32(sched.best))


# ---- the optax transform ------------------------------------------------------------------


def _train(tx, p0, grads, metrics):
    """Run ``tx`` in one compiled scan; per update: params, updates, lr used and lr after."""

    def lr_of(state):
        return jax.tree.leaves(
            state, is_leaf=lambda s: isinstance(s, _plateau.ReduceLROnPlateauState)
        )[-1].hyperparams["learning_rate"]

    def body(carry, batch):
        params, state = carry
        used = lr_of(state)
        updates, state = tx.update(batch[0], state, params, value=batch[1])
        params = optax.apply_updates(params, updates)
        return (params, state), (params, updates, used, lr_of(state))

    @jax.jit
    def run(p0, grads, metrics):
        return jax.lax.scan(body, (p0, tx.init(p0)), (grads, metrics))

    return run(
        jnp.asarray(p0, jnp.float32),
        jnp.asarray(grads, jnp.float32),
        jnp.asarray(metrics, jnp.float32),
    )


@pytest.mark.parametrize("case", TRAINING, ids=[c["id"] for c in TRAINING])
def test_golden_transform_after_sgd_reproduces_torch_sgd_and_plateau(case):
    tx = optax.chain(
        optax.sgd(1.0, momentum=case["momentum"] or None, nesterov=case["nesterov"]),
        jo.reduce_lr_on_plateau(**case["kwargs"], accumulation_size=case["accumulation_size"]),
    )
    _, (params, _, used, after) = _train(tx, case["p0"], case["grads"], case["metrics"])
    np.testing.assert_allclose(used, case["lrs"], rtol=1e-6)
    np.testing.assert_allclose(after, case["lrs_after"], rtol=1e-6)
    np.testing.assert_allclose(params, case["params"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", PLATEAU, ids=[c["id"] for c in PLATEAU])
def test_golden_update_k_uses_the_rate_before_metric_k(case):
    metrics = case["metrics"]
    grads = np.ones((len(metrics), 1), np.float32)
    tx = jo.reduce_lr_on_plateau(**case["kwargs"])
    _, (_, updates, used, after) = _train(tx, np.zeros(1), grads, metrics)
    before = [case["kwargs"]["lr"], *case["values"][:-1]]
    np.testing.assert_allclose(after, case["values"], **golden_tolerance(case["values"]))
    np.testing.assert_allclose(used, before, **golden_tolerance(case["values"]))
    np.testing.assert_allclose(updates[:, 0], before, **golden_tolerance(case["values"]))


def test_accumulation_decides_once_per_window_on_the_mean():
    # windows of 3: means 1.0, 1.0 (bad), 0.5 (better); the first two cut with patience 0
    tx = jo.reduce_lr_on_plateau(lr=1.0, patience=0, factor=0.5, accumulation_size=3)
    metrics = [0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.5, 0.5, 0.5]
    _, (_, _, used, after) = _train(tx, np.zeros(1), np.ones((9, 1)), metrics)
    np.testing.assert_array_equal(used, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(after, [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5])


@settings(max_examples=15, deadline=None)
@given(
    metrics=st.lists(QUARTERS | st.just(math.nan), min_size=1, max_size=24),
    size=st.integers(1, 4),
    momentum=st.sampled_from([0.0, 0.9]),
    nesterov=st.booleans(),
    **RULE,
)
def test_live_torch_transform_after_sgd(torch, metrics, size, momentum, nesterov, **kwargs):
    nesterov = nesterov and momentum > 0
    grads = np.asarray([[1.0, -0.5], [0.25, 2.0]] * len(metrics), np.float32)[: len(metrics)]
    param = torch.nn.Parameter(torch.tensor([0.5, -1.0]))
    opt = torch.optim.SGD([param], lr=0.5, momentum=momentum, nesterov=nesterov)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    params, window = [], []
    for g, m in zip(grads, metrics, strict=True):
        param.grad = torch.tensor(g)
        opt.step()
        params.append(param.detach().numpy().copy())
        window.append(m)
        if len(window) == size:
            sched.step(sum(window) / size)
            window = []
    tx = optax.chain(
        optax.sgd(1.0, momentum=momentum or None, nesterov=nesterov),
        jo.reduce_lr_on_plateau(**kwargs, lr=0.5, accumulation_size=size),
    )
    _, (ours, _, _, after) = _train(tx, [0.5, -1.0], grads, metrics)
    np.testing.assert_allclose(ours, params, rtol=1e-5, atol=1e-6)
    assert float(after[-1]) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-6)


def test_state_is_arrays_and_hyperparams_a_read_only_property():
    state = jo.reduce_lr_on_plateau(lr=0.3).init({"w": jnp.ones(2)})
    assert "hyperparams" not in state._fields
    assert all(isinstance(x, jax.Array) for x in jax.tree.leaves(state))
    assert state.hyperparams["learning_rate"].dtype == jnp.float32
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.3)
    with pytest.raises(AttributeError):
        state.hyperparams = {}  # type: ignore[misc]


def test_hyperparams_readable_inside_jit():
    tx = jo.reduce_lr_on_plateau(lr=0.3, patience=0, factor=0.5)
    params = jnp.zeros(2)

    @jax.jit
    def step(state, loss):
        _, state = tx.update(jnp.ones(2), state, params, value=loss)
        return state, state.hyperparams["learning_rate"]

    state = tx.init(params)
    state, first = step(state, 1.0)
    state, second = step(state, 1.0)
    assert (float(first), float(second)) == pytest.approx((0.3, 0.15))


def test_jo_hyperparams_finds_the_rate_through_a_chain():
    tx = optax.chain(optax.sgd(1.0, momentum=0.9), jo.reduce_lr_on_plateau(lr=0.2, patience=0))
    params = jnp.zeros(2)
    state = tx.init(params)
    for _ in range(3):
        _, state = tx.update(jnp.ones(2), state, params, value=1.0)
    assert set(jo.hyperparams(state)) == {"learning_rate"}
    assert float(jo.hyperparams(state)["learning_rate"]) == pytest.approx(0.002)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_updates_keep_their_dtype_in_scan(dtype):
    tx = optax.chain(optax.sgd(1.0, momentum=0.9), jo.reduce_lr_on_plateau(lr=0.1, patience=0))
    params = {"w": jnp.ones(4, dtype), "b": jnp.ones((), jnp.float32)}

    def body(carry, loss):
        p, s = carry
        u, s = tx.update(jax.tree.map(jnp.ones_like, p), s, p, value=loss)
        return (optax.apply_updates(p, u), s), jax.tree.map(lambda x: x.dtype == dtype, u)

    (params, state), _ = jax.lax.scan(body, (params, tx.init(params)), jnp.ones(5))
    assert params["w"].dtype == dtype and params["b"].dtype == jnp.float32
    assert state[1].plateau.lr.dtype == jnp.float32
    assert float(state[1].plateau.lr) == pytest.approx(0.1 * 0.1**4, rel=1e-5)


def test_state_stays_float32_and_int32_with_x64():
    with jax.enable_x64(True):
        tx = jo.reduce_lr_on_plateau(lr=0.1, patience=0)
        params = jnp.ones(3, jnp.float64)
        state = tx.init(params)
        updates, state = jax.jit(functools.partial(tx.update, value=1.0))(params, state)
        assert updates.dtype == jnp.float64
        assert [x.dtype for x in jax.tree.leaves(state)] == (
            [jnp.float32, jnp.float32, jnp.int32, jnp.int32, jnp.int32, jnp.int32, jnp.float32]
        )


def test_state_keeps_its_types_so_the_step_compiles_once():
    tx = jo.reduce_lr_on_plateau(patience=1, accumulation_size=2)
    params = jnp.zeros(3)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(state, loss):
        return tx.update(jnp.ones(3), state, params, value=loss)

    state = tx.init(params)
    for loss in (1.0, 2.0, 3.0, np.nan, -4.0):
        _, state = step(state, jnp.float32(loss))
    chex.assert_trees_all_equal_shapes_and_dtypes(state, tx.init(params))
    assert int(state.plateau.last_epoch) == 2 and int(state.window_count) == 1
    for loss in (1, np.float32(2.0), np.int64(3)):  # concrete metrics of any real type
        tx.update(jnp.ones(3), state, params, value=loss)


def test_chains_after_an_injected_warmup():
    warmup = optax.linear_schedule(0.0, 0.1, 4)
    tx = optax.chain(
        optax.inject_hyperparams(optax.sgd)(learning_rate=warmup, momentum=0.9),
        jo.reduce_lr_on_plateau(patience=0, factor=0.5),
    )
    params = jnp.zeros(2)
    state = tx.init(params)
    step = jax.jit(lambda s, loss: tx.update(jnp.ones(2), s, params, value=loss))
    trace, expected, got = 0.0, [], []
    for k, loss in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        trace = 1.0 + 0.9 * trace
        expected.append(-float(warmup(k)) * trace * 0.5 ** max(k - 1, 0))
        updates, state = step(state, loss)
        got.append(float(updates[0]))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_checkpoint_with_orbax_restores_and_resumes_identically(tmp_path):
    ocp = pytest.importorskip("orbax.checkpoint")
    tx = optax.chain(
        optax.sgd(1.0, momentum=0.9),
        jo.reduce_lr_on_plateau(lr=0.1, patience=1, accumulation_size=2),
    )
    params = jnp.ones(3)
    step = jax.jit(lambda p, s, loss: tx.update(jnp.ones(3), s, p, value=loss))
    state = tx.init(params)
    for loss in (1.0, 1.0, 1.0, 1.0, 1.0):
        _, state = step(params, state, loss)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "state", state)
    checkpointer.wait_until_finished()
    restored = checkpointer.restore(tmp_path / "state", target=tx.init(params))
    assert type(restored[1]) is type(state[1])
    chex.assert_trees_all_equal(restored, state)
    chex.assert_trees_all_equal(pickle.loads(pickle.dumps(state)), state)
    for loss in (1.0, 2.0, 0.5):
        a, state = step(params, state, loss)
        b, restored = step(params, restored, loss)
        chex.assert_trees_all_equal(a, b)
    chex.assert_trees_all_equal(restored, state)


BAD_VALUES = [
    ("missing", None),
    ("vector", np.array([1.0, 2.0])),
    ("one_element_vector", jnp.ones(1)),
    ("string", "0.5"),
    ("bool", True),
    ("numpy_bool", np.bool_(False)),
    ("complex", 1 + 2j),
    ("complex_array", jnp.asarray(1 + 0j)),
]


@pytest.mark.parametrize("value", [v for _, v in BAD_VALUES], ids=[i for i, _ in BAD_VALUES])
def test_transform_refuses_a_value_that_is_not_one_real_number(value):
    tx = jo.reduce_lr_on_plateau()
    state = tx.init(jnp.zeros(2))
    with pytest.raises(TypeError, match=r"reduce_lr_on_plateau: `value` must be one real number"):
        tx.update(jnp.ones(2), state, value=value)


def test_transform_refuses_a_traced_vector_but_takes_a_traced_scalar():
    tx = jo.reduce_lr_on_plateau()
    state = tx.init(jnp.zeros(2))
    step = jax.jit(lambda s, v: tx.update(jnp.ones(2), s, value=v))
    step(state, jnp.float32(1.0))
    with pytest.raises(TypeError, match=r"`value` must be one real number.*float32\[2\]"):
        step(state, jnp.ones(2))


def test_transform_without_value_names_the_keyword():
    tx = optax.chain(optax.sgd(1.0), jo.reduce_lr_on_plateau())
    with pytest.raises(TypeError, match=r"`value` must be one real number.*got None"):
        tx.update(jnp.ones(2), tx.init(jnp.zeros(2)), jnp.zeros(2))


BAD_ARGS = [
    (dict(mode="mean"), ValueError, r"`mode` must be one of 'min', 'max', got 'mean'"),
    (dict(threshold_mode="relative"), ValueError, r"`threshold_mode`.*got 'relative'"),
    (dict(factor=1.0), ValueError, r"`factor` must be in \(0, 1\), got 1\.0"),
    (dict(factor=0.0), ValueError, r"`factor`.*got 0\.0"),
    (dict(factor=1e-50), ValueError, r"`factor` must be in \(0, 1\) and > 0 in float32"),
    (dict(patience=-1), ValueError, r"`patience` must be an integer >= 0, got -1"),
    (dict(patience=2**31), ValueError, r"`patience`.*2147483648"),
    (dict(cooldown=1.5), TypeError, r"`cooldown`.*got 1\.5"),
    (dict(threshold=-1e-4), ValueError, r"`threshold` must be a finite number >= 0, got -0\.0001"),
    (dict(min_lr=-1.0), ValueError, r"`min_lr`.*got -1\.0"),
    (dict(min_lr=1e39), ValueError, r"`min_lr` must be at most .*largest float32.*got 1e\+39"),
    (dict(eps=float("nan")), ValueError, r"`eps`.*got nan"),
    (dict(lr=-0.1), ValueError, r"`lr` must be a finite number >= 0.*got -0\.1"),
    (dict(lr=1e39), ValueError, r"`lr` must be at most .*largest float32.*got 1e\+39"),
]
TRANSFORM_ONLY = [
    (dict(accumulation_size=0), ValueError, r"`accumulation_size` must be a positive integer"),
    (dict(accumulation_size=2.0), TypeError, r"`accumulation_size`.*got 2\.0"),
    (dict(lr=[0.1, 0.2]), TypeError, r"`lr` must be a real number"),
    (dict(lr="0.1"), TypeError, r"`lr` must be a real number, got '0\.1'"),
    (dict(min_lr=True), TypeError, r"`min_lr`"),
]


@pytest.mark.parametrize("bad, exc, match", BAD_ARGS + TRANSFORM_ONLY)
def test_transform_refuses_bad_arguments_by_name(bad, exc, match):
    with pytest.raises(exc, match="reduce_lr_on_plateau: " + match):
        jo.reduce_lr_on_plateau(**bad)


@pytest.mark.parametrize("bad, exc, match", BAD_ARGS)
def test_facade_refuses_bad_arguments_by_name(bad, exc, match):
    lr = bad.pop("lr", 0.1)
    with pytest.raises(exc, match="ReduceLROnPlateau: " + match):
        jo.ReduceLROnPlateau(lr, **bad)


def test_facade_refuses_a_rate_that_overflows_float32_in_any_group():
    with pytest.raises(
        ValueError, match=r"ReduceLROnPlateau: `lr` must be at most .*largest float32"
    ):
        jo.ReduceLROnPlateau([0.1, 1e39])


# ---- the brainstate facade ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [v for _, v in BAD_VALUES[1:]], ids=[i for i, _ in BAD_VALUES[1:]]
)
def test_facade_step_refuses_a_metric_that_is_not_one_real_number(value):
    sched = jo.ReduceLROnPlateau(0.1)
    before = sched.state_dict()
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: `metric` must be one real"):
        sched.step(value)
    chex.assert_trees_all_equal(sched.state_dict(), before)


def test_facade_step_refuses_none():
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: `metric`.*got None"):
        jo.ReduceLROnPlateau(0.1).step(None)


def test_facade_step_takes_a_traced_scalar_and_refuses_a_traced_vector():
    sched = jo.ReduceLROnPlateau(0.1, patience=0, factor=0.5)

    @brainstate.transform.jit
    def epoch(metric):
        sched.step(metric)

    epoch(jnp.float32(1.0))
    epoch(jnp.float32(1.0))
    assert sched.get_last_lr() == pytest.approx([0.05])
    assert sched.state_dict()["lr"].shape == (1,)
    with pytest.raises(TypeError, match=r"`metric` must be one real number"):
        epoch(jnp.ones(3))


def _stepped():
    sched = jo.ReduceLROnPlateau([0.1, 0.2], patience=1, cooldown=2)
    for metric in (1.0, 1.0, 1.0, 0.5):
        sched.step(metric)
    return sched


def _edited(**changes):
    state = dict(_stepped().state_dict())
    for key, value in changes.items():
        if value is KeyError:
            del state[key]
        else:
            state[key] = value
    return state


BAD_STATE_DICTS = [
    (
        "best_shape_3",
        _edited(best=np.ones(3, np.float32)),
        ValueError,
        r"`state_dict\['best'\]` must be of shape \(\)",
    ),
    (
        "negative_bad_epochs",
        _edited(num_bad_epochs=-5),
        ValueError,
        r"`state_dict\['num_bad_epochs'\]` must be an integer in \[0, 2\*\*31 - 1\], got -5",
    ),
    (
        "missing_key",
        _edited(cooldown_counter=KeyError),
        ValueError,
        r"missing \['cooldown_counter'\], unexpected \[\]",
    ),
    ("extra_key", _edited(momentum=0.9), ValueError, r"missing \[\], unexpected \['momentum'\]"),
    ("float_counter", _edited(last_epoch=2.5), TypeError, r"`state_dict\['last_epoch'\]`"),
    (
        "bool_counter",
        _edited(cooldown_counter=True),
        TypeError,
        r"`state_dict\['cooldown_counter'\]`",
    ),
    ("string_best", _edited(best="0.5"), TypeError, r"`state_dict\['best'\]`"),
    ("none_lr", _edited(lr=None), TypeError, r"`state_dict\['lr'\]`"),
    (
        "nan_lr",
        _edited(lr=np.array([0.1, np.nan], np.float32)),
        ValueError,
        r"`state_dict\['lr'\]` must be finite real numbers of shape \(2,\), "
        r"got array\(\[0.1, nan\]",
    ),
    (
        "negative_lr",
        _edited(lr=np.array([0.1, -0.5], np.float32)),
        ValueError,
        r"`state_dict\['lr'\]` must be a finite number >= 0",
    ),
    (
        "lr_one_group",
        _edited(lr=np.float32(0.1)),
        ValueError,
        r"`state_dict\['lr'\]` must be of shape \(2,\)",
    ),
    ("overflowing_lr", _edited(lr=np.array([0.1, 1e39])), ValueError, r"`state_dict\['lr'\]`"),
    ("nan_best", _edited(best=np.float32(np.nan)), ValueError, r"`state_dict\['best'\]`"),
    ("onecycle_state_dict", {"last_epoch": 3}, ValueError, r"missing \['best', 'cooldown_counter'"),
    ("not_a_mapping", [0.1, 0.2], TypeError, r"`state_dict` must be a mapping"),
]


@pytest.mark.parametrize(
    "state_dict, exc, match", [c[1:] for c in BAD_STATE_DICTS], ids=[c[0] for c in BAD_STATE_DICTS]
)
def test_facade_load_state_dict_refuses_what_does_not_fit_and_loads_nothing(state_dict, exc, match):
    sched = jo.ReduceLROnPlateau([0.1, 0.2], patience=1, cooldown=2)
    before = sched.state_dict()
    with pytest.raises(exc, match=r"ReduceLROnPlateau.load_state_dict: .*" + match):
        sched.load_state_dict(state_dict)
    chex.assert_trees_all_equal(sched.state_dict(), before)


def test_facade_load_state_dict_takes_its_own_dict_and_plain_numbers():
    source = _stepped()
    target = jo.ReduceLROnPlateau([0.1, 0.2], patience=1, cooldown=2)
    target.load_state_dict(pickle.loads(pickle.dumps(source.state_dict())))
    chex.assert_trees_all_equal(target.state_dict(), source.state_dict())
    plain = {
        "settings": target.settings(),
        "lr": [0.05, 0.1],
        "best": math.inf,
        "num_bad_epochs": 0,
        "cooldown_counter": 1,
        "last_epoch": 7,
    }
    target.load_state_dict(plain)
    assert target.get_last_lr() == pytest.approx([0.05, 0.1]) and target.last_epoch == 7
    counters = [v for k, v in target.state_dict().items() if k != "settings"]
    assert [v.dtype for v in counters] == [np.float32] * 2 + [np.int32] * 3


def test_facade_and_transform_share_one_rule():
    case = next(c for c in PLATEAU if c["id"] == "min_rel_nan_metrics")
    sched = jo.ReduceLROnPlateau(**case["kwargs"])
    tx = jo.reduce_lr_on_plateau(**case["kwargs"])
    state = tx.init(jnp.zeros(1))
    for metric in case["metrics"]:
        sched.step(metric)
        _, state = tx.update(jnp.ones(1), state, value=metric)
        facade = sched.state_dict()
        del facade["settings"]
        facade["lr"] = facade["lr"][0]
        chex.assert_trees_all_equal(
            facade, {k: np.asarray(v) for k, v in state.plateau._asdict().items()}
        )
