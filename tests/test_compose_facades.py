"""The composing facades: SequentialLR, LambdaLR, MultiplicativeLR with braintools' workflow.

The rates an ``SGD`` built on them uses, inside ``brainstate.transform.jit`` and with one
trace for the whole run, are PyTorch's (golden values of ``tests/make_golden_compose.py``).
"""

import json
import math
import pathlib
import pickle
import re

import brainstate
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jax_onecycle as jo

GOLDEN = {
    c["id"]: c
    for c in json.loads((pathlib.Path(__file__).parent / "golden" / "compose.json").read_text())[
        "cases"
    ]
}


def get_warmup_cosine_scheduler(base_lr, warmup_epochs, total_epochs):
    """The guide's warmup-cosine LambdaLR, ported verbatim (PyTorch: ``optimizer`` first)."""

    def lr_lambda(epoch):
        if epoch < warmup_epochs:
            return float(epoch) / float(max(1, warmup_epochs))
        progress = float(epoch - warmup_epochs) / float(max(1, total_epochs - warmup_epochs))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return jo.LambdaLR(base_lr, lr_lambda)


def _rates_used(scheduler, epochs):
    """Train ``w`` on ``loss = sum(w)`` (gradient 1) with SGD(lr=scheduler), one step per epoch.

    Returns the rates the compiled updates used (read back from the weights) and the number
    of traces of the compiled step.
    """
    w = brainstate.ParamState(jnp.zeros(1, jnp.float32))
    opt = jo.SGD(lr=scheduler)
    opt.register_trainable_weights({"w": w})
    traces = []

    @brainstate.transform.jit
    def train_step():
        traces.append(1)
        opt.update({"w": jnp.ones(1, jnp.float32)})

    used, before = [], 0.0
    for _ in range(epochs):
        train_step()
        after = float(w.value[0])
        used.append(before - after)
        before = after
        scheduler.step()
    return np.asarray(used), len(traces)


def _close(ours, values):
    np.testing.assert_allclose(ours, values, rtol=2e-5, atol=1e-6 * max(values))


# ---- the rates used, against PyTorch --------------------------------------------------


def test_sequential_lr_drives_sgd_with_pytorchs_rates_and_one_trace():
    case = GOLDEN["constant_exponential_step"]
    sched = jo.SequentialLR(
        [
            jo.ConstantLR(0.1, factor=0.25, total_iters=3),
            jo.ExponentialLR(0.1, gamma=0.8),
            jo.StepLR(0.1, step_size=3, gamma=0.5),
        ],
        milestones=[4, 9],
    )
    used, traces = _rates_used(sched, len(case["values"]))
    _close(used, case["values"])
    assert traces == 1 and sched.last_epoch == len(case["values"])


def test_sequential_lr_linear_warmup_into_cosine_as_pytorch():
    case = GOLDEN["linear_to_cosine"]
    sched = jo.SequentialLR(
        [
            jo.LinearLR(0.1, start_factor=0.1, end_factor=1.0, total_iters=5),
            jo.CosineAnnealingLR(0.1, T_max=12, eta_min=0.001),
        ],
        milestones=[5],
    )
    # through T_max (braintools' facade then holds eta_min, PyTorch's curve rises again)
    n = 5 + 12 + 1
    used, traces = _rates_used(sched, n)
    _close(used, case["values"][:n])
    assert traces == 1


def test_lambda_lr_with_the_guides_python_rule_drives_sgd_without_retracing():
    case = GOLDEN["lambda_warmup_cosine_5_30"]
    sched = get_warmup_cosine_scheduler(0.1, warmup_epochs=5, total_epochs=30)
    used, traces = _rates_used(sched, len(case["values"]))
    _close(used, case["values"])
    assert traces == 1
    # the host evaluates the rule in Python floats: epoch 40, progress 35 / 25
    assert sched.state_dict()["rates"] == [0.1 * (0.5 * (1.0 + math.cos(math.pi * 35 / 25)))]


@pytest.mark.parametrize("name", ["const_0.9", "one_minus_0.02e", "halve_every_3"])
def test_multiplicative_lr_equals_pytorch_to_the_last_bit(name):
    rules = {
        "const_0.9": lambda e: 0.9,
        "one_minus_0.02e": lambda e: 1.0 - 0.02 * e,
        "halve_every_3": lambda e: 0.5 if e % 3 == 0 else 1.0,  # plain Python
    }
    case = GOLDEN[f"multiplicative_{name}"]
    sched = jo.MultiplicativeLR(0.1, rules[name])
    host = []
    for _ in case["values"]:
        host.append(sched.state_dict()["rates"][0])
        sched.step()
    assert host == case["values"]  # float64 on the host, PyTorch's order
    used, traces = _rates_used(jo.MultiplicativeLR(0.1, rules[name]), len(case["values"]))
    _close(used, case["values"])
    assert traces == 1


def test_sequential_lr_steps_inside_the_compiled_step_with_one_trace():
    case = GOLDEN["multistep_to_polynomial"]
    sched = jo.SequentialLR(
        [jo.MultiStepLR(0.1, [2, 5], 0.3), jo.PolynomialLR(0.1, total_iters=6, power=2.0)], [7]
    )
    w = brainstate.ParamState(jnp.zeros(1, jnp.float32))
    opt = jo.SGD(lr=sched)
    opt.register_trainable_weights({"w": w})
    traces = []

    @brainstate.transform.jit
    def train_epoch():
        traces.append(1)
        opt.update({"w": jnp.ones(1, jnp.float32)})
        sched.step()

    used, before = [], 0.0
    for _ in case["values"]:
        train_epoch()
        used.append(before - float(w.value[0]))
        before = float(w.value[0])
    _close(np.asarray(used), case["values"])
    assert len(traces) == 1 and sched.last_epoch == len(case["values"])


def test_setting_last_epoch_evaluates_the_rule_there():
    sched = jo.MultiplicativeLR(1.0, lambda e: 0.5 if e % 2 else 1.0)
    sched.last_epoch = 5  # epochs 1, 3, 5 halve
    assert sched.last_epoch == 5 and sched.get_last_lr() == [0.125]
    lam = jo.LambdaLR([1.0, 2.0], lambda e: 1.0 / (1 + e), last_epoch=3)
    assert lam.get_last_lr() == [0.25, 0.5]


# ---- schedules or not ------------------------------------------------------------------


def test_a_traceable_rule_makes_the_facade_an_optax_schedule():
    sched = jo.LambdaLR(0.1, lambda e: 0.95**e)
    pure = jo.lambda_schedule(0.1, lambda e: 0.95**e)
    counts = jnp.arange(20)
    np.testing.assert_allclose(sched(counts), pure(counts), rtol=1e-6)
    mult = jo.MultiplicativeLR(0.1, lambda e: 0.9)
    np.testing.assert_allclose(mult(counts), 0.1 * 0.9 ** np.arange(20), rtol=1e-5)
    assert sched.is_schedule and mult.is_schedule


def test_an_untraceable_rule_refuses_to_serve_as_a_schedule_and_says_why():
    sched = get_warmup_cosine_scheduler(0.1, 5, 30)
    assert sched.is_schedule is False and "cannot be traced by JAX" in sched.not_a_schedule
    with pytest.raises(TypeError, match=r"LambdaLR cannot serve as a schedule: .*cannot be traced"):
        sched(3)
    with pytest.raises(TypeError, match=r"cannot be traced by JAX"):
        jo.scheduled(optax.sgd, learning_rate=sched).init({"w": jnp.zeros(2)})
    with pytest.raises(TypeError, match=r"SequentialLR: `schedulers\[1\]` cannot be"):
        jo.SequentialLR([jo.ConstantLR(0.1), sched], [3])


def test_step_inside_jit_needs_a_traceable_rule():
    host = jo.LambdaLR(0.1, lambda e: 0.5 if e > 2 else 1.0)
    with pytest.raises(TypeError, match=r"LambdaLR.step: call it outside `jit`"):
        brainstate.transform.jit(host.step)()
    traced = jo.MultiplicativeLR(0.1, lambda e: 0.5)
    step = brainstate.transform.jit(traced.step)
    for _ in range(3):
        step()
    assert traced.last_epoch == 3 and traced.get_last_lr() == pytest.approx([0.0125])


# ---- resume -----------------------------------------------------------------------------


def _sequential():
    return jo.SequentialLR(
        [jo.LinearLR(0.1, start_factor=0.1, total_iters=4), jo.CosineAnnealingLR(0.1, T_max=9)],
        milestones=[4],
    )


@pytest.mark.parametrize(
    "make",
    [
        _sequential,
        lambda: get_warmup_cosine_scheduler(0.1, 5, 30),
        lambda: jo.MultiplicativeLR([0.1, 0.2], [lambda e: 0.9, lambda e: 1.0 - 0.01 * e]),
    ],
    ids=["SequentialLR", "LambdaLR", "MultiplicativeLR"],
)
def test_state_dict_resumes_exactly(make):
    run = make()
    for _ in range(7):
        run.step()
    saved = pickle.loads(pickle.dumps(run.state_dict()))
    json.dumps(saved)  # plain data
    resumed = make()
    resumed.load_state_dict(saved)
    assert resumed.last_epoch == 7 and resumed.get_last_lr() == run.get_last_lr()
    for _ in range(6):
        run.step()
        resumed.step()
        assert resumed.get_last_lr() == run.get_last_lr()
    assert resumed.state_dict() == run.state_dict()


def test_load_state_dict_refuses_other_settings_naming_them():
    saved = _sequential().state_dict()
    other = jo.SequentialLR(
        [jo.LinearLR(0.1, start_factor=0.1, total_iters=4), jo.CosineAnnealingLR(0.1, T_max=9)],
        milestones=[5],
    )
    with pytest.raises(ValueError, match=r"saved with milestones=\[4\].*milestones=\[5\]"):
        other.load_state_dict(saved)
    lam = jo.LambdaLR(0.1, lambda e: 1.0)
    lam.step()
    with pytest.raises(ValueError, match=r"saved with lr_lambda='<.*lr_lambda>'"):
        lam.load_state_dict(get_warmup_cosine_scheduler(0.1, 5, 30).state_dict())
    assert lam.last_epoch == 1  # nothing loaded


# ---- bad input --------------------------------------------------------------------------


def test_sequential_lr_refuses_what_is_not_a_package_facade():
    plateau = jo.ReduceLROnPlateau(0.1)
    with pytest.raises(TypeError, match=r"SequentialLR: `schedulers\[1\]` must be one of the"):
        jo.SequentialLR([jo.ConstantLR(0.1), plateau], [3])
    with pytest.raises(TypeError, match=r"`schedulers\[0\]` must be one of the package's"):
        jo.SequentialLR([jo.step_schedule(0.1, 3), jo.ConstantLR(0.1)], [3])
    with pytest.raises(ValueError, match=r"`schedulers` must be a non-empty list"):
        jo.SequentialLR([], [])
    with pytest.raises(ValueError, match=r"`schedulers\[1\]` drives 2 parameter group"):
        jo.SequentialLR([jo.ConstantLR(0.1), jo.ConstantLR([0.1, 0.2])], [3])
    with pytest.raises(ValueError, match=r"disagree on cycling momentum"):
        jo.SequentialLR([jo.ConstantLR(0.1), jo.OneCycleLR(0.1, 10, cycle_momentum=True)], [3])


@pytest.mark.parametrize(
    "milestones, exc",
    [([3, 3], ValueError), ([0], ValueError), ([2.0], TypeError), ([], ValueError)],
)
def test_sequential_lr_refuses_bad_milestones(milestones, exc):
    parts = [jo.ConstantLR(0.1), jo.ExponentialLR(0.1, 0.9)]
    if milestones == [3, 3]:
        parts.append(jo.StepLR(0.1, 2))
    with pytest.raises(exc, match=r"SequentialLR: `milestones` must be a strictly increasing"):
        jo.SequentialLR(parts, milestones)


@pytest.mark.parametrize("cls", [jo.LambdaLR, jo.MultiplicativeLR])
def test_bad_lr_lambda_is_refused_at_construction(cls):
    name = cls.__name__
    with pytest.raises(TypeError, match=rf"{name}: `lr_lambda` must be a function.*got 0.5"):
        cls(0.1, 0.5)
    with pytest.raises(ValueError, match=rf"{name}: `lr_lambda` must be one function or one per"):
        cls([0.1, 0.2], [lambda e: 1.0])
    with pytest.raises(TypeError, match=rf"{name}: `lr_lambda\[1\]` must be a function"):
        cls([0.1, 0.2], [lambda e: 1.0, None])
    with pytest.raises(ValueError, match=rf"{name}: `base_lr` must be"):
        cls(-0.1, lambda e: 1.0)


def test_a_bad_value_at_construction_is_refused_naming_lr_lambda():
    with pytest.raises(
        ValueError, match=r"LambdaLR: `lr_lambda` must return a finite real.* got nan at epoch 0"
    ):
        jo.LambdaLR(0.1, lambda e: float("nan"))
    with pytest.raises(
        TypeError, match=r"LambdaLR: `lr_lambda` must return a finite real number, got 'fast'"
    ):
        jo.LambdaLR(0.1, lambda e: "fast")
    with pytest.raises(TypeError, match=r"got True"):
        jo.LambdaLR(0.1, lambda e: True)


@pytest.mark.parametrize("cls", [jo.LambdaLR, jo.MultiplicativeLR])
def test_a_bad_value_at_step_changes_nothing(cls):
    sched = cls(0.1, lambda e: math.inf if e == 3 else (None if e == 4 else 0.5))
    sched.step()
    sched.step()
    before = (sched.last_epoch, sched.get_last_lr(), sched.state_dict())
    with pytest.raises(ValueError, match=rf"{cls.__name__}: `lr_lambda` .* got inf at epoch 3"):
        sched.step()
    assert (sched.last_epoch, sched.get_last_lr(), sched.state_dict()) == before
    # a jump evaluates the rule at the new epoch (MultiplicativeLR: at every epoch up to it)
    with pytest.raises((TypeError, ValueError), match=r"got (None at epoch 4|inf at epoch 3)"):
        sched.step(4)
    assert sched.state_dict() == before[2]


# ---- the porting page --------------------------------------------------------------------


def _page_block(marker):
    page = (pathlib.Path(__file__).parent.parent / "docs" / "porting.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", page, re.S) if marker in b]
    return block


def test_the_porting_pages_guide_scheduler_runs_and_gives_pytorchs_rates():
    namespace = {}
    exec(_page_block("def get_warmup_cosine_scheduler"), namespace)
    sched = namespace["scheduler"]
    assert isinstance(sched, jo.LambdaLR) and isinstance(namespace["opt"], jo.SGD)
    used, traces = _rates_used(sched, 40)
    _close(used, GOLDEN["lambda_warmup_cosine_5_30"]["values"])
    assert traces == 1


def test_the_porting_pages_warmup_cosine_lines_give_pytorchs_rates():
    namespace = {"jo": jo, "optax": optax}
    exec(_page_block("jo.sequential_schedule("), namespace)
    values = GOLDEN["linear_to_cosine"]["values"]
    _close(np.asarray(namespace["lr"](jnp.arange(len(values)))), values)
    used, _ = _rates_used(namespace["scheduler"], 18)  # the facade holds eta_min after T_max
    _close(used, values[:18])


@pytest.mark.parametrize("cls", [jo.LambdaLR, jo.MultiplicativeLR])
def test_a_rule_facade_is_read_from_one_state_by_a_compiled_update(cls):
    """Its host-evaluated rates live in the facade's one record State, with the counter."""
    sched = cls([0.1, 0.2], lambda e: 0.9)
    sched.step()
    sched.lr_apply(lambda r: r / 2)
    read = brainstate.transform.StatefulFunction(
        lambda: [sched.group_lr(0), sched.group_lr(1)]
    ).get_read_states()
    assert len(read) == 1
