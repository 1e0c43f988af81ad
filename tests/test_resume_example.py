"""``examples/resume_and_extend.py``: a run stopped, resumed in a fresh process and extended
equals, bit for bit, the uninterrupted run given the same horizon change from the start.

The ``--quick`` run is in the default suite; the full run is marked ``slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "resume_and_extend.py"


def _run(tmp_path: Path, *flags: str, timeout: int) -> tuple[str, dict]:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(tmp_path), *flags],
        cwd=ROOT,
        env=dict(os.environ, MPLBACKEND="Agg"),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    record = json.loads((tmp_path / "resume_and_extend.json").read_text())
    return out.stdout, record


def _check(stdout: str, record: dict, tmp_path: Path) -> None:
    s, t, n = record["stop"], record["total"], record["new_total"]
    assert 0 < s < t < n
    for form in ("optax", "brainstate"):
        r = record[form]
        assert r["bitwise_equal"] == {
            "weights": True,
            "optimizer_state": True,
            "learning_rates": True,
            "momenta": True,
        }, form
        assert r["largest_difference"] == 0.0
        resumed, planned = np.asarray(r["resumed_lr"]), np.asarray(r["planned_lr"])
        assert len(resumed) == n
        # the planned curve up to the stop (it is drawn from the eager schedule: to rounding)
        np.testing.assert_allclose(resumed[:s], planned[:s], rtol=1e-6)
        assert resumed[s + (n - s) // 2] > planned[s + (n - s) // 2]  # then the longer anneal
        assert resumed[-1] < 1e-3 * max(resumed)  # ending where the planned cycle ends
    assert "optax form, a job built with max_lr=0.2 is refused" in stdout
    assert "learning_rate['args']['max_lr']: saved 0.1, built 0.2" in stdout
    assert "saved with max_lr=0.1, but this OneCycleLR has max_lr=0.2" in stdout
    assert f"resumed at step {s} in a fresh process, extended to {n} steps" in stdout
    assert (tmp_path / "resume_and_extend.png").stat().st_size > 0
    assert not list(tmp_path.rglob("*.pkl"))


def test_quick_resumed_and_extended_run_is_bitwise_the_uninterrupted_run(tmp_path):
    stdout, record = _run(tmp_path, "--quick", timeout=600)
    _check(stdout, record, tmp_path)


@pytest.mark.slow
def test_full_resumed_and_extended_run_is_bitwise_the_uninterrupted_run(tmp_path):
    stdout, record = _run(tmp_path, timeout=1800)
    _check(stdout, record, tmp_path)
    assert record["optax_test_accuracy"] > 0.5
