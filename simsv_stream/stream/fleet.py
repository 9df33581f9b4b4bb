"""A local fleet of worker processes: spawn N, grow or shrink live, leave no orphans.

Workers are ``python -m simsv_stream.stream.worker`` subprocesses (no torch import, ~0.2 s to start).
No orphans: each worker asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG, so even
``kill -9`` of the trainer takes the workers down) and also watches its parent pid; the fleet
terminates its children at interpreter exit (atexit) and on SIGTERM/SIGHUP of the parent.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger("simsv_stream.stream")

_LIVE: "weakref.WeakSet[Fleet]" = weakref.WeakSet()
_HOOKS_INSTALLED = False
_ATEXIT = False
_fleet_counter = 0


def _stop_all() -> None:
    for f in list(_LIVE):
        try:
            f.stop(timeout=2.0)
        except Exception:
            pass


def install_exit_hooks() -> None:
    """atexit (always) and SIGTERM/SIGHUP handlers (when called from the main thread and the
    application has none) that stop every live fleet's workers."""
    global _HOOKS_INSTALLED, _ATEXIT
    if not _ATEXIT:
        atexit.register(_stop_all)
        _ATEXIT = True
    if _HOOKS_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    _HOOKS_INSTALLED = True
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            prev = signal.getsignal(sig)
        except (ValueError, OSError):
            continue
        if prev not in (signal.SIG_DFL, None):
            continue  # the application handles it; atexit still runs on a clean exit

        def _handler(signum: int, frame: Any, _sig=sig) -> None:
            _stop_all()
            signal.signal(_sig, signal.SIG_DFL)
            os.kill(os.getpid(), _sig)

        signal.signal(sig, _handler)


class Fleet:
    """N worker subprocesses connected to ``connect``. The dispatcher's threads share it (the
    housekeeping thread reaps and respawns, control calls grow and shrink it, status reads it), so
    every method holds one lock."""

    def __init__(
        self,
        connect: str,
        *,
        backend: str = "procedural",
        backend_options: Mapping[str, Any] | None = None,
        heartbeat_s: float = 1.0,
        curve_keys: str | None = None,
        tag: str | None = None,
        log_level: str = "WARNING",
        env: Mapping[str, str] | None = None,
        tune_malloc: bool = True,
    ):
        global _fleet_counter
        _fleet_counter += 1
        self.connect = connect
        self.backend = backend
        self.backend_options = dict(backend_options or {})
        self.heartbeat_s = heartbeat_s
        self.curve_keys = curve_keys
        self.tag = tag or f"{socket.gethostname()}-{os.getpid()}-{_fleet_counter}"
        self.log_level = log_level
        self._lock = threading.RLock()
        self.procs: dict[str, subprocess.Popen] = {}
        self.slots: dict[str, int] = {}  # worker id -> slot (SIMSV_WORKER_SLOT: a GPU per slot for thor)
        self.retiring: set[str] = set()
        self._next = 0
        root = str(Path(__file__).resolve().parents[2])
        self.env = dict(os.environ if env is None else env)
        self.env["PYTHONPATH"] = root + (os.pathsep + self.env["PYTHONPATH"] if self.env.get("PYTHONPATH") else "")
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            self.env.setdefault(var, "1")
        if tune_malloc and "MALLOC_TRIM_THRESHOLD_" not in self.env:
            # rendered frame stacks are MB-sized: reuse them instead of re-faulting pages every episode
            self.env.setdefault("MALLOC_MMAP_THRESHOLD_", str(64 << 20))
            self.env["MALLOC_TRIM_THRESHOLD_"] = str(1 << 30)
        _LIVE.add(self)
        install_exit_hooks()

    # ------------------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Workers running and not asked to leave."""
        with self._lock:
            return sum(1 for w, p in self.procs.items() if w not in self.retiring and p.poll() is None)

    def pids(self) -> dict[str, int]:
        with self._lock:
            return {w: p.pid for w, p in self.procs.items()}

    def staying(self) -> list[str]:
        """Ids of the workers not asked to leave, oldest first."""
        with self._lock:
            return [w for w in self.procs if w not in self.retiring]

    def spawn(self, n: int = 1) -> list[str]:
        with self._lock:
            return [self._spawn_one() for _ in range(n)]

    def _spawn_one(self) -> str:
        wid = f"{self.tag}-w{self._next}"
        self._next += 1
        cmd = [
            sys.executable,
            "-m",
            "simsv_stream.stream.worker",
            "--connect",
            self.connect,
            "--id",
            wid,
            "--backend",
            self.backend,
            "--backend-options",
            json.dumps(self.backend_options),
            "--heartbeat",
            str(self.heartbeat_s),
            "--parent-pid",
            str(os.getpid()),
            "--log-level",
            self.log_level,
        ]
        if self.curve_keys:
            cmd += ["--curve-keys", str(self.curve_keys)]
        # the lowest slot no live worker holds: a replacement takes over its predecessor's GPU
        held = {self.slots[w] for w, p in self.procs.items() if p.poll() is None}
        slot = next(i for i in range(len(held) + 1) if i not in held)
        self.slots[wid] = slot
        env = dict(self.env, SIMSV_WORKER_SLOT=str(slot))
        self.procs[wid] = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        return wid

    def retire(self, wid: str) -> None:
        """Mark a worker as leaving on purpose (its exit is not a crash)."""
        with self._lock:
            self.retiring.add(wid)

    def terminate(self, wid: str) -> None:
        with self._lock:
            p = self.procs.get(wid)
            if p is not None and p.poll() is None:
                self.retiring.add(wid)
                p.terminate()

    def poll(self) -> list[tuple[str, int, bool]]:
        """Reap exited workers: [(worker id, return code, expected)]."""
        out = []
        with self._lock:
            for wid, p in list(self.procs.items()):
                rc = p.poll()
                if rc is not None:
                    del self.procs[wid]
                    self.slots.pop(wid, None)
                    expected = wid in self.retiring
                    self.retiring.discard(wid)
                    out.append((wid, rc, expected))
        return out

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM every worker, wait up to ``timeout``, SIGKILL the rest."""
        with self._lock:
            for wid, p in self.procs.items():
                if p.poll() is None:
                    self.retiring.add(wid)
                    try:
                        p.terminate()
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + timeout
            for p in self.procs.values():
                try:
                    p.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(2)
            self.procs.clear()
            self.slots.clear()
        _LIVE.discard(self)


def describe_exit(rc: int) -> str:
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exited with status {rc}"
