"""lr_range_test: the sweep, smoothing, stopping rules, suggestions, both forms, errors, plot."""

import sys

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jax_onecycle._finder_result import valley_index as _valley_index
from jax_onecycle.finder import LRRangeTestResult, lr_range_test

W_TRUE = np.array([[1.0], [-2.0], [0.5]], np.float32)


def _batches(n, *, batch=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, batch, 3)).astype(np.float32)
    y = x @ W_TRUE + 0.5
    return [(x[i], y[i]) for i in range(n)]


def _loss(params, batch):
    x, y = batch
    return jnp.mean((x @ params["weight"] + params["bias"] - y) ** 2)


def _params():
    return {"weight": jnp.zeros((3, 1)), "bias": jnp.zeros(1)}


def _smooth(losses, smooth_factor):
    beta, avg, out = 1.0 - smooth_factor, 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1.0 - beta) * loss
        out.append(avg / (1.0 - beta ** (i + 1)))
    return np.asarray(out)


def _diverged(smoothed, threshold):
    best = np.minimum.accumulate(smoothed)
    return smoothed - best > (threshold - 1.0) * np.abs(best)


@pytest.fixture(scope="module")
def full_sweep():
    """A sweep that never diverges: every step runs."""
    batches = _batches(30)
    res = lr_range_test(
        _loss, _params(), batches, init_lr=1e-4, final_lr=0.05, num_iter=30, progress=False
    )
    return res, batches


@pytest.fixture(scope="module")
def diverging_sweep():
    return lr_range_test(_loss, _params(), _batches(100), num_iter=100, progress=False)


def test_learning_rates_grow_geometrically(full_sweep):
    res, _ = full_sweep
    assert res.lrs.size == res.losses.size == res.smoothed_losses.size == 30
    assert res.lrs[0] == 1e-4
    np.testing.assert_allclose(res.lrs[-1], 0.05, rtol=1e-12)
    ratios = res.lrs[1:] / res.lrs[:-1]
    np.testing.assert_allclose(ratios, (0.05 / 1e-4) ** (1 / 29), rtol=1e-12)


def test_first_loss_is_the_initial_loss_on_the_first_batch(full_sweep):
    res, batches = full_sweep
    np.testing.assert_allclose(res.losses[0], _loss(_params(), batches[0]), rtol=1e-6)


def test_second_loss_follows_one_sgd_step_at_init_lr(full_sweep):
    res, batches = full_sweep
    grads = jax.grad(_loss)(_params(), batches[0])
    stepped = jax.tree.map(lambda p, g: p - res.lrs[0] * g, _params(), grads)
    np.testing.assert_allclose(res.losses[1], _loss(stepped, batches[1]), rtol=1e-5)


def test_smoothing_is_the_bias_corrected_moving_average(full_sweep):
    res, _ = full_sweep
    np.testing.assert_allclose(res.smoothed_losses, _smooth(res.losses, 0.05), rtol=1e-12)
    np.testing.assert_allclose(res.smoothed_losses[0], res.losses[0], rtol=1e-15)


@pytest.mark.parametrize("which", ["full", "diverging"])
def test_suggestions_lie_in_the_swept_range(which, full_sweep, diverging_sweep):
    res = full_sweep[0] if which == "full" else diverging_sweep
    assert set(res.suggestions) == {"minimum", "steepest", "valley"}
    for lr in res.suggestions.values():
        assert res.lrs.min() <= lr <= res.lrs.max()
    at_min = res.lrs[np.argmin(res.smoothed_losses)]
    assert res.suggestions["minimum"] == max(at_min / 10, res.lrs[0])


def test_minimum_is_a_tenth_of_the_lr_at_the_smoothed_minimum(diverging_sweep):
    res = diverging_sweep
    k = int(np.argmin(res.smoothed_losses))
    assert res.lrs[k] / 10 > res.lrs[0]  # not clamped: the plain rule applies
    assert res.suggestions["minimum"] == res.lrs[k] / 10


def test_steepest_is_the_most_negative_slope_past_the_warmup(diverging_sweep):
    res = diverging_sweep
    skip = 100 // 10
    slopes = np.diff(res.smoothed_losses[skip:]) / np.diff(np.log(res.lrs[skip:]))
    assert res.suggestions["steepest"] == res.lrs[skip + int(np.argmin(slopes))]
    assert slopes.min() < 0


@pytest.mark.parametrize(
    "losses, expected",
    [  # expected indices from fastai 2.8.12 `fastai.callback.schedule.valley`
        ([0.0, 0.3, 0.03, -0.86, -1.32, -2.31, -2.25, -0.91], 1),
        (
            [
                -0.49,
                -1.11,
                -0.62,
                -0.27,
                -0.16,
                -1.09,
                -1.12,
                -0.42,
                -1.77,
                -2.23,
                -4.13,
                -5.42,
                -7.26,
                -7.49,
                -8.76,
            ],
            7,
        ),
        ([5, 4, 6, 3, 2.5, 7, 1, 0.5, 3, 9], 4),
        ([1.0, 2.0, 3.0], 0),  # fastai wraps to the last step here; we clamp to the first
    ],
)
def test_valley_matches_fastai(losses, expected):
    assert _valley_index(np.asarray(losses, dtype=float)) == expected


def test_divergence_stops_the_sweep_early(diverging_sweep):
    res = diverging_sweep
    assert 10 < res.lrs.size < 100
    diverged = _diverged(res.smoothed_losses, 5.0)
    assert diverged[-1] and not diverged[:-1].any()
    assert np.all(np.isfinite(res.losses))


def test_a_lower_threshold_stops_sooner(diverging_sweep):
    res = lr_range_test(
        _loss, _params(), _batches(100), num_iter=100, diverge_threshold=1.5, progress=False
    )
    assert res.lrs.size < diverging_sweep.lrs.size
    assert _diverged(res.smoothed_losses, 1.5)[-1]


def test_a_non_finite_loss_stops_the_sweep_before_that_step():
    batches = _batches(20)
    batches[7] = (np.full_like(batches[7][0], np.nan), batches[7][1])
    res = lr_range_test(
        _loss,
        _params(),
        batches,
        init_lr=1e-4,
        final_lr=1e-2,
        num_iter=20,
        chunk_size=5,
        diverge_threshold=1e6,
        progress=False,
    )
    assert res.lrs.size == 7
    assert np.all(np.isfinite(res.losses)) and np.all(np.isfinite(res.smoothed_losses))


def test_a_non_finite_first_loss_raises():
    batches = _batches(5)
    batches[0] = (np.full_like(batches[0][0], np.inf), batches[0][1])
    with pytest.raises(ValueError, match="lr_range_test: the loss of the initial `params`"):
        lr_range_test(_loss, _params(), batches, num_iter=5, progress=False)


def test_an_iterator_that_runs_out_ends_the_sweep():
    res = lr_range_test(
        _loss,
        _params(),
        iter(_batches(13)),
        init_lr=1e-4,
        final_lr=1e-2,
        num_iter=40,
        progress=False,
    )
    assert res.lrs.size == 13
    np.testing.assert_allclose(res.lrs, 1e-4 * 100 ** (np.arange(13) / 39), rtol=1e-12)


def test_the_sweep_is_traced_once_and_scanned():
    calls = []

    def loss_fn(params, batch):
        calls.append(None)
        return _loss(params, batch)

    res = lr_range_test(
        loss_fn,
        _params(),
        _batches(25),
        init_lr=1e-4,
        final_lr=1e-2,
        num_iter=25,
        chunk_size=10,
        progress=False,
    )
    assert res.lrs.size == 25
    assert len(calls) == 1  # three chunks (the last padded), one trace


def test_optax_params_are_not_changed(diverging_sweep):
    params = _params()
    params["weight"] = params["weight"] + 0.25
    before = jax.tree.map(np.array, params)
    lr_range_test(_loss, params, _batches(100), num_iter=100, progress=False)
    jax.tree.map(np.testing.assert_array_equal, params, before)


class _MLP(brainstate.nn.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(1)  # explicit weights: the default initializer is slow
        self.hidden = brainstate.nn.Linear(3, 8, w_init=rng.normal(size=(3, 8)).astype(np.float32))
        self.out = brainstate.nn.Linear(8, 1, w_init=rng.normal(size=(8, 1)).astype(np.float32))
        self.calls = brainstate.ShortTermState(jnp.zeros((), jnp.int32))

    def __call__(self, x):
        self.calls.value = self.calls.value + 1
        return self.out(jax.nn.relu(self.hidden(x)))


def test_brainstate_model_is_restored_bitwise():
    model = _MLP()
    params = model.states(brainstate.ParamState)

    def loss_fn(batch):
        x, y = batch
        return jnp.mean((model(x) - y) ** 2)

    batches = _batches(100)
    before = {k: jax.tree.map(np.array, s.value) for k, s in params.items()}
    first = float(loss_fn(batches[0]))
    calls_before = np.array(model.calls.value)
    res = lr_range_test(loss_fn, params, batches, num_iter=100, progress=False)
    assert 10 < res.lrs.size < 100  # it diverged, so the weights were driven far away
    np.testing.assert_allclose(res.losses[0], first, rtol=1e-6)
    for k, s in model.states(brainstate.ParamState).items():
        jax.tree.map(np.testing.assert_array_equal, s.value, before[k])
    np.testing.assert_array_equal(model.calls.value, calls_before)


def test_brainstate_form_trains_like_the_optax_form():
    model = brainstate.nn.Linear(3, 1, w_init=np.ones((3, 1), np.float32))
    params = model.states(brainstate.ParamState)
    (state,) = params.values()

    def loss_fn(batch):
        x, y = batch
        return jnp.mean((model(x) - y) ** 2)

    initial = jax.tree.map(jnp.array, state.value)
    kwargs = dict(init_lr=1e-3, final_lr=0.5, num_iter=20, chunk_size=6, progress=False)
    res_bs = lr_range_test(loss_fn, params, _batches(20), **kwargs)
    res_ox = lr_range_test(_loss, initial, _batches(20), **kwargs)
    np.testing.assert_allclose(res_bs.losses, res_ox.losses, rtol=1e-5)


def test_a_custom_injected_optimizer_is_used():
    opt = optax.inject_hyperparams(optax.adam)(learning_rate=123.0)
    batches = _batches(2)
    res = lr_range_test(
        _loss,
        _params(),
        batches,
        init_lr=0.1,
        final_lr=1.0,
        num_iter=2,
        optimizer=opt,
        progress=False,
    )
    grads = jax.grad(_loss)(_params(), batches[0])
    stepped = jax.tree.map(lambda p, g: p - 0.1 * jnp.sign(g), _params(), grads)
    np.testing.assert_allclose(res.losses[1], _loss(stepped, batches[1]), rtol=1e-4)


@pytest.mark.parametrize(
    "optimizer, match",
    [
        (optax.sgd(0.1, momentum=0.9), "`optimizer` must inject a numeric `learning_rate`"),
        (optax.inject_hyperparams(optax.scale)(step_size=0.1), "`optimizer` must inject"),
        ("adam", "`optimizer` must inject a numeric"),
        (
            optax.inject_hyperparams(optax.sgd)(learning_rate=optax.constant_schedule(0.5)),
            "must be a number, not a schedule",
        ),
    ],
)
def test_an_optimizer_without_an_injected_learning_rate_is_refused(optimizer, match):
    with pytest.raises(TypeError, match=match):
        lr_range_test(
            _loss, _params(), _batches(3), num_iter=3, optimizer=optimizer, progress=False
        )


def _mixed_params():
    return {"a": brainstate.ParamState(jnp.zeros(3)), "b": jnp.zeros(3)}


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(loss_fn=None), TypeError, "`loss_fn` must be callable, got None."),
        (dict(init_lr=0.0), ValueError, r"`init_lr` must be a finite number > 0, got 0.0\."),
        (dict(init_lr=float("nan")), ValueError, "`init_lr` must be a finite number > 0"),
        (dict(init_lr="1e-3"), TypeError, "`init_lr` must be a real number, got '1e-3'"),
        (dict(final_lr=float("inf")), ValueError, "`final_lr` must be a finite number > 0"),
        (
            dict(init_lr=1.0, final_lr=0.5),
            ValueError,
            r"`final_lr` must be greater than `init_lr` \(1.0\), got 0.5\.",
        ),
        (dict(num_iter=1), ValueError, r"`num_iter` must be an integer >= 2, got 1\."),
        (dict(num_iter=10.0), TypeError, "`num_iter` must be an integer >= 2, got 10.0"),
        (dict(smooth_factor=0.0), ValueError, r"`smooth_factor` must be in \(0, 1\), got 0.0"),
        (dict(smooth_factor=1.0), ValueError, r"`smooth_factor` must be in \(0, 1\), got 1.0"),
        (
            dict(diverge_threshold=1.0),
            ValueError,
            "`diverge_threshold` must be a finite number > 1, got 1.0",
        ),
        (dict(chunk_size=0), ValueError, "`chunk_size` must be a positive integer, got 0"),
        (dict(progress="yes"), TypeError, "`progress` must be True or False, got 'yes'"),
        (
            dict(batches=[]),
            ValueError,
            r"`batches` must be a non-empty sequence or iterator of batches, got \[\]",
        ),
        (dict(batches=iter([])), ValueError, "`batches` must be a non-empty sequence"),
        (dict(batches=5), TypeError, "`batches` must be a non-empty sequence or iterator"),
        (dict(params={}), ValueError, r"`params` must be a non-empty pytree.*got \{\}"),
        (dict(params=_mixed_params()), TypeError, "`params` must be all arrays"),
    ],
)
def test_bad_arguments_are_refused_before_tracing(kwargs, exc, match):
    calls = []

    def loss_fn(params, batch):
        calls.append(None)
        return _loss(params, batch)

    args = dict(loss_fn=loss_fn, params=_params(), batches=_batches(3), progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match="lr_range_test: " + match):
        lr_range_test(args.pop("loss_fn"), args.pop("params"), args.pop("batches"), **args)
    assert not calls


def test_ragged_batches_are_refused_with_a_named_error():
    batches = _batches(4)
    batches[2] = (batches[2][0][:5], batches[2][1][:5])
    with pytest.raises(ValueError, match="every batch in `batches` must have the same"):
        lr_range_test(_loss, _params(), batches, num_iter=4, progress=False)


def test_progress_bar_runs_and_is_optional(monkeypatch):
    kwargs = dict(init_lr=1e-4, final_lr=1e-2, num_iter=6, chunk_size=3)
    with_bar = lr_range_test(_loss, _params(), _batches(6), progress=True, **kwargs)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm missing: no bar, same sweep
    without = lr_range_test(_loss, _params(), _batches(6), progress=True, **kwargs)
    np.testing.assert_array_equal(with_bar.losses, without.losses)


def test_progress_bar_says_it_stopped_early_and_at_which_lr(capsys):
    res = lr_range_test(_loss, _params(), _batches(100), num_iter=100, progress=True)
    err = capsys.readouterr().err
    steps = res.lrs.size
    assert steps < 100
    assert f"{steps}/100" in err
    assert f"stopped early at step {steps}/100, lr {res.lrs[-1]:.3g}" in err
    assert "smoothed loss over 5x its minimum" in err


def test_progress_bar_of_a_full_sweep_does_not_claim_an_early_stop(capsys):
    lr_range_test(
        _loss, _params(), _batches(30), init_lr=1e-4, final_lr=0.05, num_iter=30, progress=True
    )
    err = capsys.readouterr().err
    assert "30/30" in err and "stopped early" not in err


def test_result_is_read_only(full_sweep):
    res, _ = full_sweep
    assert isinstance(res, LRRangeTestResult)
    with pytest.raises(ValueError):
        res.losses[0] = 0.0
    assert repr(res).startswith("LRRangeTestResult(steps=30, minimum=")


def test_plot_returns_log_axes(full_sweep):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res, _ = full_sweep
    ax = res.plot()
    try:
        assert isinstance(ax, matplotlib.axes.Axes)
        assert ax.get_xscale() == "log"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert sum(name in " ".join(labels) for name in res.suggestions) == 3
    finally:
        plt.close(ax.figure)
    fig, given = plt.subplots()
    try:
        assert res.plot(ax=given) is given
    finally:
        plt.close(fig)


def test_plot_clips_the_diverging_raw_loss_and_says_what_minimum_is(diverging_sweep):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = diverging_sweep
    ax = res.plot()
    try:
        bottom, top = ax.get_ylim()
        lowest = int(np.argmin(res.smoothed_losses))
        # the frame holds the raw and smoothed sweep up to the smoothed minimum ...
        assert bottom <= res.losses[: lowest + 1].min() and res.losses[: lowest + 1].max() <= top
        assert top < res.losses.max()  # ... and not the divergence,
        raw = ax.get_lines()[0].get_ydata()
        assert raw.max() <= top  # which is drawn clipped at the top edge
        labels = " ".join(t.get_text() for t in ax.get_legend().get_texts())
        assert "clipped" in labels
        assert "minimum (smoothed-minimum LR / 10)" in labels
        assert f"smoothed minimum: {res.lrs[lowest]:.2e}" in labels
        assert res.suggestions["minimum"] == pytest.approx(res.lrs[lowest] / 10, rel=1e-6)
        assert ax.get_xlabel() and ax.get_ylabel()
    finally:
        plt.close(ax.figure)


def test_a_huge_num_iter_is_refused_before_anything_is_allocated():
    with pytest.raises(ValueError, match=r"lr_range_test: `num_iter` must be an integer in \[2"):
        lr_range_test(_loss, jnp.zeros(3), [(jnp.ones((4, 3)), jnp.ones(4))], num_iter=2**40)


def test_a_non_scalar_loss_is_refused_by_name():
    def per_example(params, batch):
        x, y = batch
        return (x @ params - y) ** 2  # one loss per example, not their mean

    with pytest.raises(
        TypeError,
        match=r"lr_range_test: `loss_fn` must be a function returning "
        r"one real scalar.*shape \(4,\)",
    ):
        lr_range_test(
            per_example,
            jnp.zeros(3),
            [(jnp.ones((4, 3)), jnp.ones(4))] * 4,
            num_iter=4,
            progress=False,
        )


# --- stacked sweeps: R runs side by side ------------------------------------------------

STACK_KW = dict(init_lr=1e-4, final_lr=0.05, num_iter=30, chunk_size=7, progress=False)


def _stacked_inputs(runs, n=30):
    """``runs`` starts and ``runs`` data orders, stacked on a leading axis, and the runs apart."""
    rng = np.random.default_rng(5)
    starts = [
        {"weight": jnp.asarray(rng.normal(size=(3, 1)), jnp.float32), "bias": jnp.zeros(1)}
        for _ in range(runs)
    ]
    orders = [_batches(n, seed=10 + r) for r in range(runs)]
    params = jax.tree.map(lambda *x: jnp.stack(x), *starts)
    batches = [jax.tree.map(lambda *x: np.stack(x), *step) for step in zip(*orders)]
    return params, batches, starts, orders


def test_stacked_with_one_run_equals_the_unstacked_sweep():
    params, batches, starts, orders = _stacked_inputs(1)
    one = lr_range_test(_loss, starts[0], orders[0], **STACK_KW)
    stacked = lr_range_test(_loss, params, batches, stacked=True, **STACK_KW)
    assert stacked.losses.shape == (1, one.lrs.size) and stacked.runs == 1 and one.runs is None
    np.testing.assert_allclose(stacked.losses[0], one.losses, rtol=1e-6)
    np.testing.assert_allclose(stacked.smoothed_losses[0], one.smoothed_losses, rtol=1e-6)
    np.testing.assert_array_equal(stacked.lrs, one.lrs)
    assert stacked.suggestions == pytest.approx(one.suggestions, rel=1e-6)
    for name, value in one.suggestions.items():
        assert one.suggestion_ranges[name] == (value, value)


def test_stacked_runs_equal_the_same_runs_swept_one_by_one():
    params, batches, starts, orders = _stacked_inputs(3)
    apart = [lr_range_test(_loss, s, o, **STACK_KW) for s, o in zip(starts, orders)]
    res = lr_range_test(_loss, params, batches, stacked=True, **STACK_KW)
    assert res.losses.shape == res.smoothed_losses.shape == (3, 30) and res.lrs.shape == (30,)
    for r, one in enumerate(apart):
        np.testing.assert_allclose(res.losses[r], one.losses, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(res.smoothed_losses[r], one.smoothed_losses, rtol=2e-5)
    mean = np.mean([one.smoothed_losses for one in apart], axis=0)
    np.testing.assert_allclose(res.mean_smoothed_losses, mean, rtol=2e-5)
    expected = lr_range_test.__globals__["make_result"](res.lrs.copy(), mean, mean.copy(), 30)
    assert res.suggestions == pytest.approx(expected.suggestions, rel=1e-6)
    for name in res.suggestions:
        own = [one.suggestions[name] for one in apart]
        assert res.suggestion_ranges[name] == pytest.approx((min(own), max(own)), rel=1e-6)


def test_stacked_sweep_stops_when_the_mean_of_the_runs_diverges():
    params, batches, starts, orders = _stacked_inputs(3, n=100)
    kw = dict(num_iter=100, progress=False, diverge_threshold=3.0)
    res = lr_range_test(_loss, params, batches, stacked=True, **kw)
    apart = [
        lr_range_test(_loss, s, o, **{**kw, "diverge_threshold": 1e30})
        for s, o in zip(starts, orders)
    ]
    n = min(one.lrs.size for one in apart)
    mean = np.mean([one.smoothed_losses[:n] for one in apart], axis=0)
    stop = int(np.argmax(_diverged(mean, 3.0)))  # the first step where the mean diverges
    assert _diverged(mean, 3.0).any() and res.lrs.size == stop + 1 < 100
    np.testing.assert_allclose(res.mean_smoothed_losses, mean[: stop + 1], rtol=1e-4)


def test_stacked_sweep_stops_at_a_step_where_any_run_is_not_finite():
    params, batches, _, _ = _stacked_inputs(3, n=20)
    x, y = batches[9]
    x = x.copy()
    x[1] = np.nan  # only the second run's batch of step 9
    batches[9] = (x, y)
    res = lr_range_test(
        _loss, params, batches, stacked=True, **{**STACK_KW, "num_iter": 20, "chunk_size": 4}
    )
    assert res.losses.shape == (3, 9)  # step 9 is dropped for every run
    assert np.isfinite(res.losses).all() and np.isfinite(res.smoothed_losses).all()


def test_stacked_sweep_leaves_the_params_unchanged_and_compiles_once():
    params, batches, _, _ = _stacked_inputs(2)
    before = jax.tree.map(np.array, params)
    traces = []

    def loss(p, batch):
        traces.append(1)
        return _loss(p, batch)

    lr_range_test(loss, params, batches, stacked=True, **STACK_KW)
    jax.tree.map(np.testing.assert_array_equal, params, before)
    assert len(traces) == 1  # one trace of the vmapped step, inside one scan


@pytest.mark.parametrize(
    ("params", "batch", "match"),
    [
        (
            {"weight": jnp.zeros((3, 3, 1)), "bias": jnp.zeros((2, 1))},
            (np.zeros((3, 4, 3), np.float32), np.zeros((3, 4, 1), np.float32)),
            r"`params` must be a pytree whose every leaf has one common leading axis of R runs "
            r"\(stacked=True\), got 'leading axes \[2, 3\]'",
        ),
        (
            {"weight": jnp.zeros((3, 1)), "bias": jnp.zeros(())},
            (np.zeros((3, 4, 3), np.float32), np.zeros((3, 4, 1), np.float32)),
            r"`params` must be a pytree whose every leaf.*None",
        ),
        (
            {"weight": jnp.zeros((0, 3, 1)), "bias": jnp.zeros((0, 1))},
            (np.zeros((0, 4, 3), np.float32), np.zeros((0, 4, 1), np.float32)),
            r"`params` must be stacked on a leading axis of R >= 1 runs \(stacked=True\), got 0",
        ),
        (
            {"weight": jnp.zeros((2, 3, 1)), "bias": jnp.zeros((2, 1))},
            (np.zeros((3, 4, 3), np.float32), np.zeros((3, 4, 1), np.float32)),
            r"`batches` must be batches whose every leaf has a leading axis of R = 2 runs, "
            r"that of `params` \(stacked=True\), got 'leading axes \[3\]'",
        ),
    ],
)
def test_stacked_inputs_without_one_runs_axis_are_refused_by_name(params, batch, match):
    traces = []

    def loss(p, b):
        traces.append(1)
        return _loss(p, b)

    with pytest.raises(ValueError, match=match):
        lr_range_test(loss, params, [batch] * 5, num_iter=5, stacked=True, progress=False)
    assert not traces


def test_stacked_is_refused_for_the_brainstate_form_and_must_be_a_bool():
    model = _MLP()
    with pytest.raises(ValueError, match=r"`stacked` must be False for the brainstate form"):
        lr_range_test(
            lambda b: jnp.mean(model(b[0])),
            model.states(brainstate.ParamState),
            _batches(5),
            num_iter=5,
            stacked=True,
            progress=False,
        )
    with pytest.raises(TypeError, match=r"`stacked` must be True or False, got 1"):
        lr_range_test(_loss, _params(), _batches(5), num_iter=5, stacked=1, progress=False)


def test_stacked_plot_draws_the_mean_and_the_band_of_the_runs():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params, batches, _, _ = _stacked_inputs(3)
    res = lr_range_test(_loss, params, batches, stacked=True, **STACK_KW)
    ax = res.plot()
    try:
        labels = " ".join(t.get_text() for t in ax.get_legend().get_texts())
        assert "mean over 3 runs of the smoothed loss" in labels
        assert "lowest to highest of the 3 runs" in labels
        assert "(runs: " in labels
        (band,) = ax.collections
        lows = band.get_paths()[0].vertices[:, 1]
        assert lows.min() <= res.smoothed_losses.min() + 1e-6
        np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), res.mean_smoothed_losses)
        assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    finally:
        plt.close(ax.figure)
