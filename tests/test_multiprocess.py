"""Multi-process training on JAX's distributed runtime, and Orbax checkpoints that resume exactly.

Each run is ``examples/multihost_data_parallel.py --quick`` (16 steps of both forms:
``onecycle_sgd`` in a ``jax.jit`` step and ``SGD`` + ``OneCycleLR`` in a brainstate step),
started as 2 processes x 4 simulated CPU devices on 127.0.0.1 (a free port, gloo
collectives) or as 1 process x 8 devices, with a time limit after which every process is
killed. Every process of a run saves its final arrays (weights, optimizer buffers, step
counts, learning rates, momenta) to ``tmp_path``; the tests compare them with
``np.array_equal``. The one-process reference joins the distributed runtime too, so that
its all-reduce is gloo's: XLA's in-process all-reduce adds the eight partial gradients in
another order (about 1 ulp apart).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import jax_onecycle as jo

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "multihost_data_parallel.py"
STEPS = 16  # --quick: 512 digits, global batch 8 devices x 8, two epochs
SAVE_AT = 6  # the preemption: mid-epoch, while the learning rate still rises
LAUNCH_LIMIT_S = 400  # the script's launcher kills every process after this
TEST_LIMIT_S = LAUNCH_LIMIT_S + 60  # and this test kills the launcher after this


def _run(*args: object) -> str:
    """Run the example (the launcher and its processes); return process 0's output."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    cmd = [
        sys.executable,
        str(EXAMPLE),
        "--quick",
        "--timeout",
        str(LAUNCH_LIMIT_S),
        *map(str, args),
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=TEST_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the launcher kills its processes on SIGTERM
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        pytest.fail(f"{' '.join(cmd)} ran past {TEST_LIMIT_S} s; every process was killed")
    assert proc.returncode == 0, out[-5000:]
    return out


def _launch_module():
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import multihost_launch
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    return multihost_launch


# a stand-in process: writes its pid, then exits with status 3 as process 1, or sleeps
_WORKER = """
import pathlib, sys, time
args = sys.argv[1:]
rank = int(args[args.index("--process-id") + 1])
pathlib.Path(args[0], f"pid{rank}").write_text(str(__import__("os").getpid()))
assert args[args.index("--coordinator") + 1].startswith("127.0.0.1:")
if rank == 1 and args[1] == "fail":  # once its peers are up, so that there is something to kill
    while not all(pathlib.Path(args[0], f"pid{r}").exists() for r in (0, 2)):
        time.sleep(0.01)
    sys.exit(3)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    "mode, timeout, match",
    [("fail", 60.0, "process 1 exited with status 3"), ("hang", 3.0, "time limit of 3 s")],
)
def test_launcher_kills_every_process_when_one_fails_or_time_runs_out(
    mode, timeout, match, tmp_path
):
    launch = _launch_module().launch
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=match):
        launch(
            [sys.executable, "-c", _WORKER, tmp_path, mode], 3, timeout=timeout, echo_first=False
        )
    assert time.monotonic() - started < 30
    pids = [int((tmp_path / f"pid{rank}").read_text()) for rank in (0, 2)]
    assert not any(_alive(pid) for pid in pids)


def _arrays(out_dir: Path, processes: int) -> list[dict[str, np.ndarray]]:
    files = sorted(out_dir.glob("process*.npz"))
    assert [f.name for f in files] == [f"process{i}.npz" for i in range(processes)]
    loaded = []
    for file in files:
        with np.load(file) as data:
            loaded.append(dict(data))
    return loaded


def _assert_bitwise_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray], what: str):
    assert sorted(a) == sorted(b), what
    differ = [k for k in a if a[k].dtype != b[k].dtype or not np.array_equal(a[k], b[k])]
    assert not differ, f"{what}: {len(differ)} of {len(a)} arrays differ, e.g. {differ[:3]}"


def _run_job(tmp: Path, name: str, processes: int, *args: object) -> tuple[str, list[dict]]:
    devices = 8 // processes
    out = _run("--num-processes", processes, "--cpu-devices", devices, "--out", tmp / name, *args)
    assert f"{processes} process(es), 8 cpu device(s); mesh {{'data': 8}}" in out, out
    return out, _arrays(tmp / name, processes)


def _uninterrupted(sharding: str, tmp_path_factory) -> dict:
    """The 2 x 4 run and the 1 x 8 run of all the steps, for one sharding of the state."""
    tmp = tmp_path_factory.mktemp(sharding)
    out, two = _run_job(tmp, "two_processes", 2, "--sharding", sharding)
    _, (one,) = _run_job(tmp, "one_process", 1, "--sharding", sharding)
    return {"sharding": sharding, "out": out, "two": two, "one": one}


def _check_uninterrupted(runs: dict) -> None:
    """2 x 4 equals 1 x 8 bitwise; one compile per step; the state kept its sharding."""
    sharding, one = runs["sharding"], runs["one"]
    for rank, arrays in enumerate(runs["two"]):
        _assert_bitwise_equal(arrays, one, f"{sharding}: process {rank} of 2 vs 1 process")
    # both forms ran every step and followed the same schedule
    assert int(one["optax/count"]) == int(one["brainstate/step_count"]) == STEPS
    assert int(one["brainstate/last_epoch"]) == STEPS
    for name, key in (("lr", "learning_rate"), ("momentum", "momentum")):
        # the brainstate optimizer's injected value, wherever its state layout keeps it
        (saved,) = [k for k in one if re.match(rf"brainstate/opt_state.*\['(0/)?{key}'\]$", k)]
        np.testing.assert_array_equal(one[f"optax/{name}"], one[saved])
    np.testing.assert_allclose(
        one["optax/lr"], jo.onecycle_schedule(0.1, STEPS)(STEPS - 1), rtol=1e-6
    )
    np.testing.assert_allclose(
        one["optax/momentum"], jo.onecycle_momentum_schedule(STEPS)(STEPS - 1), rtol=1e-6
    )
    # the script raises unless each step function was traced once and every weight and
    # buffer had its sharding at the start and at the end
    spec = "P()" if sharding == "replicated" else "P('data',)"
    assert "each step compiled once" in runs["out"], runs["out"]
    assert (
        f"hidden weight {spec} on 8 device(s) ({sharding}); last batch P('data',) over 8 device(s)"
    ) in runs["out"], runs["out"]


def _check_resume(sharding: str, tmp: Path, runs: dict) -> None:
    """Save after step SAVE_AT and stop; fresh processes resume; equal to ``runs``."""
    ckpt = tmp / "checkpoints"
    out, stopped = _run_job(
        tmp,
        "stopped",
        2,
        "--sharding",
        sharding,
        "--ckpt-dir",
        ckpt,
        "--save-at",
        SAVE_AT,
        "--stop-at",
        SAVE_AT,
    )
    assert f"saved the checkpoint of step {SAVE_AT}" in out, out
    assert int(stopped[0]["optax/count"]) == int(stopped[0]["brainstate/step_count"]) == SAVE_AT
    assert [p.name for p in ckpt.iterdir() if p.is_dir()] == [str(SAVE_AT)]
    # every process of that run has exited: fresh ones restore the checkpoint and continue
    # (the script raises unless each restored weight and buffer has its sharding)
    out, resumed = _run_job(
        tmp, "resumed", 2, "--sharding", sharding, "--ckpt-dir", ckpt, "--resume"
    )
    assert f"resumed from the checkpoint of step {SAVE_AT}" in out, out
    for rank, arrays in enumerate(resumed):
        _assert_bitwise_equal(arrays, runs["two"][rank], f"resumed vs uninterrupted, {rank}")
        _assert_bitwise_equal(arrays, runs["one"], f"resumed process {rank} vs 1 process")


@pytest.mark.slow
@pytest.mark.parametrize("sharding", ["replicated", "sharded"])
def test_two_processes_equal_one_process_and_resume_from_a_checkpoint_bitwise(
    sharding, tmp_path_factory
):
    runs = _uninterrupted(sharding, tmp_path_factory)
    _check_uninterrupted(runs)
    _check_resume(sharding, tmp_path_factory.mktemp(f"{sharding}_resume"), runs)
