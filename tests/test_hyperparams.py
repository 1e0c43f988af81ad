"""hyperparams(): every injected value of a state, found through any nesting, inside jit too."""

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jax_onecycle as jo

PARAMS = {"body": jnp.ones(3), "head": jnp.ones(2)}
GRADS = jax.tree.map(jnp.ones_like, PARAMS)


def _after(opt, updates=1, **extra):
    state = opt.init(PARAMS)
    for _ in range(updates):
        _, state = opt.update(GRADS, state, PARAMS, **extra)
    return state


def test_a_single_group_gives_plain_names_with_the_values_the_last_update_used():
    lr, mom = jo.onecycle_schedule(0.1, 20), jo.onecycle_momentum_schedule(20)
    state = _after(jo.onecycle_sgd(0.1, 20), updates=5)
    hp = jo.hyperparams(state)
    assert set(hp) == {"learning_rate", "momentum"}
    np.testing.assert_allclose(hp["learning_rate"], lr(4), rtol=1e-6)  # update k=4 used lr(4)
    np.testing.assert_allclose(hp["momentum"], mom(4), rtol=1e-6)


def test_optax_inject_hyperparams_and_multisteps_are_read_too():
    inner = optax.inject_hyperparams(optax.adam)(learning_rate=0.3)
    hp = jo.hyperparams(_after(optax.MultiSteps(inner, every_k_schedule=2), updates=2))
    assert {"learning_rate", "b1", "b2"} <= set(hp)  # optax injects every numeric default
    assert float(hp["learning_rate"]) == pytest.approx(0.3)


def test_several_groups_get_path_qualified_keys():
    labels = {"body": "body", "head": "head"}
    part = optax.partition(
        {"body": jo.onecycle_sgd(0.1, 10), "head": jo.scheduled(optax.sgd, learning_rate=0.5)},
        labels,
    )
    assert set(jo.hyperparams(_after(part))) == {
        "body/learning_rate",
        "body/momentum",
        "head/learning_rate",
    }
    chained = optax.chain(
        jo.scheduled(optax.sgd, learning_rate=1.0, momentum=0.9), jo.reduce_lr_on_plateau(lr=0.2)
    )
    hp = jo.hyperparams(_after(chained, value=1.0))
    assert set(hp) == {"0/learning_rate", "0/momentum", "1/learning_rate"}
    assert float(hp["1/learning_rate"]) == pytest.approx(0.2)


def test_nested_injections_are_told_apart_by_their_path():
    inner = jo.scheduled(optax.sgd, learning_rate=0.1)
    outer = jo.scheduled(lambda scale: optax.chain(inner, optax.scale(scale)), scale=2.0)
    assert set(jo.hyperparams(_after(outer))) == {"scale", "0/learning_rate"}
    doubly = jo.scheduled(lambda learning_rate: inner, learning_rate=2.0)  # a key twice:
    assert set(jo.hyperparams(_after(doubly))) == {  # every path in full
        "learning_rate",
        "inner_state/learning_rate",
    }


def test_it_is_readable_inside_jit():
    opt = jo.onecycle_adamw(1e-3, 10)

    @jax.jit
    def step(state):
        _, state = opt.update(GRADS, state, PARAMS)
        return jo.hyperparams(state)

    hp = step(opt.init(PARAMS))
    np.testing.assert_allclose(hp["b1"], jo.onecycle_momentum_schedule(10)(0), rtol=1e-6)


def test_brainstate_sgd_groups_are_read_from_the_optimizer_or_its_state():
    a, b = brainstate.ParamState(jnp.ones(2)), brainstate.ParamState(jnp.ones(3))
    opt = jo.SGD(lr=0.1, momentum=0.9)
    opt.register_trainable_weights({"a": a})
    assert set(jo.hyperparams(opt)) == {"learning_rate", "momentum"}
    opt.add_param_group({"b": b}, lr=0.01)
    opt.update({"a": jnp.ones(2), "b": jnp.ones(3)})
    hp = jo.hyperparams(opt.opt_state.value)
    assert hp == jo.hyperparams(opt)
    assert float(hp["1/learning_rate"]) == pytest.approx(0.01)
    assert float(hp["0/momentum"]) == pytest.approx(0.9)


def test_a_state_without_injection_gives_an_empty_dict():
    assert jo.hyperparams(optax.sgd(0.1).init(PARAMS)) == {}


def test_a_transformation_given_instead_of_its_state_is_refused():
    # it used to give {} without a word, as if nothing were injected
    with pytest.raises(TypeError, match=r"hyperparams: `opt_state` must be an optimizer state"):
        jo.hyperparams(jo.onecycle_sgd(0.1, 10))
    with pytest.raises(TypeError, match=r"pass its state"):
        jo.hyperparams(optax.sgd(0.1))
    with pytest.raises(TypeError, match=r"`opt_state` must be an optimizer state, got 'lr'"):
        jo.hyperparams("lr")


def test_an_object_holding_its_optax_state_as_opt_state_is_read():
    class TrainState:  # as Flax's TrainState holds it
        def __init__(self, opt_state):
            self.opt_state = opt_state

    state = _after(jo.onecycle_sgd(0.1, 20), updates=3)
    assert jo.hyperparams(TrainState(state)) == jo.hyperparams(state)
    assert set(jo.hyperparams(state)) == {"learning_rate", "momentum"}
