"""A simulator worker process: DEALER connected to the dispatcher's ROUTER.

Says hello, receives orders (a group of sample ids sharing one episode seed, each with its question
type, plus the scales and codec in force when they were written), renders the episode once,
generates one question per order, and sends each sample back. Heartbeats from an I/O thread (so a
long render does not look like a dead worker); reconnects with backoff (ZeroMQ's reconnect
interval doubling up to 5 s); exits cleanly on ``bye``, SIGTERM/SIGINT, or when its parent (a local
fleet) dies. Never imports torch, so it starts in a fraction of a second.

Run as ``python -m simsv_stream.stream.worker --connect tcp://127.0.0.1:5555 --id w0``, or many at
once with ``simsv-stream workers --connect ENDPOINT -n N``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket as _socket
import sys
import threading
import time
from collections import deque
from typing import Any

import numpy as np
import zmq

from .. import wire
from ..config import Scales
from ..sample import Provenance
from .backends import Backend, get_backend
from .orders import question_rng, retry_episode_seed
from .security import CurveClient

log = logging.getLogger("simsv_stream.worker")

MAX_QUESTION_ATTEMPTS = 8  # episodes tried for one order whose type is not askable before giving up


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())}"[:300]


class _Stop(BaseException):
    """Raised by the SIGTERM/SIGINT handler; a BaseException so no `except Exception` swallows it."""


class Unaskable(Exception):
    """The order's question type could not be asked on MAX_QUESTION_ATTEMPTS episodes."""


class Producer:
    """Fills one order: render (or reuse) the episode, ask the question, retry on another
    deterministic episode when the type is not askable. Pure function of the order, so whichever
    process runs it (a worker, or a DataLoader worker in the benchmark) makes the same sample."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._cache_key: tuple | None = None
        self._cache_ep: Any = None

    def episode(self, seed: int, scales: Scales, chash: str) -> tuple[Any, float]:
        key = (seed, chash)
        if key == self._cache_key:
            return self._cache_ep, 0.0
        t0 = time.perf_counter()
        ep = self.backend.simulate(seed, scales)
        dt = time.perf_counter() - t0
        self._cache_key, self._cache_ep = key, ep
        return ep, dt

    def produce(
        self,
        run_seed: int,
        sid: int,
        qtype: str,
        group_seed: int,
        scales: Scales,
        attempt0: int = 0,
        chash: str | None = None,
        mix_version: int = 0,
        worker_id: str = "",
    ) -> tuple[np.ndarray, Any, Provenance]:
        chash = chash or scales.config_hash()
        total_render = 0.0
        for attempt in range(attempt0, attempt0 + MAX_QUESTION_ATTEMPTS):
            eseed = retry_episode_seed(group_seed, sid, attempt)
            ep, render_s = self.episode(eseed, scales, chash)
            total_render += render_s
            qa = self.backend.generate(ep, qtype, question_rng(run_seed, sid, attempt))
            if qa is not None:
                timings = {str(k): float(v) for k, v in dict(getattr(ep, "timings", {}) or {}).items()}
                prov = Provenance(
                    sample_id=sid,
                    seed=run_seed,
                    episode_seed=eseed,
                    config_hash=chash,
                    mix_version=mix_version,
                    worker_id=worker_id,
                    render_s=total_render,
                    timings=timings,
                )
                return ep.frames.rgb, qa, prov
        raise Unaskable(
            f"question type {qtype} not askable on {MAX_QUESTION_ATTEMPTS} episodes "
            f"(attempts {attempt0}..{attempt0 + MAX_QUESTION_ATTEMPTS - 1})"
        )


class Worker:
    def __init__(
        self,
        connect: str,
        worker_id: str,
        backend: Backend | str = "procedural",
        backend_options: dict | None = None,
        heartbeat_s: float = 1.0,
        curve: CurveClient | None = None,
        parent_pid: int | None = None,
    ):
        self.connect = connect
        self.worker_id = worker_id
        self.backend = backend if isinstance(backend, Backend) else get_backend(backend, backend_options)
        self.heartbeat_s = float(heartbeat_s)
        self.curve = curve
        self.parent_pid = parent_pid
        self.orders: deque = deque()
        self.stop = threading.Event()
        self.producer = Producer(self.backend)
        self._scales: dict[str, Scales] = {}
        self.done = 0
        self.epoch: int | None = None
        self._ctx = zmq.Context()
        self._bye_reason = "exit"
        # The main thread owns the DEALER and holds `_io` whenever it touches it (it polls for
        # orders and sends samples itself: no thread hop per sample). While it renders it releases
        # `_io`, and the heartbeat thread borrows the socket to keep the dispatcher informed.
        self._io = threading.Lock()
        self._held = False  # whether the main thread holds _io
        self._dealer: zmq.Socket | None = None
        self._next_hb = 0.0

    def _acquire(self) -> None:
        self._io.acquire()
        self._held = True

    def _release(self) -> None:
        self._held = False
        self._io.release()

    # ------------------------------------------------------------------------------------------
    def _heartbeat_if_due(self) -> None:  # caller holds _io
        now = time.monotonic()
        if now >= self._next_hb:
            wire.send(
                self._dealer,
                wire.encode(
                    "heartbeat", worker=self.worker_id, pid=os.getpid(), queued=len(self.orders), done=self.done
                ),
            )
            self._next_hb = now + self.heartbeat_s

    def _heartbeats(self) -> None:
        """Background: heartbeat while the main thread is busy rendering."""
        while not self.stop.wait(self.heartbeat_s / 4):
            if self._io.acquire(blocking=False):
                try:
                    if not self.stop.is_set():
                        self._heartbeat_if_due()
                except zmq.ZMQError:
                    pass
                finally:
                    self._io.release()

    def _receive(self, timeout_s: float) -> None:  # caller holds _io
        if not self._dealer.poll(timeout_s * 1000):
            return
        while True:
            try:
                parts = self._dealer.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                msg = wire.decode(parts)
            except wire.WireError as e:
                log.warning("worker %s: rejected message from dispatcher: %s", self.worker_id, e)
                continue
            if msg.kind == "order":
                self.epoch = msg["epoch"]  # orders arrive in order: the latest epoch is the live one
                self.orders.append(msg)
            elif msg.kind == "bye":
                self._bye_reason = "dispatcher said bye"
                self.stop.set()
                return
            elif msg.kind == "error":
                log.warning("worker %s: dispatcher says: %s", self.worker_id, msg["reason"])

    # ------------------------------------------------------------------------------------------
    def run(self) -> int:
        dealer = self._ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.IDENTITY, self.worker_id.encode())
        dealer.setsockopt(zmq.RECONNECT_IVL, 100)
        dealer.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)  # exponential backoff up to 5 s
        dealer.setsockopt(zmq.SNDHWM, 64)
        if self.curve is not None:
            self.curve.apply(dealer)
        dealer.connect(self.connect)
        self._dealer = dealer
        hb = threading.Thread(target=self._heartbeats, name="simsv-worker-heartbeat", daemon=True)
        log.info(
            "worker %s (pid %d, backend %s) connected to %s",
            self.worker_id,
            os.getpid(),
            self.backend.name,
            self.connect,
        )
        rc = 0
        self._acquire()
        try:
            wire.send(
                dealer,
                wire.encode(
                    "hello",
                    worker=self.worker_id,
                    pid=os.getpid(),
                    backend=self.backend.name,
                    host=_socket.gethostname(),
                ),
            )
            self._next_hb = time.monotonic() + self.heartbeat_s
            hb.start()
            last_parent_check = time.monotonic()
            while not self.stop.is_set():
                if not self.orders:
                    self._receive(max(0.0, min(0.5, self._next_hb - time.monotonic())))
                    self._heartbeat_if_due()
                    now = time.monotonic()
                    if self.parent_pid and now - last_parent_check > 0.5:
                        last_parent_check = now
                        if os.getppid() != self.parent_pid:
                            self._bye_reason = "parent exited"
                            break
                    continue
                msg = self.orders.popleft()
                self._fill(msg)
                self._receive(0)
        except (_Stop, KeyboardInterrupt):
            self._bye_reason = "signal"
        except Exception as e:  # a bug in the worker itself: say so, leave
            log.error("worker %s: crashed: %s", self.worker_id, _one_line(e))
            self._bye_reason = f"crashed: {_one_line(e)}"
            rc = 1
        finally:
            self.stop.set()
            if self._held or self._io.acquire(timeout=1.0):
                try:
                    wire.send(dealer, wire.encode("bye", worker=self.worker_id, reason=self._bye_reason))
                except zmq.ZMQError:
                    pass
            dealer.close(linger=1000)
            self._ctx.term()
        return rc

    def _fill(self, msg: wire.Message) -> None:  # caller holds _io; released while producing
        h = msg.header
        epoch = h["epoch"]
        try:
            key = h.get("config_hash") or repr(sorted(h["scales"].items()))
            scales = self._scales.get(key)
            if scales is None:
                scales = self._scales[key] = Scales.from_dict(h["scales"])
        except Exception as e:
            for it in h["items"]:
                self._send_error(it["sample_id"], epoch, f"bad scales in order: {_one_line(e)}")
            return
        chash = h.get("config_hash") or scales.config_hash()
        for it in h["items"]:
            if epoch != self.epoch or self.stop.is_set():
                return  # the dispatcher restarted (resume, or a new dispatcher): this order is void
            sid = it["sample_id"]
            self._release()
            try:
                frames, qa, prov = self.producer.produce(
                    h["seed"],
                    sid,
                    it["question_type"],
                    h["episode_seed"],
                    scales,
                    it.get("attempt0", 0),
                    chash,
                    h.get("mix_version", 0),
                    self.worker_id,
                )
                parts = wire.encode_sample(
                    epoch=epoch,
                    sample_id=sid,
                    frames=frames,
                    qa=qa,
                    provenance=prov,
                    codec=h["codec"],
                    quality=h.get("quality", 90),
                    worker=self.worker_id,
                )
            except (_Stop, KeyboardInterrupt):
                raise
            except Exception as e:
                self._acquire()
                log.warning("worker %s: sample %d failed: %s", self.worker_id, sid, _one_line(e))
                self._send_error(sid, epoch, _one_line(e))
                continue
            self._acquire()
            wire.send(self._dealer, parts)
            self.done += 1
            self._receive(0)  # newer orders (maybe of a newer epoch) before the next item

    def _send_error(self, sid: int, epoch: int, reason: str) -> None:  # caller holds _io
        wire.send(self._dealer, wire.encode("error", worker=self.worker_id, sample_id=sid, epoch=epoch, reason=reason))


# ----------------------------------------------------------------------------------------------
def _set_pdeathsig() -> None:
    """Linux: get SIGTERM when the parent dies (even by SIGKILL), so a fleet leaves no orphans."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m simsv_stream.stream.worker")
    p.add_argument("--connect", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--backend", default="procedural")
    p.add_argument("--backend-options", default="{}", help="JSON object")
    p.add_argument("--heartbeat", type=float, default=1.0)
    p.add_argument("--parent-pid", type=int, default=None)
    p.add_argument("--curve-keys", default=None, help="folder made by `simsv-stream keys`")
    p.add_argument("--curve-client", default=None, help="client name in that folder (default: first)")
    p.add_argument("--log-level", default="INFO")
    a = p.parse_args(argv)
    logging.basicConfig(level=a.log_level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    if a.parent_pid:
        _set_pdeathsig()
        if os.getppid() != a.parent_pid:
            return 0  # parent already gone

    current: list[Worker] = []

    def _on_signal(signum: int, frame: Any) -> None:
        if current and current[0].stop.is_set():
            return  # already leaving: let the cleanup finish
        if current:
            current[0].stop.set()
        raise _Stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        curve = CurveClient.from_folder(a.curve_keys, a.curve_client) if a.curve_keys else None
        w = Worker(a.connect, a.id, a.backend, json.loads(a.backend_options), a.heartbeat, curve, a.parent_pid)
        current.append(w)
    except _Stop:
        return 0
    except Exception as e:
        print(f"worker {a.id}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    return w.run()


if __name__ == "__main__":
    sys.exit(main())
