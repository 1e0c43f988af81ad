"""The public surface: every SPEC name importable, the family namespace, the version."""

import importlib
import pickle
import re
from pathlib import Path

import jax
import numpy as np
import pytest

import jax_onecycle as jo
from jax_onecycle import family

ROOT = Path(__file__).resolve().parent.parent

SPEC_NAMES = """
onecycle_schedule onecycle_momentum_schedule deepspeed_onecycle_schedule
deepspeed_onecycle_momentum_schedule onecycle_sgd onecycle_adamw SGD OneCycleLR lr_range_test
step_schedule multistep_schedule cosine_annealing_schedule cosine_warm_restarts_schedule
linear_schedule_with_warmup cosine_schedule_with_warmup constant_schedule_with_warmup
wsd_schedule ReduceLROnPlateau StepLR MultiStepLR CosineAnnealingLR CosineAnnealingWarmRestarts
hyperparams scheduled reduce_lr_on_plateau from_deepspeed_config DeepSpeedSchedules get_schedule
exponential_schedule polynomial_schedule linear_lr_schedule constant_lr_schedule cyclic_schedule
cyclic_momentum_schedule ExponentialLR PolynomialLR LinearLR ConstantLR CyclicLR
change_horizon schedule_from_spec sequential_schedule lambda_schedule multiplicative_schedule
SequentialLR LambdaLR MultiplicativeLR Adam AdamW
""".split()


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_spec_name_is_importable_and_listed(name):
    assert hasattr(jo, name) and name in jo.__all__


def test_the_family_namespace_holds_the_same_objects_as_the_top_level():
    assert family.__all__ and set(family.__all__) <= set(jo.__all__)
    for name in family.__all__:
        assert getattr(family, name) is getattr(jo, name), name


def test_the_version_is_the_one_pyproject_declares():
    # jo.__version__ reads the installed metadata: this fails when the package is not
    # installed ("0+unknown") or was installed from an older pyproject.toml
    pyproject = (ROOT / "pyproject.toml").read_text()
    (declared,) = re.findall(r'^version = "([^"]+)"$', pyproject, re.M)
    assert jo.__version__ == declared


def _public_classes():
    return [getattr(jo, n) for n in jo.__all__ if isinstance(getattr(jo, n), type)]


def test_every_public_class_is_found_where_its_module_and_name_say():
    # what `__module__` is for: repr, pickle and the docs find the class at that address
    classes = _public_classes()
    assert len(classes) >= 10
    for cls in classes:
        module = importlib.import_module(cls.__module__)
        assert getattr(module, cls.__qualname__) is cls, cls
        assert pickle.loads(pickle.dumps(cls)) is cls
        if not issubclass(cls, tuple):  # the optimizers and facades: the public address
            assert cls.__module__ == "jax_onecycle", cls


def test_a_pickled_state_and_result_type_round_trip():
    state = jo.onecycle_sgd(0.1, 10).init({"w": np.ones(2, np.float32)})
    back = pickle.loads(pickle.dumps(jax.tree.map(np.asarray, state)))
    assert type(back) is type(state) and type(back).__name__ == "ScheduledState"
