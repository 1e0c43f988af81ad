"""SGD, Adam and AdamW on the one brainstate optimizer: optax's numbers, braintools' surface."""

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import reference

import jax_onecycle as jo

G = [
    {"w": jnp.array([0.5, -1.0, 2.0])},
    {"w": jnp.array([-0.3, 0.2, 1.0])},
    {"w": jnp.array([1.5, 0.5, -0.5])},
]


def _run(opt, grads=G, w0=(1.0, -2.0, 0.5)):
    w = brainstate.ParamState(jnp.array(w0))
    opt.register_trainable_weights({"w": w})
    step = brainstate.transform.jit(lambda g: opt.step(g))
    for g in grads:
        step(g)
    return np.asarray(w.value)


def _optax(tx, grads=G, w0=(1.0, -2.0, 0.5)):
    params = {"w": jnp.array(w0)}
    state = tx.init(params)

    @jax.jit
    def step(g, state, params):
        updates, state = tx.update(g, state, params)
        return optax.apply_updates(params, updates), state

    for g in grads:
        params, state = step(g, state, params)
    return np.asarray(params["w"])


def _l2_adam(learning_rate, b1, b2, eps, weight_decay):
    return optax.chain(
        optax.add_decayed_weights(weight_decay), optax.adam(learning_rate, b1, b2, eps)
    )


def _l2_sgd(learning_rate, momentum, weight_decay):
    return optax.chain(
        optax.add_decayed_weights(weight_decay), optax.sgd(learning_rate, momentum, nesterov=True)
    )


@pytest.mark.parametrize(
    "make, factory, kwargs",
    [
        (lambda: jo.Adam(lr=0.1), optax.adam, dict(learning_rate=0.1, b1=0.9, b2=0.999, eps=1e-8)),
        (
            lambda: jo.Adam(lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3),
            _l2_adam,
            dict(learning_rate=0.1, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.3),
        ),
        (
            lambda: jo.AdamW(lr=0.1),
            optax.adamw,
            dict(learning_rate=0.1, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01),
        ),
        (
            lambda: jo.AdamW(lr=0.1, weight_decay=0.3),
            optax.adamw,
            dict(learning_rate=0.1, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.3),
        ),
        (
            lambda: jo.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.3),
            _l2_sgd,
            dict(learning_rate=0.1, momentum=0.9, weight_decay=0.3),
        ),
    ],
    ids=["adam", "adam-l2", "adamw-default", "adamw", "sgd-nesterov-decay"],
)
def test_named_optimizers_train_bitwise_as_the_optax_chain_they_name(make, factory, kwargs):
    # the reference: optax's chain with the same hyperparameters injected (float32 arrays)
    reference_tx = optax.inject_hyperparams(factory)(**kwargs)
    np.testing.assert_array_equal(_run(make()), _optax(reference_tx))


def test_adam_weight_decay_is_l2_and_adamw_is_decoupled():
    adam, adamw = _run(jo.Adam(lr=0.1, weight_decay=0.3)), _run(jo.AdamW(lr=0.1, weight_decay=0.3))
    assert not np.allclose(adam, adamw)  # the two meanings of weight_decay differ


@pytest.mark.live
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.2)),
        ("AdamW", dict(lr=0.05, weight_decay=0.2)),
        ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.2)),
    ],
)
def test_named_optimizers_match_braintools_of_the_same_name(name, kwargs):
    braintools = reference("braintools")
    ours = _run(getattr(jo, name)(**kwargs))
    theirs = _run(getattr(braintools.optim, name)(**kwargs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make, key",
    [
        (lambda s: jo.SGD(lr=s, momentum=0.5), "momentum"),
        (lambda s: jo.Adam(lr=s), "b1"),
        (lambda s: jo.AdamW(lr=s), "b1"),
    ],
)
def test_a_cycling_scheduler_cycles_sgd_momentum_and_adam_b1(make, key):
    sched = jo.OneCycleLR(max_lr=0.1, total_steps=10, cycle_momentum=True)
    pure = jo.onecycle_momentum_schedule(10)
    opt = make(sched)
    w = brainstate.ParamState(jnp.ones(2))
    opt.register_trainable_weights({"w": w})
    step = brainstate.transform.jit(lambda: opt.update({"w": jnp.ones(2)}))
    for k in range(6):
        step()
        assert float(jo.hyperparams(opt)[key]) == pytest.approx(float(pure(k)), rel=1e-6)
        sched.step()


def test_sgd_weight_decay_takes_a_schedule_driven_by_the_step_count():
    decay = jo.step_schedule(0.5, step_size=2, gamma=0.1)
    got = _run(jo.SGD(lr=0.1, momentum=0.9, weight_decay=decay))
    ref = _optax(jo.scheduled(optax.sgd, learning_rate=0.1, momentum=0.9))  # without decay
    assert not np.allclose(got, ref)
    params, buf = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for k, g in enumerate(G):  # PyTorch's SGD with the decay of step k
        buf = 0.9 * buf + np.asarray(g["w"]) + float(decay(k)) * params
        params = params - 0.1 * buf
    np.testing.assert_allclose(got, params, rtol=1e-6)


def test_step_get_last_lr_and_lr_apply_as_braintools_users_call_them():
    opt = jo.Adam(jo.StepLR(0.1))
    opt.lr_apply(lambda lr: lr * 0.5)
    assert opt.current_lr == 0.05 and opt.get_last_lr() == [0.05]
    plain = jo.SGD(0.2)
    w = brainstate.ParamState(jnp.ones(1))
    plain.register_trainable_weights({"w": w})
    step = brainstate.transform.jit(lambda: plain.step({"w": jnp.ones(1)}))
    step()
    plain.lr_apply(lambda lr: lr / 4)  # a float rate: replaced, no new trace
    step()
    np.testing.assert_allclose(w.value, 1 - 0.2 - 0.05, rtol=1e-6)
    assert plain.get_last_lr() == [0.05] and plain.state_dict()["opt_state"][
        ".hyperparams['learning_rate']"
    ] == np.float32(0.05)
    with pytest.raises(TypeError, match=r"SGD.lr_apply: a learning rate given as a schedule"):
        jo.SGD(jo.onecycle_schedule(0.1, 10)).lr_apply(lambda lr: lr)
    with pytest.raises(ValueError, match=r"`fn\(rate\)` must be a finite number >= 0"):
        plain.lr_apply(lambda lr: -lr)


class _BraintoolsLike:  # what braintools' schedulers look like to us: their module's name
    __module__ = "braintools.optim"

    def __call__(self, count):
        return -0.1


_BraintoolsLike.__name__ = _BraintoolsLike.__qualname__ = "StepLR"


@pytest.mark.parametrize("cls", [jo.SGD, jo.Adam, jo.AdamW])
def test_a_braintools_scheduler_is_refused_naming_ours(cls):
    with pytest.raises(
        TypeError, match=r"`lr` cannot be braintools' StepLR.*`jax_onecycle.StepLR`"
    ):
        cls(lr=_BraintoolsLike())


@pytest.mark.live
def test_the_real_braintools_scheduler_is_refused():
    braintools = reference("braintools")
    with pytest.raises(TypeError, match=r"braintools' ExponentialDecayLR.*gradient ascent"):
        jo.SGD(lr=braintools.optim.ExponentialDecayLR(0.1, decay_steps=10, decay_rate=0.5))


@pytest.mark.parametrize("cls", [jo.SGD, jo.Adam, jo.AdamW])
def test_a_schedule_negative_at_step_zero_is_refused(cls):
    with pytest.raises(
        ValueError,
        match=rf"{cls.__name__}: `lr` must be a schedule whose rate "
        r"at step 0 is finite and >= 0, got -0.1",
    ):
        cls(lr=lambda count: -0.1 + 0.0 * count)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: jo.Adam(betas=(0.9,)), TypeError, r"Adam: `betas` must be a pair"),
        (lambda: jo.Adam(betas=(0.9, 1.0)), ValueError, r"Adam: `betas\[1\]` must be in \[0, 1\)"),
        (lambda: jo.AdamW(eps=0.0), ValueError, r"AdamW: `eps` must be"),
        (lambda: jo.AdamW(weight_decay=-1.0), ValueError, r"AdamW: `weight_decay`"),
        (lambda: jo.Adam(grad_clip_norm=0.0), ValueError, r"Adam: `grad_clip_norm`"),
        (lambda: jo.SGD(weight_decay="0.1"), TypeError, r"SGD: `weight_decay`"),
        (lambda: jo.SGD(lr=jo.ReduceLROnPlateau(0.1), momentum=2.0), ValueError, r"`momentum`"),
    ],
)
def test_bad_arguments_of_the_named_optimizers_are_refused_by_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_an_adam_state_dict_is_refused_by_sgd_naming_the_kind():
    adam, sgd = jo.Adam(0.1), jo.SGD(0.1, momentum=0.9)
    for opt in (adam, sgd):
        opt.register_trainable_weights({"w": brainstate.ParamState(jnp.ones(2))})
        opt.update({"w": jnp.ones(2)})
    before = sgd.state_dict()
    with pytest.raises(
        ValueError,
        match=r"saved with optimizer='Adam', but this SGD has "
        r"optimizer='SGD'.*Nothing was loaded",
    ):
        sgd.load_state_dict(adam.state_dict())
    after = sgd.state_dict()
    assert all(np.array_equal(after["opt_state"][k], v) for k, v in before["opt_state"].items())


def test_adam_resumes_bitwise_from_its_state_dict():
    def fresh():
        opt = jo.Adam(lr=jo.CosineAnnealingLR(0.1, T_max=5), weight_decay=0.1)
        w = brainstate.ParamState(jnp.array([1.0, -2.0, 0.5]))
        opt.register_trainable_weights({"w": w})
        return opt, w, brainstate.transform.jit(lambda g: opt.update(g))

    whole, w_whole, step_whole = fresh()
    for g in G:
        step_whole(g)
        whole.lr.step()
    first, w_first, step_first = fresh()
    step_first(G[0])
    first.lr.step()
    second, w_second, step_second = fresh()
    w_second.value = w_first.value  # the model's weights come from its own checkpoint
    second.load_state_dict(first.state_dict())
    second.lr.load_state_dict(first.lr.state_dict())
    for g in G[1:]:
        step_second(g)
        second.lr.step()
    np.testing.assert_array_equal(w_second.value, w_whole.value)


@pytest.mark.parametrize("cls", [jo.Adam, jo.AdamW])
def test_adam_keeps_bf16_moments_with_float32_hyperparameters_and_compiles_once(cls):
    w = brainstate.ParamState(jnp.ones(3, jnp.bfloat16))
    opt = cls(lr=jo.StepLR(0.1, step_size=1, gamma=0.5))
    opt.register_trainable_weights({"w": w})
    traces = []

    @brainstate.transform.jit
    def step():
        traces.append(1)
        opt.update({"w": jnp.ones(3, jnp.bfloat16)})

    for _ in range(3):
        step()
        opt.lr.step()
    assert len(traces) == 1 and w.value.dtype == jnp.bfloat16
    buffers = [x for x in jax.tree.leaves(opt.opt_state.value.inner_state) if x.ndim == 1]
    assert buffers and all(x.dtype == jnp.bfloat16 for x in buffers)
    assert all(v.dtype == jnp.float32 for v in jo.hyperparams(opt).values())
    assert float(jo.hyperparams(opt)["learning_rate"]) == pytest.approx(0.025)


# --- weight-decay masks (issue 19 item 7) ------------------------------------------------


def _masked_run(make_opt, reference_tx, mask):
    """Three updates through ``make_opt(mask)`` and through the plain optax chain, bitwise."""
    import brainstate

    weights = {"kernel": jnp.full((3, 2), 0.5), "bias": jnp.full((2,), 0.5)}
    states = {k: brainstate.ParamState(v) for k, v in weights.items()}
    opt = make_opt(mask)
    opt.register_trainable_weights(states)
    params, opt_state = dict(weights), reference_tx.init(weights)
    for i in range(3):
        grads = {k: jnp.full_like(v, 0.1 * (i + 1)) for k, v in weights.items()}
        opt.update(grads)
        updates, opt_state = reference_tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
    return {k: s.value for k, s in states.items()}, params


@pytest.mark.parametrize("as_callable", [False, True])
def test_sgd_mask_leaves_the_unmasked_weights_undecayed_as_plain_optax_does(as_callable):
    tree = {"kernel": True, "bias": False}
    mask = (lambda p: {k: k == "kernel" for k in p}) if as_callable else tree
    ref = optax.chain(
        optax.add_decayed_weights(0.5, tree),
        optax.trace(decay=0.9),
        optax.scale_by_learning_rate(0.1),
    )
    ours, theirs = _masked_run(
        lambda m: jo.SGD(0.1, momentum=0.9, weight_decay=0.5, mask=m), ref, mask
    )
    for k in ours:
        np.testing.assert_array_equal(ours[k], theirs[k])
    assert not np.array_equal(ours["kernel"], ours["bias"][None].repeat(3, 0))


def test_adamw_mask_matches_optax_adamw_with_the_same_mask():
    tree = {"kernel": True, "bias": False}
    ref = optax.adamw(0.1, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.5, mask=tree)
    ours, theirs = _masked_run(lambda m: jo.AdamW(0.1, weight_decay=0.5, mask=m), ref, tree)
    for k in ours:  # optax.adamw rounds `1 - b1` from float64, ours from a float32 b1
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-4)
    assert not np.allclose(ours["kernel"], ours["bias"][None].repeat(3, 0), rtol=1e-3)
    # the bias, masked out, moved exactly as without any decay
    nodecay, _ = _masked_run(lambda m: jo.AdamW(0.1, weight_decay=0.0), optax.adam(0.1), None)
    np.testing.assert_array_equal(ours["bias"], nodecay["bias"])


def test_a_mask_that_is_not_bools_or_has_no_decay_to_choose_is_refused():
    with pytest.raises(TypeError, match="SGD: `mask` must be None, a pytree of bools"):
        jo.SGD(0.1, weight_decay=0.1, mask={"kernel": 1})
    with pytest.raises(ValueError, match="Adam: `mask` chooses what `weight_decay` applies to"):
        jo.Adam(0.1, mask={"kernel": True})
