"""`change_horizon` and ``horizon_changes=``: a run's end moved while it is in progress."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jax_onecycle as jo

T = 100
STEPS = jnp.arange(0, 400)


def identity(count):
    """A schedule that returns the count it is given, as float32: shows the warp itself."""
    return jnp.asarray(count, jnp.float32)


def expected_count(k: int, a: int, t: int, n: int) -> np.float32:
    """SPEC's formula, written out for one step."""
    if k <= a:
        return np.float32(k)
    if k < n:
        r = np.float32(t - a) / np.float32(n - a)
        return np.float32(a) + np.float32(k - a) * r
    return np.float32(t + (k - n))


@pytest.mark.parametrize(("a", "n"), [(60, 160), (60, 70), (0, 250), (99, 100), (30, 31)])
def test_the_count_the_changed_schedule_reads_is_specs_formula(a, n):
    changed = jo.change_horizon(identity, at_step=a, total_steps=T, new_total_steps=n)
    got = np.asarray(changed(STEPS))
    want = np.array([expected_count(int(k), a, T, n) for k in STEPS], np.float32)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [160, 70, 61])
@pytest.mark.parametrize("convention", ["braintools", "torch", "fastai", "optax"])
def test_longer_or_shorter_run_is_unchanged_up_to_at_step_and_ends_on_the_original_end(
    n, convention
):
    a = 60
    sched = jo.onecycle_schedule(0.1, T, convention=convention)
    changed = jo.change_horizon(sched, at_step=a, total_steps=T, new_total_steps=n)
    before = jnp.arange(0, a + 1)
    np.testing.assert_array_equal(changed(before), sched(before))
    assert changed(n) == sched(T)  # the new end has the original's end value
    np.testing.assert_array_equal(changed(n + jnp.arange(50)), sched(T + jnp.arange(50)))
    # between: the rest of the curve stretched or squeezed onto the remaining steps
    k = a + 1
    warped = np.float32(a) + np.float32(k - a) * (np.float32(T - a) / np.float32(n - a))
    assert changed(k) == sched(jnp.float32(warped))


def test_past_the_end_behaviour_is_shifted_not_held():
    # PyTorch's CosineAnnealingLR rises again past t_max: the changed curve does so from N.
    sched = jo.cosine_annealing_schedule(0.1, t_max=T, eta_min=0.01)
    changed = jo.change_horizon(sched, at_step=40, total_steps=T, new_total_steps=150)
    past = jnp.arange(0, 120)
    np.testing.assert_array_equal(changed(150 + past), sched(T + past))
    assert changed(170) > changed(150)  # still rising, as the original past T


def test_chained_changes_apply_in_order_each_to_the_previous_total():
    sched = jo.onecycle_schedule(0.1, T)
    first = jo.change_horizon(sched, at_step=30, total_steps=T, new_total_steps=200)
    second = jo.change_horizon(first, at_step=150, total_steps=200, new_total_steps=180)
    built = jo.onecycle_schedule(0.1, T, horizon_changes=((30, 200), (150, 180)))
    np.testing.assert_array_equal(built(STEPS), second(STEPS))
    assert built(180) == sched(T)
    # the same step twice is not going back in time
    same = jo.onecycle_schedule(0.1, T, horizon_changes=[[30, 200], [30, 90]])
    np.testing.assert_array_equal(same(jnp.arange(31)), sched(jnp.arange(31)))


def test_jit_and_vmap_give_the_eager_values():
    # XLA may fuse a compiled curve's arithmetic differently from op-by-op dispatch (so does
    # the unchanged curve): compiled values agree to float32 rounding, batched ones exactly.
    sched = jo.onecycle_schedule(0.1, T, horizon_changes=((60, 130), (100, 120)))
    eager = np.asarray([sched(int(k)) for k in STEPS[:150]])
    np.testing.assert_allclose(jax.jit(sched)(STEPS[:150]), eager, rtol=1e-5)
    np.testing.assert_array_equal(jax.vmap(sched)(STEPS[:150]), sched(STEPS[:150]))
    np.testing.assert_allclose(jax.vmap(sched)(STEPS[:150]), eager, rtol=1e-5)
    # vmap over the peak learning rate, the changes applied to each
    peaks = jnp.array([0.1, 0.2])
    curves = jax.vmap(lambda m: jo.onecycle_schedule(m, T, horizon_changes=((60, 130),))(STEPS))(
        peaks
    )
    np.testing.assert_array_equal(
        curves[1], jo.onecycle_schedule(0.2, T, horizon_changes=((60, 130),))(STEPS)
    )


@pytest.mark.parametrize("dtype", [jnp.int8, jnp.uint8, jnp.int16, jnp.uint32, jnp.int32])
def test_integer_counts_of_any_dtype_equal_int32(dtype):
    sched = jo.onecycle_schedule(0.1, T, horizon_changes=((60, 110),))
    info = np.iinfo(dtype)
    ks = np.arange(0, min(int(info.max), 300) + 1)
    np.testing.assert_array_equal(sched(jnp.asarray(ks, dtype)), sched(jnp.asarray(ks, jnp.int32)))


def test_float_counts_follow_the_formula_at_real_positions():
    sched = jo.onecycle_schedule(0.1, T)
    changed = jo.change_horizon(sched, at_step=60, total_steps=T, new_total_steps=160)
    # whole floats before the change and past the new end read the original at that count
    np.testing.assert_array_equal(changed(jnp.float32(30.0)), sched(jnp.float32(30.0)))
    np.testing.assert_array_equal(changed(jnp.float32(170.0)), sched(jnp.float32(110.0)))
    # between: a + (k - a) * r, k real
    k = 100.5
    warped = np.float32(60) + np.float32(k - 60) * (np.float32(40) / np.float32(100))
    assert changed(jnp.float32(k)) == sched(jnp.float32(warped))
    assert changed(jnp.float32(100.0)) == changed(100)


def test_counts_up_to_int32_max_never_wrap():
    shorter = jo.change_horizon(identity, at_step=10, total_steps=1000, new_total_steps=20)
    top = jnp.int32(2**31 - 1)
    assert shorter(top) == np.float32(2**31 - 1)  # held at int32's top, not wrapped negative
    np.testing.assert_array_equal(shorter(jnp.asarray(2**32 - 1, jnp.uint32)), shorter(top))


def test_entry_points_equal_change_horizon_bitwise():
    a, n = 60, 140
    changes = ((a, n),)

    def changed(s):
        return jo.change_horizon(s, at_step=a, total_steps=T, new_total_steps=n)

    lr = jo.onecycle_schedule(0.1, T, horizon_changes=changes)
    np.testing.assert_array_equal(lr(STEPS), changed(jo.onecycle_schedule(0.1, T))(STEPS))
    mom = jo.onecycle_momentum_schedule(T, horizon_changes=changes)
    np.testing.assert_array_equal(mom(STEPS), changed(jo.onecycle_momentum_schedule(T))(STEPS))
    want_lr, want_mom = (
        changed(jo.onecycle_schedule(0.1, T)),
        changed(jo.onecycle_momentum_schedule(T)),
    )
    params = {"w": jnp.zeros(3)}
    for opt, key in (
        (jo.onecycle_sgd(0.1, T, horizon_changes=changes), "momentum"),
        (jo.onecycle_adamw(0.1, T, horizon_changes=changes), "b1"),
    ):
        state = opt.init(params)
        update = jax.jit(opt.update)
        for k in range(n + 5):
            _, state = update({"w": jnp.ones(3)}, state, params)
            hp = jo.hyperparams(state)  # compiled: float32 rounding may differ from eager
            np.testing.assert_allclose(hp["learning_rate"], want_lr(k), rtol=1e-5, err_msg=key)
            np.testing.assert_allclose(hp[key], want_mom(k), rtol=1e-5, err_msg=key)


def test_entry_point_with_changes_trains_as_the_changed_schedule_in_optax():
    changes = ((60, 140),)
    ours = jo.onecycle_sgd(0.1, T, horizon_changes=changes, cycle_momentum=False, max_momentum=0.9)
    lr = jo.onecycle_schedule(0.1, T, horizon_changes=changes)
    plain = optax.sgd(lr, momentum=0.9)
    params = {"w": jnp.linspace(-1.0, 1.0, 4)}
    s1, s2 = ours.init(params), plain.init(params)
    p1 = p2 = params
    for _ in range(150):
        g = jax.tree.map(lambda w: 2.0 * w + 0.1, p1)
        u1, s1 = ours.update(g, s1, p1)
        u2, s2 = plain.update(jax.tree.map(lambda w: 2.0 * w + 0.1, p2), s2, p2)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    np.testing.assert_array_equal(p1["w"], p2["w"])


class _NotASchedule:
    is_schedule = False
    not_a_schedule = "its rate is set by step(metric), not by the step count"

    def __call__(self, count):
        return 0.1


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"at_step": 100}, ValueError, r"`at_step` must be in \[0, total_steps\)"),
        ({"at_step": -1}, ValueError, "`at_step`"),
        ({"at_step": 60.0}, TypeError, "`at_step`"),
        ({"at_step": True}, TypeError, "`at_step`"),
        ({"new_total_steps": 60}, ValueError, "`new_total_steps` must be > at_step = 60"),
        ({"new_total_steps": 2**31}, ValueError, r"`new_total_steps` must be an integer in"),
        ({"new_total_steps": 150.0}, TypeError, "`new_total_steps`"),
        ({"new_total_steps": False}, TypeError, "`new_total_steps`"),
        ({"total_steps": 0}, ValueError, "`total_steps`"),
        ({"total_steps": "100"}, TypeError, "`total_steps`"),
        ({"total_steps": 2**31}, ValueError, "`total_steps`"),
        ({"schedule": 0.1}, TypeError, "`schedule` must be a schedule"),
        ({"schedule": _NotASchedule()}, TypeError, "`schedule` cannot be _NotASchedule"),
    ],
)
def test_change_horizon_refuses_bad_input_by_name(kwargs, exc, match):
    args = {
        "schedule": jo.onecycle_schedule(0.1, T),
        "at_step": 60,
        "total_steps": T,
        "new_total_steps": 150,
        **kwargs,
    }
    schedule = args.pop("schedule")
    with pytest.raises(exc, match=match) as info:
        jo.change_horizon(schedule, **args)
    assert str(info.value).startswith("change_horizon: ")


@pytest.mark.parametrize(
    ("changes", "exc", "match"),
    [
        (5, TypeError, "`horizon_changes` must be a sequence"),
        ("60,150", TypeError, "`horizon_changes` must be a sequence"),
        ({(60, 150)}, TypeError, "`horizon_changes` must be a sequence"),
        ([(60, 150, 3)], TypeError, r"`horizon_changes\[0\]` must be an \(at_step"),
        ([60, 150], TypeError, r"`horizon_changes\[0\]` must be an \(at_step"),
        ([(60.0, 150)], TypeError, r"`horizon_changes\[0\]\[0\]`"),
        ([(True, 150)], TypeError, r"`horizon_changes\[0\]\[0\]`"),
        ([(60, 150.5)], TypeError, r"`horizon_changes\[0\]\[1\]`"),
        ([(100, 150)], ValueError, r"`horizon_changes\[0\]\[0\]` must be in \[0, total_steps\)"),
        ([(60, 60)], ValueError, r"`horizon_changes\[0\]\[1\]` must be > horizon_changes\[0\]"),
        ([(60, 2**31)], ValueError, r"`horizon_changes\[0\]\[1\]`"),
        ([(60, 150), (150, 200)], ValueError, r"\[1\]\[0\]` must be in \[0, horizon_changes\[0"),
        ([(60, 150), (50, 200)], ValueError, r"cannot go back in time"),
    ],
)
@pytest.mark.parametrize(
    "entry",
    [
        lambda c: jo.onecycle_schedule(0.1, T, horizon_changes=c),
        lambda c: jo.onecycle_momentum_schedule(T, horizon_changes=c),
        lambda c: jo.onecycle_sgd(0.1, T, horizon_changes=c),
        lambda c: jo.onecycle_adamw(0.1, T, horizon_changes=c),
    ],
    ids=["onecycle_schedule", "onecycle_momentum_schedule", "onecycle_sgd", "onecycle_adamw"],
)
def test_horizon_changes_refused_by_name_at_every_entry_point(entry, changes, exc, match):
    with pytest.raises(exc, match=match):
        entry(changes)


def test_horizon_changes_default_is_empty_and_keeps_the_curve():
    plain = jo.onecycle_schedule(0.1, T)
    for changes in ((), []):
        np.testing.assert_array_equal(
            jo.onecycle_schedule(0.1, T, horizon_changes=changes)(STEPS), plain(STEPS)
        )


def test_momentum_follows_the_same_changes_as_the_learning_rate():
    changes = ((10, 200),)
    lr = jo.onecycle_schedule(0.1, T, horizon_changes=changes)
    mom = jo.onecycle_momentum_schedule(T, horizon_changes=changes)
    # the learning rate's peak (step 30 of 100) and the momentum's trough move together, to
    # 10 + 20 * 190 / 90 = 52.2
    peak, trough = int(jnp.argmax(lr(STEPS))), int(jnp.argmin(mom(STEPS)))
    assert peak == trough == 53  # step 53 reads 30.4 (cos, flat at the top), step 52 29.9


def test_a_plateau_scheduler_is_refused_as_the_schedule_to_change():
    plateau = jo.ReduceLROnPlateau(0.1)
    with pytest.raises(TypeError, match=r"^change_horizon: `schedule` cannot be ReduceLROnPlateau"):
        jo.change_horizon(plateau, at_step=1, total_steps=10, new_total_steps=20)
