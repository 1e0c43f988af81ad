"""Smoke tests: every example runs with ``--quick`` and prints what it promises; the docs agree.

Each script runs in a subprocess (``sys.executable``) from the repository root, its files
written under ``tmp_path``. The whole module takes about two minutes on two CPU cores.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import jax_onecycle as jo

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def _run(args, *, env=None, timeout=300):
    environ = dict(os.environ, MPLBACKEND="Agg", **(env or {}))
    out = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, env=environ,
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args} exited {out.returncode}:\n{out.stderr[-4000:]}"
    return out.stdout


def _numbers(pattern, text):
    return [float(x) for x in re.findall(pattern, text)]


def test_quickstart_optax_reads_lr_and_momentum_from_the_state():
    out = _run([EXAMPLES / "quickstart_optax.py", "--quick"])
    assert re.search(r"epoch\s+loss\s+lr\s+momentum", out)
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s", line)]
    momenta = [float(r[3]) for r in rows]
    assert len(rows) == 3 and all(0.85 <= m <= 0.95 for m in momenta), out
    assert momenta[0] < momenta[-1]  # below max_momentum near the peak, back up at the end
    assert "test accuracy" in out


def test_brainstate_onecycle_trains_saves_and_resumes(tmp_path):
    out = _run([EXAMPLES / "brainstate_onecycle.py", "--quick", "--out", tmp_path])
    assert "resumed at step" in out and "final test accuracy" in out
    assert (tmp_path / "brainstate_onecycle_checkpoint.pkl").is_file()


def test_lr_range_test_both_forms_write_plots(tmp_path):
    out = _run([EXAMPLES / "lr_range_test.py", "--quick", "--out", tmp_path])
    for form in ("optax", "optax_adam", "brainstate"):
        assert re.search(rf"^{form}: .*suggestions: minimum", out, re.M), out
        assert (tmp_path / f"lr_range_test_{form}.png").stat().st_size > 0
    assert "model weights unchanged by the sweep: True" in out


def test_sweep_max_lr_trains_every_peak_in_one_program():
    out = _run([EXAMPLES / "sweep_max_lr.py", "--quick"])
    assert "3 one-cycle runs" in out and "one compiled program" in out
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+[\d.]+\s+[\d.]+\s", line)]
    # each run's highest learning rate is near its own peak (16 steps: the braintools peak
    # falls between steps 4 and 5): max_lr really was traced per run
    assert len(rows) == 3
    for peak, used in ((float(r[0]), float(r[1])) for r in rows):
        assert 0.99 * peak <= used <= peak * (1 + 1e-6)
    assert "lowest test loss at max_lr" in out


def test_port_pytorch_recipe_matches_torch():
    out = _run([EXAMPLES / "port_pytorch_recipe.py", "--quick"])
    (optax_vs_brainstate,) = _numbers(r"max \|optax - brainstate\| weight difference: (\S+)", out)
    assert optax_vs_brainstate < 1e-6
    if HAVE_TORCH:
        diffs = _numbers(r"- torch\| weight difference: (\S+)", out)
        assert len(diffs) == 2 and max(diffs) < 1e-5, out
    else:
        assert "skipped the PyTorch run" in out


def test_multihost_data_parallel_on_eight_simulated_devices():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    out = _run([EXAMPLES / "multihost_data_parallel.py", "--quick"], env=env)
    assert "1 process(es), 8 cpu device(s); mesh {'data': 8}" in out, out
    assert "on 8 device(s) (replicated); last batch P('data',) over 8 device(s)" in out


def test_scheduler_gallery_draws_every_schedule(tmp_path):
    out = _run([EXAMPLES / "scheduler_gallery.py", "--quick", "--out", tmp_path])
    assert (tmp_path / "scheduler_gallery.png").stat().st_size > 0
    names = ["onecycle_schedule", "step_schedule", "multistep_schedule",
             "cosine_annealing_schedule", "cosine_warm_restarts_schedule",
             "linear_schedule_with_warmup", "cosine_schedule_with_warmup",
             "constant_schedule_with_warmup", "wsd_schedule", "deepspeed_onecycle_schedule"]
    if hasattr(jo, "ReduceLROnPlateau"):
        names.append("ReduceLROnPlateau")
    for name in names:
        assert re.search(rf"^{name}\b", out, re.M), f"{name} missing:\n{out}"
    if HAVE_TORCH:
        diffs = _numbers(r"max relative difference to [\w ]+: (\S+)", out)
        assert diffs and max(diffs) < 1e-5, out


def test_plot_schedules(tmp_path):
    out = _run([EXAMPLES / "plot_schedules.py", "--quick", "--out", tmp_path])
    assert re.search(r"^torch\s", out, re.M)
    assert (tmp_path / "onecycle_conventions.png").stat().st_size > 0


def test_digits_superconvergence_demo_small(tmp_path):
    md = tmp_path / "tables.md"
    out = _run([EXAMPLES / "digits_superconvergence.py", "--epochs", "2", "--baseline-epochs",
                "3", "--seeds", "1", "--no-progress", "--out", tmp_path, "--markdown", md])
    assert "LR range test: minimum" in out
    for name in ("constant", "cosine", "one-cycle"):
        assert re.search(rf"^{name}\nepoch\s+train_loss\s+valid_loss\s+accuracy$", out, re.M)
    assert "Epochs to reach the constant rate's final accuracy after 3 epochs" in out
    assert re.search(r"policy\s+mean\s+std\s+per seed", out)
    for png in ("digits_schedules.png", "digits_losses.png", "digits_lr_range_test.png"):
        assert (tmp_path / png).stat().st_size > 0
    text = md.read_text()
    assert "| epoch | train_loss | valid_loss | accuracy |" in text
    assert "| policy | mean | std | per seed |" in text


def test_benchmark_quick():
    bench = ROOT / "benchmarks" / "bench_onecycle.py"
    if not bench.is_file():
        pytest.skip("benchmarks/bench_onecycle.py is absent")
    _run([bench, "--quick"], timeout=600)


# ---- the documentation ---------------------------------------------------------------------
def test_api_page_documents_every_public_name():
    api = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^::: jax_onecycle\.(\w+)$", api, re.M))
    assert documented == set(jo.__all__)


def test_getting_started_code_runs(tmp_path):
    text = (ROOT / "docs" / "index.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2  # optax, then brainstate: one process runs both
    script = tmp_path / "getting_started.py"
    script.write_text("\n\n".join(blocks))
    out = _run([script])
    assert out.count("epoch ") == 20, out
