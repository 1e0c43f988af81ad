"""braintools' own scheduler tests as a client of jax_onecycle (nothing copied from braintools).

Run from the repository root, against the installed braintools::

    BT=$(.venv/bin/python -c "import braintools, os; print(os.path.dirname(braintools.__file__))")
    .venv/bin/python -m pytest -p no:cacheprovider -p no:randomly -c /dev/null \
        --rootdir tests/braintools_client tests/braintools_client \
        "$BT/optim/_optax_lr_scheduler_test.py"

When that file is among the arguments, every name of ``braintools.optim`` that
jax_onecycle also has (``SGD``, ``Adam``, ``AdamW``, ``StepLR``, ``OneCycleLR``, ...) is
replaced by jax_onecycle's before the tests run: the tests then exercise jax_onecycle as a
braintools user who changed one import would. The expected failures, and why, are listed
in docs/migration.md. In any other run (the package's own suite) this file does nothing.
"""

import pytest

TARGET = "_optax_lr_scheduler_test.py"


def pytest_configure(config: pytest.Config) -> None:
    if not any(str(arg).split("::")[0].endswith(TARGET) for arg in config.args):
        return
    import braintools.optim

    import jax_onecycle

    swapped = [n for n in jax_onecycle.__all__ if hasattr(braintools.optim, n)]
    for name in swapped:
        setattr(braintools.optim, name, getattr(jax_onecycle, name))
    config.stash[SWAPPED] = swapped


SWAPPED = pytest.StashKey[list]()


def pytest_report_header(config: pytest.Config) -> str | None:
    swapped = config.stash.get(SWAPPED, None)
    if swapped is None:
        return None
    return f"braintools.optim names replaced by jax_onecycle's: {', '.join(sorted(swapped))}"
