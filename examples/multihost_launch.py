"""Start N copies of a JAX program as the processes of one ``jax.distributed`` job, locally.

`launch` picks a free loopback port for the coordinator, starts process ``0..N-1`` with
``--coordinator 127.0.0.1:PORT --num-processes N --process-id i`` appended to the
command, waits for all of them within a time limit, and kills every one of them as soon as
one fails or the limit passes (a process whose peer died would otherwise wait on a
collective forever). Each child runs in its own process group, so whatever it starts is
killed with it. Nothing listens on any address but 127.0.0.1.

This is the job of SLURM's ``srun``, a TPU pod's ``gcloud ... --worker=all`` or
``mpirun`` on a real cluster; see ``docs/multihost.md``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence

__all__ = ["free_port", "launch"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _terminate(signum, frame) -> None:
    del frame
    raise SystemExit(128 + signum)


def _kill(procs: Sequence[subprocess.Popen]) -> None:
    """SIGKILL each child's process group (the child and whatever it started)."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for proc in procs:
        proc.wait()


def launch(
    command: Sequence[str],
    num_processes: int,
    *,
    timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
    echo_first: bool = True,
) -> list[str]:
    """Run ``command`` as processes ``0..num_processes-1`` of one job; return their outputs.

    Args:
      command: the program and its arguments (e.g. ``[sys.executable, "train.py"]``); each
        process gets ``--coordinator 127.0.0.1:PORT --num-processes N --process-id i`` more.
      num_processes: how many processes to start (>= 1).
      timeout: seconds the whole job may take; then every process is killed.
      env: the environment of every process (default: this one's).
      echo_first: print process 0's output as it arrives.

    Returns:
      Each process's combined stdout and stderr, in process order.

    Raises:
      ValueError: ``num_processes`` < 1 or ``timeout`` <= 0.
      RuntimeError: a process exited with a non-zero status, or the time limit passed
        (the message holds the end of each process's output).
    """
    if isinstance(num_processes, bool) or not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(f"launch: `num_processes` must be an int >= 1, got {num_processes!r}.")
    if not timeout > 0:
        raise ValueError(f"launch: `timeout` must be > 0 seconds, got {timeout!r}.")
    port = free_port()
    procs: list[subprocess.Popen] = []
    logs = []
    # a SIGTERM to this process (a test's or a scheduler's time limit) still kills the children
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        for rank in range(num_processes):
            log = tempfile.NamedTemporaryFile(prefix=f"process{rank}_", suffix=".log", delete=False)
            logs.append(log)
            argv = [
                *map(str, command),
                "--coordinator",
                f"127.0.0.1:{port}",
                "--num-processes",
                str(num_processes),
                "--process-id",
                str(rank),
            ]
            procs.append(
                subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=None if env is None else dict(env),
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + timeout
        shown = 0
        failed = None
        while True:
            if echo_first:
                shown = _echo(logs[0], shown)
            codes = [p.poll() for p in procs]
            failed = next((r for r, c in enumerate(codes) if c not in (None, 0)), None)
            if failed is not None or all(c == 0 for c in codes):
                break
            if time.monotonic() > deadline:
                failed = -1
                break
            time.sleep(0.05)
        if echo_first:
            _echo(logs[0], shown)
    finally:
        _kill(procs)
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read().decode(errors="replace"))
        log.close()
        os.unlink(log.name)
    if failed is not None:
        what = (
            f"the time limit of {timeout:g} s passed"
            if failed < 0
            else f"process {failed} exited with status {procs[failed].returncode}"
        )
        tails = "\n".join(f"--- process {r} ---\n{out[-3000:]}" for r, out in enumerate(outputs))
        raise RuntimeError(f"launch: {what}; every process was killed.\n{tails}")
    return outputs


def _echo(log, shown: int) -> int:
    """Print what process 0 wrote since ``shown`` characters; return the new count."""
    log.flush()
    with open(log.name, "rb") as reader:
        reader.seek(shown)
        data = reader.read()
    if data:
        print(data.decode(errors="replace"), end="", flush=True)
    return shown + len(data)
