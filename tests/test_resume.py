"""Resume and change the budget on the brainstate side: `OneCycleLR`'s horizon changes.

``OneCycleLR(horizon_changes=...)`` and ``OneCycleLR.change_horizon`` give the curve of
``onecycle_schedule(horizon_changes=...)``; an ``SGD`` on the facade follows a change with one
new trace; ``state_dict()`` records the changes (and the constructor's, as a setting), so a
fresh facade with the original arguments resumes on the changed curve.
"""

from __future__ import annotations

import json

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_onecycle as jo

CONVENTIONS = ["braintools", "torch", "fastai", "optax"]
KS = np.r_[np.arange(0, 260), 2**31 - 1].astype(np.int32)


def _bits(x):
    x = np.asarray(x)
    return x.dtype, x.tobytes()


def _f32(schedule, ks=KS):
    return np.asarray(schedule(ks), np.float32)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_constructor_horizon_changes_give_the_optax_curve_lr_and_momentum(convention):
    changes = ((60, 160), (100, 200))
    sched = jo.OneCycleLR(
        0.1, 100, convention=convention, cycle_momentum=True, horizon_changes=changes
    )
    lr = jo.onecycle_schedule(0.1, 100, convention=convention, horizon_changes=changes)
    mom = jo.onecycle_momentum_schedule(100, convention=convention, horizon_changes=changes)
    assert _bits(sched(KS)) == _bits(_f32(lr))
    values = []
    for k in (0, 59, 60, 61, 100, 150, 199, 200, 250):
        sched.last_epoch = k
        values.append((sched.group_lr(0), sched.current_momentum()))
    assert _bits([v[0] for v in values]) == _bits(
        _f32(lr, np.array([0, 59, 60, 61, 100, 150, 199, 200, 250]))
    )
    assert _bits([v[1] for v in values]) == _bits(
        _f32(mom, np.array([0, 59, 60, 61, 100, 150, 199, 200, 250]))
    )
    assert sched.horizon_changes == changes
    assert sched.total_steps == 100


def test_change_horizon_from_last_epoch_equals_the_change_given_up_front():
    sched = jo.OneCycleLR(0.1, 100, cycle_momentum=True)
    for _ in range(60):
        sched.step()
    before = sched.get_lr()
    sched.change_horizon(160)
    assert sched.get_lr() == before  # continuous at the step of the change
    assert sched.horizon_changes == ((60, 160),)
    assert sched.total_steps == 100
    up_front = jo.OneCycleLR(0.1, 100, cycle_momentum=True, horizon_changes=[[60, 160]])
    assert _bits(sched(KS)) == _bits(up_front(KS))
    assert float(sched(160)) == float(jo.OneCycleLR(0.1, 100)(100))  # the end value at the new end
    for _ in range(40):
        sched.step()
    sched.change_horizon(120)  # and shorter again, from step 100
    assert sched.horizon_changes == ((60, 160), (100, 120))
    both = jo.OneCycleLR(0.1, 100, cycle_momentum=True, horizon_changes=((60, 160), (100, 120)))
    assert _bits(sched(KS)) == _bits(both(KS))


def _model_and_opt(sched, seed=0):
    brainstate.random.seed(seed)
    model = brainstate.nn.Linear(4, 2)
    opt = jo.SGD(lr=sched, momentum=0.9)
    opt.register_trainable_weights(model.states(brainstate.ParamState))
    traces = []

    @brainstate.transform.jit
    def train_step(x):
        traces.append(None)
        loss = lambda: jnp.sum(model(x) ** 2)  # noqa: E731
        opt.update(brainstate.transform.grad(loss, model.states(brainstate.ParamState))())
        sched.step()

    return model, opt, train_step, traces


def _weights(model):
    return [
        np.asarray(s.value[k])
        for s in model.states(brainstate.ParamState).values()
        for k in sorted(s.value)
    ]


def test_an_sgd_on_the_facade_follows_a_change_with_one_new_trace():
    x = jnp.linspace(-1.0, 1.0, 4)
    changed = jo.OneCycleLR(0.5, 30, cycle_momentum=True)
    model, opt, train_step, traces = _model_and_opt(changed)
    seen = []
    for i in range(40):
        if i == 12:
            changed.change_horizon(45)
        train_step(x)
        seen.append((float(opt.opt_state.value.hyperparams["learning_rate"]),
                     float(opt.opt_state.value.hyperparams["momentum"])))  # fmt: skip
    assert len(traces) == 2  # the first call, and once after the change

    up_front = jo.OneCycleLR(0.5, 30, cycle_momentum=True, horizon_changes=((12, 45),))
    model2, opt2, train_step2, traces2 = _model_and_opt(up_front)
    seen2 = []
    for _ in range(40):
        train_step2(x)
        seen2.append((float(opt2.opt_state.value.hyperparams["learning_rate"]),
                      float(opt2.opt_state.value.hyperparams["momentum"])))  # fmt: skip
    assert len(traces2) == 1
    assert seen == seen2
    assert all(_bits(a) == _bits(b) for a, b in zip(_weights(model), _weights(model2), strict=True))
    never = jo.OneCycleLR(0.5, 30, cycle_momentum=True)
    assert seen[20][0] != float(never(20))  # the changed curve, not the original


def test_a_fresh_facade_with_the_original_arguments_resumes_the_changed_curve():
    sched = jo.OneCycleLR(0.1, 100, cycle_momentum=True, convention="torch")
    for _ in range(70):
        sched.step()
    sched.change_horizon(300)
    for _ in range(5):
        sched.step()
    saved = json.loads(json.dumps(sched.state_dict()))  # plain JSON data
    assert saved["horizon_changes"] == [[70, 300]]
    assert saved["settings"]["horizon_changes"] == []
    fresh = jo.OneCycleLR(0.1, 100, cycle_momentum=True, convention="torch")
    fresh.load_state_dict(saved)
    assert fresh.last_epoch == 75 and fresh.horizon_changes == ((70, 300),)
    assert _bits(fresh(KS)) == _bits(sched(KS))
    assert fresh.get_lr() == sched.get_lr()
    assert _bits(fresh.current_momentum()) == _bits(sched.current_momentum())


def test_the_changes_survive_an_array_file(tmp_path):
    sched = jo.OneCycleLR(0.1, 100)
    sched.step(50)
    sched.change_horizon(90)
    state = sched.state_dict()
    np.savez(tmp_path / "s.npz", horizon_changes=np.asarray(state["horizon_changes"]))
    with np.load(tmp_path / "s.npz", allow_pickle=False) as f:
        state["horizon_changes"] = f["horizon_changes"]
    fresh = jo.OneCycleLR(0.1, 100)
    fresh.load_state_dict(state)
    assert fresh.horizon_changes == ((50, 90),)


def test_constructor_horizon_changes_are_a_setting():
    saved = jo.OneCycleLR(0.1, 100, horizon_changes=((60, 160),)).state_dict()
    other = jo.OneCycleLR(0.1, 100)
    with pytest.raises(
        ValueError,
        match=r"saved with horizon_changes=\[\[60, 160\]\], but this OneCycleLR has "
        r"horizon_changes=\[\].*change_horizon",
    ):
        other.load_state_dict(saved)
    assert other.horizon_changes == () and other.last_epoch == 0


def test_a_state_dict_saved_with_other_settings_is_refused_naming_the_first_difference():
    saved = jo.OneCycleLR(0.1, 100).state_dict()
    other = jo.OneCycleLR(0.1, 150)
    with pytest.raises(
        ValueError, match=r"total_steps=100, but this OneCycleLR has total_steps=150"
    ):
        other.load_state_dict(saved)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ([[50, 40]], r"`horizon_changes\[0\]\[1\]` must be > horizon_changes\[0\]\[0\]"),
        ([[50, 90], [20, 60]], r"a change cannot go back in time"),
        ([[50]], r"`horizon_changes\[0\]` must be an \(at_step, new_total_steps\) pair"),
        ("50", r"`horizon_changes` must be a sequence"),
    ],
)
def test_a_refused_load_leaves_the_facade_as_it_was(changes, match):
    sched = jo.OneCycleLR(0.1, 100)
    sched.step(30)
    sched.change_horizon(200)
    good = sched.state_dict()
    target = jo.OneCycleLR(0.1, 100)
    target.step(7)
    with pytest.raises((TypeError, ValueError), match=match):
        target.load_state_dict({**good, "last_epoch": 40, "horizon_changes": changes})
    assert target.last_epoch == 7 and target.horizon_changes == ()
    assert _bits(target(KS)) == _bits(jo.OneCycleLR(0.1, 100)(KS))


def test_a_saved_list_must_begin_with_the_constructors_changes():
    sched = jo.OneCycleLR(0.1, 100, horizon_changes=((60, 160),))
    state = sched.state_dict()
    with pytest.raises(
        ValueError, match=r"changes that begin with this scheduler's own \[\(60, 160\)\]"
    ):
        sched.load_state_dict({**state, "horizon_changes": [[61, 160]]})
    assert sched.horizon_changes == ((60, 160),)


@pytest.mark.parametrize(
    ("last_epoch", "new_total", "exc", "match"),
    [
        (40, 40, ValueError, r"`new_total_steps` must be > last_epoch = 40"),
        (40, 10, ValueError, r"`new_total_steps` must be > last_epoch = 40"),
        (40, 50.0, TypeError, r"`new_total_steps` must be a positive integer"),
        (40, True, TypeError, r"`new_total_steps` must be a positive integer"),
        (40, 2**31, ValueError, r"`new_total_steps` must be an integer in \[1, 2\*\*31 - 1\]"),
        (100, 150, ValueError, r"`last_epoch` must be in \[0, total_steps\) = \[0, 100\)"),
    ],
)
def test_change_horizon_refuses_bad_input_and_changes_nothing(last_epoch, new_total, exc, match):
    sched = jo.OneCycleLR(0.1, 100)
    sched.step(last_epoch)
    with pytest.raises(exc, match=r"OneCycleLR\.change_horizon: " + match):
        sched.change_horizon(new_total)
    assert sched.horizon_changes == ()


def test_change_horizon_cannot_go_back_in_time_or_run_inside_jit():
    sched = jo.OneCycleLR(0.1, 100)
    sched.step(50)
    sched.change_horizon(150)
    sched.step(20)
    with pytest.raises(ValueError, match=r">= the last change's at_step 50"):
        sched.change_horizon(90)
    sched.step(150)  # at the end of the changed run
    with pytest.raises(
        ValueError, match=r"`last_epoch` must be in \[0, horizon_changes\[-1\]\[1\]\)"
    ):
        sched.change_horizon(300)

    @brainstate.transform.jit
    def change():
        sched.change_horizon(300)

    sched.step(60)
    with pytest.raises(TypeError, match=r"call it outside `jit`"):
        change()
    assert sched.horizon_changes == ((50, 150),)


def test_three_phase_reports_the_curve():
    assert jo.OneCycleLR(0.1, 100, convention="optax", anneal_strategy="linear").three_phase
    assert not jo.OneCycleLR(0.1, 100, convention="optax").three_phase
    assert jo.OneCycleLR(0.1, 100, three_phase=True).three_phase


def test_a_float32_facade_stays_float32_under_x64():
    with jax.enable_x64(True):
        sched = jo.OneCycleLR(np.float32(0.1), 100, cycle_momentum=True)
        assert sched(5).dtype == jnp.float32
        assert sched.group_lr(0).dtype == jnp.float32
        assert sched.current_momentum().dtype == jnp.float32
        sched.change_horizon(200)
        assert sched(150).dtype == jnp.float32
        lr64 = jo.onecycle_schedule(np.float32(0.1), 100, horizon_changes=((0, 200),))
        assert _bits(sched(KS)) == _bits(np.asarray(lr64(KS)).astype(np.float32))


def _page_blocks():
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "resume.md"
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


def _exec(code: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/resume.md", "exec"), {})
    return out.getvalue()


def test_the_docs_optax_recipe_resumes_on_the_extended_curve():
    first, resumed, _ = _page_blocks()
    assert _exec(first + "\n" + resumed).strip() == "1500 True"


def test_the_docs_brainstate_recipe_prints_what_the_page_says():
    *_, brainstate_block = _page_blocks()
    assert _exec(brainstate_block).strip() == "600 1000 ((600, 1500),)"
