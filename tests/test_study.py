"""The MNIST-1D super-convergence study (examples/mnist1d_superconvergence.py).

The pieces are tested in-process (augmentation, budgets, the epochs-to-target rule, the
schedules of each policy, data generation without a network); the whole protocol runs once
in its ``--quick`` size in a subprocess, its JSON, tables and plots written under
``tmp_path``.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from mnist1d_study import data, model, protocol, train  # noqa: E402


def test_augment_keeps_shape_and_dtype_and_varies_per_signal():
    x = jnp.tile(jnp.arange(40, dtype=jnp.float32)[None], (16, 1))
    y = data.augment(jax.random.PRNGKey(0), x, shift=4, scale=0.2)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert len({tuple(np.asarray(row).round(4)) for row in y}) > 1


def test_augment_is_a_circular_shift_times_a_scale_within_bounds():
    x = jax.random.normal(jax.random.PRNGKey(1), (32, 40))
    y = np.asarray(data.augment(jax.random.PRNGKey(2), x, shift=3, scale=0.1))
    for row_x, row_y in zip(np.asarray(x), y):
        fits = []
        for k in range(-3, 4):
            rolled = np.roll(row_x, k)
            factor = np.dot(rolled, row_y) / np.dot(rolled, rolled)
            fits.append((np.abs(rolled * factor - row_y).max(), factor))
        err, factor = min(fits)
        assert err < 1e-4 and 0.9 - 1e-5 <= factor <= 1.1 + 1e-5


def test_augment_without_shift_or_scale_is_the_identity():
    x = jax.random.normal(jax.random.PRNGKey(3), (8, 40))
    np.testing.assert_allclose(data.augment(jax.random.PRNGKey(4), x, 0, 0.0), x, rtol=1e-6)


def test_mnist1d_is_generated_with_the_network_unused(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    splits = data.make_mnist1d(200, 50, 60)
    assert splits["x_train"].shape == (200, 40) and splits["x_test"].shape == (60, 40)
    assert splits["x_val"].dtype == np.float32 and splits["y_val"].dtype == np.int32
    assert set(np.unique(splits["y_train"])) <= set(range(10))


def test_epochs_to_target_takes_the_smallest_budget_that_reaches_the_target():
    means = {10: 0.975, 3: 0.96, 6: 0.972}
    assert protocol.epochs_to_target(means, 0.97, e_base=30) == pytest.approx(0.2)
    assert protocol.epochs_to_target(means, 0.975, e_base=30) == pytest.approx(1 / 3)
    assert protocol.epochs_to_target(means, 0.96, e_base=60) == pytest.approx(0.05)


def test_epochs_to_target_is_none_when_no_budget_reaches_the_target():
    assert protocol.epochs_to_target({3: 0.9, 6: 0.95}, 0.951, e_base=30) is None
    assert protocol.epochs_to_target({}, 0.5, e_base=30) is None


def test_budgets_are_the_protocol_fractions_of_e_base():
    assert protocol.short_budgets(30) == [3, 6, 10]
    assert protocol.short_budgets(20) == [2, 4, 7]
    assert protocol.step_budgets(30) == [10, 15, 20]
    assert protocol.step_budgets(3) == [1, 2]
    assert train.step_milestones(20) == [10, 15]


def test_difference_to_target_and_its_standard_error():
    a, b = np.array([0.90, 0.92, 0.94]), np.array([0.95, 0.95, 0.95, 0.95])
    diff, se = protocol.diff_with_se(a, b)
    assert diff == pytest.approx(-0.03)
    assert se == pytest.approx(np.std(a, ddof=1) / np.sqrt(3))


def test_onecycle_grid_is_geometric_around_the_centre():
    grid = protocol.onecycle_grid(1.0, 5)
    np.testing.assert_allclose(grid, [0.25, 0.5, 1.0, 2.0, 4.0])
    assert len(protocol.onecycle_grid(0.3, len(protocol.SIZES["full"].lr_grid))) == 5


def test_policies_have_the_documented_curves():
    spe, epochs, lr = 10, 8, 0.4
    steps = jnp.arange(epochs * spe)
    _, step_lr, step_mom = train.make_policy("step", lr, epochs, spe)
    values = np.asarray(step_lr(steps))
    np.testing.assert_allclose(
        values[[0, 39, 40, 59, 60]], [0.4, 0.4, 0.04, 0.04, 0.004], rtol=1e-5
    )
    np.testing.assert_allclose(step_mom(steps), 0.9)
    _, cos_lr, _ = train.make_policy("cosine", lr, epochs, spe)
    assert float(cos_lr(0)) == pytest.approx(lr) and float(cos_lr(epochs * spe - 1)) < 0.02
    _, oc_lr, oc_mom = train.make_policy("onecycle", lr, epochs, spe)
    peak = int(np.argmax(np.asarray(oc_lr(steps))))
    assert float(oc_lr(peak)) == pytest.approx(lr, rel=1e-3)
    assert float(oc_mom(peak)) == pytest.approx(0.85, abs=1e-3)
    with pytest.raises(ValueError, match="make_policy: `name`"):
        train.make_policy("linear", lr, epochs, spe)


def test_cnn_gives_float32_logits_and_running_statistics_only_in_training():
    params, stats = model.init_cnn(jax.random.PRNGKey(0), (8, 16), n_classes=10)
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 40))
    logits, new = model.apply_cnn(params, stats, x, train=True)
    assert logits.shape == (5, 10) and logits.dtype == jnp.float32
    assert not np.allclose(new["stem"]["mean"], stats["stem"]["mean"])
    _, same = model.apply_cnn(params, stats, x, train=False)
    np.testing.assert_array_equal(same["stem"]["mean"], stats["stem"]["mean"])


def test_quick_study_writes_a_sane_json_tables_and_plots(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [
        sys.executable,
        str(ROOT / "examples" / "mnist1d_superconvergence.py"),
        "--quick",
        "--no-progress",
        "--out",
        str(out),
        "--json",
        str(tmp_path / "r.json"),
        "--markdown",
        str(tmp_path / "tables.md"),
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((tmp_path / "r.json").read_text())
    size = protocol.SIZES["quick"]
    for key in (
        "dataset",
        "e_base",
        "target_accuracy",
        "baselines",
        "onecycle",
        "epochs_to_target",
    ):
        assert key in result
    assert result["dataset"] == "mnist1d" and result["e_base"] == size.e_base
    assert set(result["baselines"]) == {"constant", "step"}
    assert [r["epochs"] for r in result["onecycle"]] == protocol.short_budgets(size.e_base)
    assert [r["epochs"] for r in result["step_shorter_budgets"]] == protocol.step_budgets(
        size.e_base
    )
    entries = [*result["baselines"].values(), *result["onecycle"], *result["controls"]]
    for r in entries:
        assert 0.0 <= r["test_acc_mean"] <= 1.0 and r["test_acc_sd"] >= 0.0
        assert len(r["seeds"]) == size.final_seeds == len(r["test_accs"])
        assert min(r["seeds"]) >= size.select_seeds  # fresh seeds, not the selection ones
    for r in result["onecycle"]:
        assert {"epochs", "max_lr", "test_acc_mean", "test_acc_sd", "seeds"} <= set(r)
        assert r["max_lr"] in result["range_test"]["onecycle_grid"]
    for r in result["baselines"].values():
        assert r["lr"] in r["lr_grid"] and len(r["lr_grid"]) == len(size.lr_grid)
    best = max(r["test_acc_mean"] for r in result["baselines"].values())
    assert result["target_accuracy"] == pytest.approx(best)
    assert set(result["epochs_to_target"]) == {"vs_constant", "vs_step"}
    for value in result["epochs_to_target"].values():
        assert value is None or 0.0 < value <= 1.0
    tables = (tmp_path / "tables.md").read_text()
    assert "| policy | role | epochs |" in tables and "Epochs to target" in tables
    assert tables in done.stdout  # the Markdown is what was printed
    for name in ("accuracy", "budgets", "schedules", "range_test"):
        assert (out / f"mnist1d_{name}.png").stat().st_size > 0


def test_batch_scaling_quick_runs_on_eight_devices_and_reports_samples_to_target(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("XLA_FLAGS", None)
    cmd = [
        sys.executable,
        str(ROOT / "examples" / "mnist1d_batch_scaling.py"),
        "--quick",
        "--out",
        str(tmp_path),
        "--json",
        str(tmp_path / "bs.json"),
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((tmp_path / "bs.json").read_text())
    assert result["devices"] == 8 and result["batch_big"] == 8 * result["batch_small"]
    assert set(result["curves"]) == {"reference", "Fixed", "LinearScale", "1-Cycle"}
    n_evals = result["samples_per_run"] // result["eval_every"]
    for curve in result["curves"].values():
        values = np.asarray(curve, float)
        assert values.shape == (result["seeds"], n_evals)
        finite = values[np.isfinite(values)]
        assert ((finite >= 0.0) & (finite <= 1.0)).all()
    for value in result["samples_to_target"].values():
        assert value is None or 0 < value <= result["samples_per_run"]
    assert (tmp_path / "mnist1d_batch_scaling.png").stat().st_size > 0
