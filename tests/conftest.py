"""pytest configuration: live-reference helpers and the golden generators kept out.

The default suite needs no reference library: it checks against the golden values that
``tests/make_golden*.py`` recorded from torch, transformers, braintools, fastai and DeepSpeed.
A test that also runs a reference live is marked ``live`` (``@pytest.mark.live``, or
automatically when its name starts with ``test_live_``) and gets the module through
:func:`reference` (or a module-level :class:`LazyReference`), so it skips with one reason
where the library is absent and the rest of its module still runs. ``pytest -m live``
runs those tests alone; with ``JAX_ONECYCLE_REQUIRE_LIVE=1`` (CI's live-parity stage) a
missing reference fails instead of skipping.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import jax
import jax.numpy as jnp
import numpy as np
import pytest

# The generators need reference libraries that are not test dependencies (fastai,
# DeepSpeed) and switch JAX to 64-bit when run; --doctest-modules must not import them.
collect_ignore_glob = ["make_golden*.py"]
# braintools' own tests as a client (.ci/run, stage 2) have a conftest of their own that would
# shadow this one's module name: the package's suite never collects that folder.
collect_ignore = ["braintools_client"]

PARITY = ("torch", "transformers", "braintools")  # the `parity` extra
REQUIRE_LIVE = os.environ.get("JAX_ONECYCLE_REQUIRE_LIVE", "") not in ("", "0")


def reference(name: str) -> ModuleType:
    """Import reference module ``name`` (``"torch.optim.lr_scheduler"``) for a live test.

    Where its library is not installed the calling test is skipped with the reason
    ``live parity: <library> is not installed (pip install -e '.[parity]')``, or fails with
    it when ``JAX_ONECYCLE_REQUIRE_LIVE`` is set. fastai and DeepSpeed are in no extra
    (their golden values stand in for them): their tests only ever skip.
    """
    library = name.partition(".")[0]
    if library in PARITY:
        hint = "pip install -e '.[parity]'"
    else:
        hint = "in no extra of this package; its golden values stand in for it"
    reason = f"live parity: {library} is not installed ({hint})"
    if REQUIRE_LIVE and library in PARITY:
        try:
            importlib.import_module(library)
        except ImportError as err:
            pytest.fail(f"{reason}; JAX_ONECYCLE_REQUIRE_LIVE is set: {err}", pytrace=False)
    pytest.importorskip(library, reason=reason)
    return importlib.import_module(name)


class LazyReference:
    """A module-level alias of a reference module, imported on first attribute access.

    ``tls = LazyReference("torch.optim.lr_scheduler")`` lets test bodies write
    ``tls.StepLR(...)``; only the tests that touch it skip where torch is absent.
    """

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # pytest's collection probes (`__wrapped__`, ...): no import
            raise AttributeError(attr)
        return getattr(reference(self._name), attr)


def pytest_collection_modifyitems(config, items):
    """Mark every ``test_live_*`` test ``live``."""
    del config
    for item in items:
        if item.name.startswith("test_live_"):
            item.add_marker(pytest.mark.live)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test skipped for a missing reference must be marked ``live`` (so ``-m live`` runs it)."""
    report = yield
    if report.skipped and call.when == "call" and "live parity:" in str(report.longrepr):
        if item.get_closest_marker("live") is None:
            report.outcome = "failed"
            report.longrepr = (
                f"{item.nodeid} skipped for a missing reference but is not marked "
                "@pytest.mark.live: mark it, so that CI's live-parity stage runs it"
            )
    return report


# ---- shared by the golden and live comparisons of schedules ------------------------------


def golden_tolerance(values) -> dict:
    """float32 against a reference's float64: relative 1e-5, absolute 1e-7 of the largest."""
    return dict(rtol=1e-5, atol=1e-7 * float(np.max(np.abs(values))))


def assert_schedule_matches(sched, values) -> None:
    """``jit(sched)`` at steps 0, 1, ... equals ``values`` within `golden_tolerance`."""
    steps = jnp.arange(len(values))
    np.testing.assert_allclose(jax.jit(sched)(steps), values, **golden_tolerance(values))


def torch_rates(build, lr, steps: int) -> list[float]:
    """The rate each of ``steps`` torch SGD steps uses under the scheduler ``build(opt)``."""
    torch = reference("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched, values = build(opt), []
    for _ in range(steps):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return values


# ---- running the examples ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def run_python(args, *, cwd=ROOT, env=None, timeout: int = 300) -> str:
    """``python *args`` in a fresh interpreter (matplotlib headless); its stdout, or a
    failure that shows the end of its stderr."""
    environ = dict(os.environ, MPLBACKEND="Agg", **(env or {}))
    out = subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, f"{args} exited {out.returncode}:\n{out.stderr[-4000:]}"
    return out.stdout
