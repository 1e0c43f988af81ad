"""The public surface: every SPEC name importable, the family namespace, the version."""

from importlib import metadata

import pytest

import jax_onecycle as jo
from jax_onecycle import family

SPEC_NAMES = """
onecycle_schedule onecycle_momentum_schedule deepspeed_onecycle_schedule
deepspeed_onecycle_momentum_schedule onecycle_sgd onecycle_adamw SGD OneCycleLR lr_range_test
step_schedule multistep_schedule cosine_annealing_schedule cosine_warm_restarts_schedule
linear_schedule_with_warmup cosine_schedule_with_warmup constant_schedule_with_warmup
wsd_schedule ReduceLROnPlateau StepLR MultiStepLR CosineAnnealingLR CosineAnnealingWarmRestarts
hyperparams scheduled reduce_lr_on_plateau from_deepspeed_config DeepSpeedSchedules get_schedule
exponential_schedule polynomial_schedule linear_lr_schedule constant_lr_schedule cyclic_schedule
cyclic_momentum_schedule ExponentialLR PolynomialLR LinearLR ConstantLR CyclicLR
""".split()


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_spec_name_is_importable_and_listed(name):
    assert hasattr(jo, name) and name in jo.__all__


def test_the_family_namespace_holds_the_same_objects_as_the_top_level():
    assert family.__all__ and set(family.__all__) <= set(jo.__all__)
    for name in family.__all__:
        assert getattr(family, name) is getattr(jo, name), name


def test_the_version_is_the_installed_metadata():
    assert jo.__version__ == metadata.version("jax-onecycle")


def test_public_classes_name_the_public_module():
    for name in jo.__all__:
        obj = getattr(jo, name)
        if isinstance(obj, type) and not name.endswith("State"):
            assert obj.__module__ == "jax_onecycle", name
