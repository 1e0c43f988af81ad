"""Importing jax_onecycle changes no JAX setting and leaves brainstate alone until it is used.

brainstate, when imported, runs ``brainstate.environ.set(precision=32)``, which sets
``jax_enable_x64`` to False. Only ``jax_onecycle.stateful`` imports it, on the first use of
a brainstate-side name. Each check runs in a fresh interpreter: in this one, brainstate and
the package are imported already.
"""

import subprocess
import sys
import textwrap
from types import ModuleType

import pytest

import jax_onecycle as jo
from jax_onecycle import family


def _python(*parts: str) -> str:
    """Run the parts (each dedented) one after the other in a fresh interpreter; its stdout."""
    code = "\n".join(textwrap.dedent(part) for part in parts)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout


# Every optax-side public name used for real, the optax form of lr_range_test included.
USE_THE_OPTAX_SIDE = """
import jax, jax.numpy as jnp, numpy as np, optax
import jax_onecycle as jo
from jax_onecycle import family

optax_side = [n for n in jo.__all__ if n not in jo.STATEFUL_NAMES]
for name in optax_side:
    getattr(jo, name)
for name in family.__all__:
    if name not in jo.STATEFUL_NAMES:
        getattr(family, name)
params = {"w": jnp.ones(3)}
grads = {"w": jnp.ones(3)}
for tx in (
    jo.onecycle_sgd(0.1, 10),
    jo.onecycle_adamw(1e-3, 10),
    jo.scheduled(optax.sgd, learning_rate=jo.onecycle_schedule(0.1, 10), momentum=0.9),
    optax.chain(optax.sgd(1.0), jo.reduce_lr_on_plateau(patience=0)),
):
    state = tx.init(params)
    _, state = tx.update(grads, state, params, value=1.0)
    jo.hyperparams(state)
schedules = [
    jo.onecycle_schedule(0.1, 10), jo.onecycle_momentum_schedule(10),
    jo.deepspeed_onecycle_schedule(0.01, 0.1, cycle_first_step_size=5), jo.step_schedule(0.1, 2),
    jo.multistep_schedule(0.1, [2, 4]), jo.cosine_annealing_schedule(0.1, 5),
    jo.cosine_warm_restarts_schedule(0.1, 3), jo.linear_schedule_with_warmup(0.1, 2, 10),
    jo.cosine_schedule_with_warmup(0.1, 2, 10), jo.constant_schedule_with_warmup(0.1, 2),
    jo.wsd_schedule(0.1, 2, 3, 5), jo.exponential_schedule(0.1, 0.9),
    jo.polynomial_schedule(0.1), jo.linear_lr_schedule(0.1), jo.constant_lr_schedule(0.1),
    jo.cyclic_schedule(0.01, 0.1), jo.cyclic_momentum_schedule(),
    jo.get_schedule("cosine", 0.1, num_warmup_steps=2, num_training_steps=10),
    jo.from_deepspeed_config({"type": "WarmupLR", "params": {"warmup_max_lr": 0.1}}).learning_rate,
]
for schedule in schedules:
    jax.jit(schedule)(3)
batches = np.ones((20, 4, 3), np.float32)
jo.lr_range_test(lambda w, b: jnp.mean((b @ w) ** 2), jnp.ones(3), batches, num_iter=20,
                 progress=False)
"""


def test_x64_set_before_import_stays_on_through_the_optax_side():
    out = _python(
        """
        import jax
        jax.config.update("jax_enable_x64", True)
        before = dict(jax.config.values)
        import jax_onecycle
        import jax.numpy as jnp
        assert dict(jax.config.values) == before, "import jax_onecycle changed a JAX setting"
        print(jax.config.jax_enable_x64, jnp.zeros(1).dtype)
        """,
        USE_THE_OPTAX_SIDE,
        """
        print(jax.config.jax_enable_x64, jnp.zeros(1).dtype)
        """,
    )
    assert out.split() == ["True", "float64", "True", "float64"]


def test_brainstate_is_imported_only_when_a_brainstate_side_name_is_used():
    out = _python(
        """
        import sys
        import jax_onecycle
        print("brainstate" in sys.modules)
        """,
        USE_THE_OPTAX_SIDE,
        """
        print("brainstate" in sys.modules)
        jo.SGD
        print("brainstate" in sys.modules)
        """,
    )
    assert out.split() == ["False", "False", "True"]


def test_every_brainstate_side_name_needs_brainstate_and_no_optax_side_name_does():
    # With brainstate made unimportable, the optax side works in full and each
    # brainstate-side name fails by trying to import it: that is where it is loaded.
    out = _python(
        """
        import sys
        sys.modules["brainstate"] = None  # any `import brainstate` now raises ImportError
        """,
        USE_THE_OPTAX_SIDE,
        """
        print("optax side ok")
        for name in sorted(jo.STATEFUL_NAMES):
            try:
                getattr(jo, name)
            except ImportError as err:
                assert "brainstate" in str(err), (name, err)
            else:
                raise AssertionError(f"{name} loaded without brainstate")
            try:
                exec(f"from jax_onecycle import {name}")
            except ImportError:
                pass
            else:
                raise AssertionError(f"from jax_onecycle import {name}: no brainstate needed")
        print("every brainstate-side name needs brainstate")
        """,
    )
    assert out.splitlines() == ["optax side ok", "every brainstate-side name needs brainstate"]


def test_the_brainstate_side_names_are_exactly_the_stateful_subpackage_ones():
    from jax_onecycle import stateful

    assert jo.STATEFUL_NAMES <= set(jo.__all__)
    for name in jo.STATEFUL_NAMES:
        assert getattr(jo, name) is getattr(stateful, name), name
    # an optax-side object never comes from the stateful subpackage
    for name in set(jo.__all__) - jo.STATEFUL_NAMES:
        module = getattr(getattr(jo, name), "__module__", "") or ""
        assert "stateful" not in module, (name, module)


def test_brainstate_turns_x64_off_when_it_is_imported_and_the_documented_recipes_keep_it():
    # What docs/api.md ("64-bit mode") says: brainstate's import sets jax_enable_x64 to False;
    # setting precision 64 through brainstate (or the flag) after it is imported keeps float64.
    out = _python(
        """
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax_onecycle as jo
        jo.SGD  # imports brainstate
        print(jax.config.jax_enable_x64)

        import brainstate, jax.numpy as jnp
        brainstate.environ.set(precision=64)
        print(jax.config.jax_enable_x64, brainstate.environ.dftype().__name__)
        w = brainstate.ParamState(jnp.ones(3))
        opt = jo.SGD(lr=jo.OneCycleLR(0.1, total_steps=10), momentum=0.9)
        opt.register_trainable_weights({"w": w})
        brainstate.transform.jit(lambda: opt.update({"w": jnp.ones(3)}))()
        print(w.value.dtype, jax.config.jax_enable_x64)
        """
    )
    assert out.split() == ["False", "True", "float64", "float64", "True"]
    out = _python(
        """
        import brainstate, jax
        jax.config.update("jax_enable_x64", True)  # after brainstate's import: kept
        import jax_onecycle as jo, jax.numpy as jnp
        jo.SGD, jo.OneCycleLR
        print(jax.config.jax_enable_x64, jnp.zeros(1).dtype)
        """
    )
    assert out.split() == ["True", "float64"]


def test_dir_lists_every_public_name_and_star_import_gives_them_all():
    assert set(jo.__all__) <= set(dir(jo))
    assert set(family.__all__) <= set(dir(family))
    namespace: dict = {}
    exec("from jax_onecycle import *", namespace)
    assert set(jo.__all__) <= set(namespace)
    for name in jo.__all__:
        assert namespace[name] is getattr(jo, name), name
    namespace = {}
    exec("from jax_onecycle.family import *", namespace)
    assert {n: namespace[n] for n in family.__all__} == {n: getattr(jo, n) for n in family.__all__}


@pytest.mark.parametrize("name", family.__all__)
def test_each_family_name_is_the_top_level_object(name):
    assert getattr(family, name) is getattr(jo, name)
    assert not isinstance(getattr(jo, name), ModuleType)


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="'no_such_name'"):
        jo.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="'no_such_name'"):
        family.no_such_name  # noqa: B018


def _type_checking_names(path) -> set[str]:
    """The names imported under ``if TYPE_CHECKING:`` in ``path`` (what pyright, the docs see)."""
    import ast

    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names |= {alias.asname or alias.name for alias in stmt.names}
    return names


def test_the_lazily_loaded_names_are_visible_to_type_checkers_and_the_docs():
    # the names __getattr__ supplies exist for pyright and mkdocstrings only through the
    # TYPE_CHECKING imports: a name missing there is "not present in module" to them
    from pathlib import Path

    package = Path(jo.__file__).parent
    assert _type_checking_names(package / "__init__.py") == set(jo.STATEFUL_NAMES)
    assert _type_checking_names(package / "family.py") == set(family.__all__)
