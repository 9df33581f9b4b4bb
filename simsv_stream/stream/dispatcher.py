"""The trainer-side dispatcher: ROUTER bound, writes work orders, collects samples, delivers in id order.

* **Ids**: rank ``r`` of ``w`` assigns ids ``r, r + w, r + 2w, ...``; a sample is delivered to the
  consumer strictly in id order, exactly once (late duplicates are dropped by id), so the stream's
  position is one number (the next id to deliver).
* **Orders** are written only when they can be sent: the mix and scales *in force when an order is
  written* decide its question type and size, so a change is exact (every id from the change's
  ``first_id`` on follows it). Orders sharing an episode seed (``questions_per_episode``) go to one
  worker in one message; the worker renders once.
* **Credit**: at most ``credit`` orders outstanding per worker, and at most ``credit x workers`` ids
  written but not yet consumed (a bound on the samples of an old mix seen after a change, and on memory).
* **Failures**: a worker that misses 3 heartbeats, disconnects, exits (local fleet) or says bye has its
  orders re-issued unchanged to the others; an order a worker reports failed is re-issued up to
  ``max_attempts`` times, then the consumer gets a :class:`StreamError`.
* **Malformed input** (any :class:`~simsv_stream.wire.WireError`) is logged in one line, answered with
  an ``error`` message to the sender, and otherwise ignored.
* **Control**: ``set_mix``/``set_scales``/``set_workers``/``status`` (thread-safe), also served as JSON
  over a REQ/REP socket (:mod:`simsv_stream.stream.control`).

All sockets live in one I/O thread; the consumer (``get``) and control callers talk to it through a
lock and an inproc wake-up socket.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import queue
import sys
import threading
import time
import weakref
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import zmq

from .. import wire
from ..config import Scales
from ..errors import ConfigError, SimsvError
from .config import StreamConfig, is_loopback_endpoint
from .fleet import Fleet, describe_exit, install_exit_hooks
from .orders import choose_type, episode_seed, load_mix, mix_weights
from .worker import MAX_QUESTION_ATTEMPTS

log = logging.getLogger("simsv_stream.stream")

STATE_FORMAT = 1
HEARTBEAT_MISSES = 3
RATE_WINDOW_S = 10.0
_counter = itertools.count()
_LIVE: "weakref.WeakSet[Dispatcher]" = weakref.WeakSet()


class StreamError(SimsvError):
    """The stream cannot go on (an order failed on every try, all workers died at start, ...)."""


@dataclass
class OrderItem:
    sample_id: int
    question_type: str
    attempt0: int = 0
    failures: int = 0
    sent_at: float = 0.0


@dataclass
class Group:
    """Orders sharing one episode seed (one render)."""

    gid: int  # first sample id of the group
    episode_seed: int
    scales_version: int
    mix_version: int
    items: list[OrderItem]


@dataclass
class WorkerInfo:
    wid: str
    identity: bytes
    pid: int = 0
    host: str = ""
    backend: str = ""
    joined: float = 0.0
    last_seen: float = 0.0
    assigned: set[int] = field(default_factory=set)
    done: int = 0
    render_s: float = 0.0
    renders: int = 0
    draining: bool = False
    completions: deque = field(default_factory=lambda: deque(maxlen=2048))


def _rate(times: deque, now: float) -> float:
    n = 0
    for t in reversed(times):
        if now - t > RATE_WINDOW_S:
            break
        n += 1
    if n == 0:
        return 0.0
    span = min(RATE_WINDOW_S, max(1e-3, now - times[-n])) if n > 1 else RATE_WINDOW_S
    return n / span if n > 1 else 1.0 / RATE_WINDOW_S


MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 1 << 30
_malloc_tuned = False


def tune_malloc() -> bool:
    """glibc only: keep freed MB-sized buffers for reuse instead of unmapping them after every sample.

    By default glibc serves each multi-MB allocation (a received video, a rendered frame stack) with a
    fresh mmap and unmaps it on free, so every sample pays ~1 page fault per 4 KiB again; with samples
    of several MB that is a measurable share of the transport cost (+15-20 % samples/s here). Raising
    M_MMAP_THRESHOLD to 64 MiB and M_TRIM_THRESHOLD to 1 GiB lets the heap reuse them; the cost is that
    resident memory stays near its peak (about the samples in flight). Environment variables
    MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_, when set, win. Returns whether it applied."""
    global _malloc_tuned
    if _malloc_tuned or not sys.platform.startswith("linux"):
        return _malloc_tuned
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        ok = libc.mallopt(-3, MMAP_THRESHOLD) == 1 and libc.mallopt(-1, TRIM_THRESHOLD) == 1  # M_MMAP/M_TRIM
    except (OSError, AttributeError):
        return False
    _malloc_tuned = ok
    return ok


def _connectable(bound: str) -> str:
    """An address workers on this machine can connect to for a bound endpoint."""
    scheme, _, rest = bound.partition("://")
    if scheme != "tcp":
        return bound
    host, _, port = rest.rpartition(":")
    if host in ("0.0.0.0", "*", "[::]", "::"):
        host = "127.0.0.1"
    return f"tcp://{host}:{port}"


class Dispatcher:
    """Hands out orders, collects samples, delivers them in id order. ``start()`` binds and spawns
    the local fleet (``config.workers`` processes); ``close()`` stops everything."""

    def __init__(self, config: StreamConfig, *, fleet: bool = True, log_changes: bool = True):
        self.config = config
        self.rank, self.world = config.rank_world()
        self.seed = config.seed
        self.credit = config.credit
        self.log_changes = log_changes
        self._want_fleet = fleet and config.workers > 0
        self._target_workers = config.workers if fleet else 0
        self.fleet: Fleet | None = None
        self.endpoint: str | None = None  # bound data endpoint (resolved port)
        self.connect_endpoint: str | None = None  # what local workers connect to
        self.control_endpoint: str | None = None
        self._cond = threading.Condition(threading.RLock())
        self._ctx: zmq.Context | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._closed = False
        self._commands: "queue.Queue[tuple[Callable[[], Any], Future]]" = queue.Queue()
        self._wake_push: zmq.Socket | None = None
        self._wake_lock = threading.Lock()
        self._io = threading.Lock()  # ownership of the ROUTER + wake sockets
        self._get_lock = threading.Lock()  # one consumer at a time
        self._tick = max(0.01, min(0.05, config.heartbeat_s / 4))
        self._next_check = 0.0
        self._auth = None
        # stream position and orders. The epoch tags every order: a fresh random one per dispatcher
        # (so samples ordered by an earlier incarnation on the same port are never taken for ours),
        # + 1 on every restart/resume.
        self.epoch = int.from_bytes(os.urandom(4), "little") >> 2
        self._next_deliver = self.rank
        self._next_write = self.rank
        self._orders: dict[int, tuple[Group, OrderItem]] = {}  # written, not yet consumed
        self._pending: dict[int, str] = {}  # in flight: id -> worker id
        self._ready: dict[int, wire.WireSample] = {}  # received, waiting for its turn
        self._reissue: list[tuple[int, int, Group, list[OrderItem]]] = []
        self._reissue_seq = itertools.count()
        # mix / scales in force
        self._version = 0
        self._mix = load_mix(config.mix)
        self._mix_version = 0
        self._scales = config.scales
        self._scales_version = 0
        self._scales_table: dict[int, Scales] = {0: config.scales}
        self._scales_cache: dict[int, tuple[dict, str]] = {}
        self._changes: list[dict[str, Any]] = []
        # workers and stats
        self._workers: dict[bytes, WorkerInfo] = {}
        self._ever_connected = 0
        self._fleet_exits: list[str] = []
        self._fatal: BaseException | None = None
        self._produced: deque = deque(maxlen=65536)
        self._consumed: deque = deque(maxlen=65536)
        self._n_produced = 0
        self._n_consumed = 0
        self._n_rejected = 0
        self._n_duplicates = 0
        self._n_stale = 0
        self._n_foreign = 0
        self._n_reissued = 0
        self._reject_log: dict[bytes, int] = {}
        self._last_delivery = time.monotonic()
        self._started_at = time.monotonic()

    # ==========================================================================================
    # lifecycle
    #
    # Threads. Whoever holds `_io` owns the ROUTER (and the wake socket): the consumer inside get()
    # receives, validates and pumps orders itself, so the hot path has no thread hop; while the
    # consumer is away (the trainer is busy), the housekeeping thread takes `_io` every tick to drain
    # the ROUTER, check heartbeats and pump. The housekeeping thread alone owns the control (REP)
    # socket and the local fleet (it spawns every worker, so PR_SET_PDEATHSIG ties them to a thread
    # that lives as long as the stream). Stream state is guarded by `_cond` (an RLock).
    def start(self) -> "Dispatcher":
        if self._thread is not None:
            return self
        cfg = self.config
        data = cfg.bind_endpoint()
        control = cfg.resolved_control_endpoint()
        for name, ep in (("endpoint", data), ("control_endpoint", control)):
            if ep and not is_loopback_endpoint(ep) and not cfg.curve_keys:
                raise ConfigError(
                    name,
                    f"refusing to bind {ep}: it listens beyond this machine, which needs "
                    f"CurveZMQ keys (make them with `simsv-stream keys --out DIR`, set "
                    f"stream.curve_keys: DIR, start workers with --curve-keys DIR); "
                    f"use tcp://127.0.0.1:PORT for a local stream",
                )
        if cfg.tune_malloc:
            tune_malloc()
        if self._want_fleet:
            install_exit_hooks()  # atexit + SIGTERM/SIGHUP stop local workers (from the main thread only)
        curve = None
        if cfg.curve_keys:
            from .security import CurveServer

            curve = CurveServer.from_folder(cfg.curve_keys)
        self._ctx = zmq.Context()
        router = self._ctx.socket(zmq.ROUTER)
        ctl = None
        try:
            if curve is not None:
                self._auth = curve.start_authenticator(self._ctx)
                curve.apply(router)
            router.setsockopt(zmq.ROUTER_MANDATORY, 1)
            router.setsockopt(zmq.LINGER, 0)
            router.setsockopt(zmq.RCVHWM, 10000)
            router.setsockopt(zmq.MAXMSGSIZE, 2 * cfg.max_sample_bytes + (1 << 20))
            router.bind(data)
            self.endpoint = router.getsockopt(zmq.LAST_ENDPOINT).decode()
            self.connect_endpoint = _connectable(self.endpoint)
            if control:
                ctl = self._ctx.socket(zmq.REP)
                ctl.setsockopt(zmq.LINGER, 0)
                if curve is not None and not is_loopback_endpoint(control):
                    curve.apply(ctl)
                ctl.bind(control)
                self.control_endpoint = ctl.getsockopt(zmq.LAST_ENDPOINT).decode()
        except zmq.ZMQError as e:
            router.close(0)
            if ctl is not None:
                ctl.close(0)
            if self._auth is not None:
                self._auth.stop()
            self._ctx.term()
            raise ConfigError("endpoint", f"cannot bind {data if self.endpoint is None else control}: {e}") from None
        wake_addr = f"inproc://simsv-dispatch-wake-{os.getpid()}-{next(_counter)}"
        self._wake_pull = self._ctx.socket(zmq.PULL)
        self._wake_pull.bind(wake_addr)
        self._wake_push = self._ctx.socket(zmq.PUSH)
        self._wake_push.connect(wake_addr)
        self._router = router
        self._poller = zmq.Poller()
        self._poller.register(router, zmq.POLLIN)
        self._poller.register(self._wake_pull, zmq.POLLIN)
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._housekeeping, args=(ctl, ready), name=f"simsv-dispatcher-r{self.rank}", daemon=True
        )
        self._thread.start()
        ready.wait(30)
        _LIVE.add(self)
        log.info(
            "stream rank %d/%d: dispatcher on %s (control %s), %d local workers, credit %d",
            self.rank,
            self.world,
            self.endpoint,
            self.control_endpoint,
            self._target_workers,
            self.credit,
        )
        return self

    def close(self, timeout: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing = True
        if self._thread is None:
            return
        self._wake()
        got = self._io.acquire(timeout=timeout)
        try:
            for w in list(self._workers.values()):
                self._send(w.identity, wire.encode("bye", reason="dispatcher closing"), quiet=True)
        finally:
            if got:
                self._io.release()
        self._thread.join(timeout)  # stops the fleet, closes the control socket
        got = self._io.acquire(timeout=timeout)
        try:
            self._router.close(0)
            self._wake_pull.close(0)
            with self._wake_lock:
                self._wake_push.close(0)
                self._wake_push = None
            if self._auth is not None:
                self._auth.stop()
            self._ctx.term()
        finally:
            if got:
                self._io.release()
        _LIVE.discard(self)

    def __enter__(self) -> "Dispatcher":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _wake(self) -> None:
        """Interrupt the I/O owner's poll (it re-checks commands, state and the closing flag)."""
        with self._wake_lock:
            if self._wake_push is None:
                return
            try:
                self._wake_push.send(b"", zmq.NOBLOCK)
            except zmq.ZMQError:
                pass

    def _new_fleet(self) -> Fleet:
        return Fleet(
            self.connect_endpoint,
            backend=self.config.backend,
            backend_options=self.config.backend_options,
            heartbeat_s=self.config.heartbeat_s,
            curve_keys=self.config.curve_keys,
            tag=f"r{self.rank}-{os.getpid()}-{next(_counter)}",
            tune_malloc=self.config.tune_malloc,
        )

    def _call(self, fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run fn in the housekeeping thread (directly when already there) and return its result."""
        if self._thread is None or threading.current_thread() is self._thread:
            return fn()
        if self._closing:
            raise StreamError("the stream is closed")
        fut: Future = Future()
        self._commands.put((fn, fut))
        return fut.result(timeout)

    # ------------------------------------------------------------------------------------------
    def _housekeeping(self, ctl: zmq.Socket | None, ready: threading.Event) -> None:
        tick = self._tick
        try:
            if self._want_fleet:
                self.fleet = self._new_fleet()
                self.fleet.spawn(self._target_workers)
            ready.set()
            while not self._closing:
                if ctl is not None:
                    if ctl.poll(tick * 1000):
                        self._on_control(ctl)
                else:
                    time.sleep(tick)
                while not self._commands.empty():
                    fn, fut = self._commands.get_nowait()
                    try:
                        fut.set_result(fn())
                    except BaseException as e:  # handed back to the caller
                        fut.set_exception(e)
                self._check_fleet(time.monotonic())
                if self._io.acquire(blocking=False):  # the consumer is away: service the sockets
                    try:
                        if not self._closing:
                            self._service(0)
                    finally:
                        self._io.release()
        except Exception as e:  # a bug here must not hang the consumer
            log.exception("stream rank %d: dispatcher housekeeping crashed", self.rank)
            with self._cond:
                self._fatal = StreamError(f"dispatcher housekeeping crashed: {type(e).__name__}: {e}")
        finally:
            ready.set()
            if self.fleet is not None:
                self.fleet.stop(timeout=3.0)
            while not self._commands.empty():
                _, fut = self._commands.get_nowait()
                fut.set_exception(StreamError("the stream is closed"))
            if ctl is not None:
                ctl.close(0)

    def _service(self, timeout_s: float) -> None:
        """Receive and handle what arrived (waiting up to timeout_s), check heartbeats, pump orders.
        The caller holds `_io`."""
        events = dict(self._poller.poll(timeout_s * 1000))
        if self._router in events:
            for _ in range(256):
                try:
                    parts = self._router.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                self._on_router(parts)
        if self._wake_pull in events:
            while True:
                try:
                    self._wake_pull.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self._tick
            with self._cond:
                self._check_heartbeats(now)
        self._pump()

    def _send(self, identity: bytes, parts: list, quiet: bool = False) -> bool:
        try:
            wire.send(self._router, parts, identity=identity)
            return True
        except zmq.ZMQError as e:
            if not quiet:
                w = self._workers.get(identity)
                if w is not None:
                    with self._cond:
                        self._lose(w, f"unreachable ({e.strerror})")
            return False

    # ------------------------------------------------------------------------------------------
    def _on_router(self, parts: list) -> None:
        identity = parts[0].bytes
        now = time.monotonic()
        try:
            msg = wire.decode(parts[1:], max_sample_bytes=self.config.max_sample_bytes)
        except wire.WireError as e:
            self._reject(identity, str(e))
            return
        with self._cond:
            self._dispatch(identity, msg, now)

    def _dispatch(self, identity: bytes, msg: wire.Message | wire.WireSample, now: float) -> None:
        w = self._workers.get(identity)
        if w is not None:
            w.last_seen = now
        if isinstance(msg, wire.WireSample):
            if w is None:  # only registered workers deliver (a worker declared dead re-joins by heartbeat)
                self._n_foreign += 1
                log.info(
                    "stream rank %d: ignored sample %d from %r, not a connected worker",
                    self.rank,
                    msg.sample_id,
                    identity[:32],
                )
                return
            msg.received_at = now
            self._on_sample(identity, w, msg)
            return
        kind = msg.kind
        if kind == "hello":
            if w is not None:
                self._lose(w, "said hello again (restarted)")
            self._register(identity, msg, now)
        elif kind == "heartbeat":
            if w is None:
                self._register(identity, msg, now)
        elif kind == "bye":
            if w is not None:
                self._lose(w, f"said bye ({msg.get('reason') or 'no reason'})", quiet=True)
        elif kind == "error":
            self._on_worker_error(identity, w, msg)
        else:  # order: only the dispatcher writes orders
            self._reject(identity, f"unexpected {kind} message (workers send hello, sample, heartbeat, error, bye)")

    def _reject(self, identity: bytes, reason: str) -> None:
        self._n_rejected += 1
        n = self._reject_log.get(identity, 0) + 1
        self._reject_log[identity] = n
        if n <= 20 or n % 1000 == 0:
            log.warning(
                "stream rank %d: rejected message from %r: %s%s",
                self.rank,
                identity[:32],
                reason,
                f" ({n} from this peer)" if n > 1 else "",
            )
        self._send(identity, wire.encode("error", reason=f"rejected: {reason}"), quiet=True)

    def _register(self, identity: bytes, msg: wire.Message, now: float) -> None:
        wid = msg.get("worker") or identity.decode(errors="replace")
        w = WorkerInfo(
            wid=wid,
            identity=identity,
            pid=msg.get("pid") or 0,
            host=msg.get("host") or "",
            backend=msg.get("backend") or "",
            joined=now,
            last_seen=now,
        )
        self._workers[identity] = w
        self._ever_connected += 1
        if self.fleet is not None and wid in self.fleet.retiring:
            w.draining = True
        log.info("stream rank %d: worker %s joined (pid %d%s)", self.rank, wid, w.pid, f", {w.host}" if w.host else "")

    def _lose(self, w: WorkerInfo, why: str, quiet: bool = False) -> None:
        """Forget a worker and re-issue its orders (unchanged) to the others."""
        self._workers.pop(w.identity, None)
        lost = sorted(s for s in w.assigned if self._pending.get(s) == w.wid)
        for s in lost:
            del self._pending[s]
        self._requeue(lost)
        if self._closing:
            return
        if lost or not quiet:
            ids = ", ".join(map(str, lost[:8])) + (", ..." if len(lost) > 8 else "")
            log.warning(
                "stream rank %d: worker %s (pid %d) lost: %s; re-issuing %d order(s)%s",
                self.rank,
                w.wid,
                w.pid,
                why,
                len(lost),
                f" (ids {ids})" if lost else "",
            )
        else:
            log.info("stream rank %d: worker %s left: %s", self.rank, w.wid, why)

    def _requeue(self, ids: list[int]) -> None:
        by_group: dict[int, tuple[Group, list[OrderItem]]] = {}
        for s in ids:
            entry = self._orders.get(s)
            if entry is None:
                continue
            g, it = entry
            by_group.setdefault(g.gid, (g, []))[1].append(it)
        for g, items in by_group.values():
            self._n_reissued += len(items)
            heapq.heappush(self._reissue, (items[0].sample_id, next(self._reissue_seq), g, items))

    def _on_sample(self, identity: bytes, w: WorkerInfo, ws: wire.WireSample) -> None:
        sid = ws.sample_id
        w.assigned.discard(sid)
        if ws.header["epoch"] != self.epoch:
            self._n_stale += 1
            return
        entry = self._orders.get(sid)
        if entry is None or sid not in self._pending:
            self._n_duplicates += 1
            log.debug("stream rank %d: dropped duplicate of sample %d", self.rank, sid)
            return
        g, it = entry
        # the sample must be what was ordered: type and frame size
        sc = self._scales_table[g.scales_version]
        shape = ws.shape
        problem = None
        if ws.question_type != it.question_type:
            problem = f"question type {ws.question_type!r}, ordered {it.question_type!r}"
        elif shape[:3] != (sc.frames, sc.height, sc.width):
            problem = f"frames {list(shape)}, ordered {sc.frames}x{sc.height}x{sc.width}"
        if problem:
            self._reject(identity, f"sample {sid} does not match its order: {problem}")
            self._fail_order(sid, f"mismatching sample from {w.wid}: {problem}")
            return
        del self._pending[sid]
        ws.ordered_at = it.sent_at
        now = ws.received_at
        self._produced.append(now)
        self._n_produced += 1
        w.done += 1
        w.completions.append(now)
        r = ws.header["provenance"].get("render_s", 0.0) or 0.0
        if r > 0:
            w.render_s += r
            w.renders += 1
        self._ready[sid] = ws
        if sid == self._next_deliver:
            self._cond.notify_all()

    def _on_worker_error(self, identity: bytes, w: WorkerInfo | None, msg: wire.Message) -> None:
        sid, epoch = msg.get("sample_id"), msg.get("epoch")
        who = w.wid if w else repr(identity[:32])
        if sid is None:
            log.warning("stream rank %d: worker %s reports: %s", self.rank, who, msg["reason"])
            return
        if w is not None:
            w.assigned.discard(sid)
        if epoch != self.epoch or sid not in self._pending:
            return
        log.warning("stream rank %d: worker %s failed sample %d: %s", self.rank, who, sid, msg["reason"])
        self._fail_order(sid, msg["reason"], unaskable="not askable" in msg["reason"])

    def _fail_order(self, sid: int, reason: str, unaskable: bool = False) -> None:
        holder = self._pending.pop(sid, None)
        if holder is not None:
            for w in self._workers.values():
                if w.wid == holder:
                    w.assigned.discard(sid)
        g, it = self._orders[sid]
        it.failures += 1
        if unaskable:
            it.attempt0 += MAX_QUESTION_ATTEMPTS
        if it.failures >= self.config.max_attempts:
            with self._cond:
                hint = ""
                if unaskable:
                    # a type that no episode at these scales supports would otherwise look like a crash
                    sc = self._scales_table[g.scales_version]
                    hint = (
                        f"; {it.question_type} needs more than {sc.frames} frames, rooms "
                        f"{sc.rooms_min}-{sc.rooms_max} give: raise frames/rooms or drop it from the mix"
                    )
                self._fatal = StreamError(
                    f"sample {sid} ({it.question_type}) failed {it.failures} times, last: {reason}{hint}"
                )
                self._cond.notify_all()
            return
        self._requeue([sid])

    def _check_heartbeats(self, now: float) -> None:  # caller holds _io and _cond
        limit = HEARTBEAT_MISSES * self.config.heartbeat_s
        for w in list(self._workers.values()):
            if now - w.last_seen > limit:
                self._lose(w, f"missed {HEARTBEAT_MISSES} heartbeats (silent {now - w.last_seen:.1f} s)")
            elif w.draining and not w.assigned:
                self._send(w.identity, wire.encode("bye", reason="fleet shrinking"), quiet=True)
                self._workers.pop(w.identity, None)
                log.info("stream rank %d: worker %s retired", self.rank, w.wid)

    def _check_fleet(self, now: float) -> None:  # housekeeping thread
        if self.fleet is None or self._closing:
            return
        exits = self.fleet.poll()
        if not exits and not (self.fleet.size == 0 and self._fleet_exits):
            return
        respawn = 0
        with self._cond:
            for wid, rc, expected in exits:
                w = next((x for x in self._workers.values() if x.wid == wid), None)
                if expected:
                    if w is not None:
                        self._lose(w, "retired", quiet=True)
                    continue
                reason = describe_exit(rc)
                self._fleet_exits.append(f"{wid}: {reason}")
                if w is not None:
                    self._lose(w, reason)
                    if w.done > 0 or now - w.joined > 5.0:
                        respawn += 1  # replace a worker that had been working
                else:
                    log.warning("stream rank %d: local worker %s %s before joining", self.rank, wid, reason)
            if (
                self.fleet.size + respawn == 0
                and self._target_workers > 0
                and not self._workers
                and self._fleet_exits
                and self._fatal is None
            ):
                self._fatal = StreamError(
                    f"all local workers exited ({'; '.join(self._fleet_exits[-3:])}); see their log lines above"
                )
        if respawn:
            self.fleet.spawn(respawn)
        if exits:
            self._wake()

    # ------------------------------------------------------------------------------------------
    def _write_group(self, now: float) -> tuple[Group, list[OrderItem]]:
        sc = self._scales
        q = sc.questions_per_episode
        first = self._next_write
        items = []
        for i in range(q):
            sid = first + i * self.world
            items.append(OrderItem(sid, choose_type(self._mix, self.seed, sid)))
        self._next_write = first + q * self.world
        g = Group(first, episode_seed(self.seed, first), self._scales_version, self._mix_version, items)
        for it in items:
            self._orders[it.sample_id] = (g, it)
        return g, items

    def _pump(self) -> None:
        if self._fatal is not None:
            return
        now = time.monotonic()
        sends: list[tuple[WorkerInfo, Group, list[OrderItem]]] = []
        with self._cond:
            active = [w for w in self._workers.values() if not w.draining]
            if not active:
                return
            limit = self.credit * len(active)
            # Refill a worker only once half its credit is free (or it is idle): orders then go out
            # in bursts, which wake the worker (and the sockets' I/O threads) once per burst instead
            # of once per sample. The worker still has the other half queued meanwhile.
            batch = max(1, self.credit // 2)
            while True:
                w = min(active, key=lambda x: len(x.assigned))
                free = self.credit - len(w.assigned)
                if free <= 0 or (w.assigned and free < batch and not sends):
                    break
                if self._reissue:
                    _, _, g, items = heapq.heappop(self._reissue)
                    items = [
                        it
                        for it in items
                        if it.sample_id in self._orders
                        and it.sample_id not in self._pending
                        and it.sample_id not in self._ready
                    ]
                    if not items:
                        continue
                elif len(self._orders) < limit:
                    g, items = self._write_group(now)
                else:
                    break
                for it in items:
                    it.sent_at = now
                    w.assigned.add(it.sample_id)
                    self._pending[it.sample_id] = w.wid
                sends.append((w, g, items))
            epoch = self.epoch
        for w, g, items in sends:
            sdict, chash = self._scales_wire(g.scales_version)
            msg = wire.encode(
                "order",
                epoch=epoch,
                seed=self.seed,
                episode_seed=g.episode_seed,
                items=[
                    {"sample_id": it.sample_id, "question_type": it.question_type, "attempt0": it.attempt0}
                    for it in items
                ],
                scales=sdict,
                codec=self.config.codec,
                quality=self.config.jpeg_quality,
                mix_version=g.mix_version,
                config_hash=chash,
            )
            self._send(w.identity, msg)

    def _scales_wire(self, version: int) -> tuple[dict, str]:
        got = self._scales_cache.get(version)
        if got is None:
            sc = self._scales_table[version]
            got = self._scales_cache[version] = (sc.to_dict(), sc.config_hash())
        return got

    # ==========================================================================================
    # consumer API
    def get(self, timeout: float | None = None) -> wire.WireSample:
        """The next sample in id order (blocks). Raises TimeoutError after ``timeout`` (default
        ``config.timeout_s``) seconds without it, StreamError when the stream cannot go on.
        One consumer thread at a time."""
        timeout = self.config.timeout_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self._thread is None:
            self.start()
        with self._get_lock, self._io:
            while True:
                with self._cond:
                    if self._fatal is not None:
                        raise self._fatal
                    sid = self._next_deliver
                    ws = self._ready.pop(sid, None)
                    if ws is not None:
                        self._orders.pop(sid, None)
                        self._next_deliver = sid + self.world
                        now = time.monotonic()
                        self._consumed.append(now)
                        self._n_consumed += 1
                        self._last_delivery = now
                if ws is not None:
                    self._pump()
                    return ws
                if self._closing:
                    raise StreamError("the stream is closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    with self._cond:
                        raise TimeoutError(self._timeout_message(timeout))
                self._service(min(remaining, self._tick))

    def _timeout_message(self, timeout: float) -> str:
        nw = len(self._workers)
        if nw == 0:
            fleet = f"; local fleet: {self.fleet.size} process(es) started" if self.fleet is not None else ""
            exits = f"; worker exits: {'; '.join(self._fleet_exits[-3:])}" if self._fleet_exits else ""
            where = self.connect_endpoint or self.config.endpoint
            return (
                f"no sample for {timeout:g} s: no worker is connected to {where}"
                f"{fleet}{exits}. Start workers with `simsv-stream workers --connect "
                f"{where} -n N` or set stream.workers > 0"
            )
        return (
            f"no sample for {timeout:g} s: waiting for sample {self._next_deliver}; {nw} worker(s) connected, "
            f"{len(self._pending)} order(s) in flight, {len(self._ready)} received out of order "
            f"(raise stream.timeout_s if episodes take longer to render)"
        )

    def state(self) -> dict[str, Any]:
        """The stream's checkpoint: position, mix/scales in force, orders written but not consumed."""
        with self._cond:
            groups: dict[int, dict[str, Any]] = {}
            versions: set[int] = {self._scales_version}
            for sid in sorted(self._orders):
                g, it = self._orders[sid]
                d = groups.get(g.gid)
                if d is None:
                    d = groups[g.gid] = {
                        "episode_seed": g.episode_seed,
                        "scales_version": g.scales_version,
                        "mix_version": g.mix_version,
                        "items": [],
                    }
                    versions.add(g.scales_version)
                d["items"].append([sid, it.question_type, it.attempt0])
            return {
                "format": STATE_FORMAT,
                "rank": self.rank,
                "world_size": self.world,
                "seed": self.seed,
                "next_id": self._next_deliver,
                "next_write_id": self._next_write,
                "version": self._version,
                "mix": self._mix.to_dict(),
                "mix_version": self._mix_version,
                "scales": self._scales.to_dict(),
                "scales_version": self._scales_version,
                "scales_table": {str(v): self._scales_table[v].to_dict() for v in sorted(versions)},
                "in_flight": sorted(self._orders),
                "orders": list(groups.values()),
                "changes": [dict(c) for c in self._changes[-20:]],
            }

    def restart(self, state: Mapping[str, Any] | None = None) -> None:
        """Start over from ``state`` (a :meth:`state` dict; None: from the configured start). Orders
        of the old epoch still in flight are dropped when they come back; orders that were written but
        not consumed are re-issued unchanged, so the stream continues exactly at ``state['next_id']``.
        A state of another rank/seed/format is refused (ConfigError) before anything changes."""
        if state is not None:
            self._check_state(state)
        with self._cond:
            self.epoch += 1
            self._ready.clear()
            self._pending.clear()
            self._reissue.clear()
            self._orders.clear()
            for w in self._workers.values():
                w.assigned.clear()
            self._fatal = None
            if state is None:
                self._next_deliver = self._next_write = self.rank
            else:
                self._restore(state)
        self._wake()

    def _check_state(self, st: Mapping[str, Any]) -> None:
        if not isinstance(st, Mapping) or st.get("format") != STATE_FORMAT:
            got = st.get("format") if isinstance(st, Mapping) else type(st).__name__
            raise ConfigError("resume", f"stream state format {got!r} not supported (expected {STATE_FORMAT})")
        for key, mine in (("rank", self.rank), ("world_size", self.world), ("seed", self.seed)):
            if st.get(key) != mine:
                raise ConfigError("resume", f"checkpoint is for {key} {st.get(key)!r}, this stream has {key} {mine!r}")
        try:
            nid = int(st["next_id"])
            for k in (
                "next_write_id",
                "version",
                "mix",
                "mix_version",
                "scales",
                "scales_version",
                "scales_table",
                "orders",
            ):
                st[k]
            load_mix(st["mix"])
            for v in st["scales_table"].values():
                Scales.from_dict(v)
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError("resume", f"stream state is incomplete or damaged ({type(e).__name__}: {e})") from None
        if nid % self.world != self.rank % self.world:
            raise ConfigError("resume", f"next_id {nid} is not an id of rank {self.rank}/{self.world}")

    def _restore(self, st: Mapping[str, Any]) -> None:
        nid = int(st["next_id"])
        self._next_deliver = nid
        self._next_write = int(st["next_write_id"])
        self._version = int(st["version"])
        self._mix = load_mix(st["mix"])
        self._mix_version = int(st["mix_version"])
        self._scales_table = {int(k): Scales.from_dict(v) for k, v in st["scales_table"].items()}
        self._scales_cache = {}
        self._scales = Scales.from_dict(st["scales"])
        self._scales_version = int(st["scales_version"])
        self._scales_table[self._scales_version] = self._scales
        self._changes = [dict(c) for c in st.get("changes", [])]
        for gd in st["orders"]:
            items = [OrderItem(int(s), str(t), int(a)) for s, t, a in gd["items"]]
            g = Group(
                items[0].sample_id, int(gd["episode_seed"]), int(gd["scales_version"]), int(gd["mix_version"]), items
            )
            for it in items:
                self._orders[it.sample_id] = (g, it)
            heapq.heappush(self._reissue, (items[0].sample_id, next(self._reissue_seq), g, items))
        log.info(
            "stream rank %d/%d: resumed at sample %d (%d order(s) re-issued, mix v%d)",
            self.rank,
            self.world,
            nid,
            len(self._orders),
            self._mix_version,
        )

    # ==========================================================================================
    # control API (thread-safe; the same operations are served over the control socket)
    def _record(self, what: str, value: Any) -> dict[str, Any]:
        self._version += 1
        change = {
            "version": self._version,
            "what": what,
            "value": value,
            "first_id": self._next_write,
            "rank": self.rank,
            "time": time.time(),
        }
        self._changes.append(change)
        if self.log_changes:
            log.warning(
                "stream rank %d/%d: %s v%d = %s applies from sample %d",
                self.rank,
                self.world,
                what,
                self._version,
                json.dumps(value, sort_keys=True),
                self._next_write,
            )
        return change

    def set_mix(self, spec: Any) -> dict[str, Any]:
        """Switch the question-type mix; every order written from now on follows it. Returns the
        change record, whose ``first_id`` is the first sample id of this rank the mix applies to."""
        mix = load_mix(spec)
        with self._cond:
            self._mix = mix
            change = self._record("mix", mix_weights(mix))
            self._mix_version = change["version"]
        return change

    def set_scales(self, changes: Mapping[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """Change scales (``frames=32, size='384x384', rooms='2-4', questions_per_episode=4``) and/or the
        stream's ``workers`` (local fleet size) and ``credit``. Validated before anything changes."""
        ch = dict(changes or {}, **kw)
        workers = ch.pop("workers", None)
        credit = ch.pop("credit", None)
        new_scales = self._scales.updated(ch) if ch else None
        if credit is not None:
            credit = int(credit)
            if credit < 1:
                raise ConfigError("credit", f"must be a positive integer, got {credit}")
        if workers is not None:
            workers = int(workers)
            if workers < 0:
                raise ConfigError("workers", f"must be >= 0, got {workers}")
        out: dict[str, Any] = {}
        with self._cond:
            if new_scales is not None:
                self._scales = new_scales
                rec = self._record("scales", {k: v for k, v in new_scales.to_dict().items()})
                self._scales_version = rec["version"]
                self._scales_table[rec["version"]] = new_scales
                out = rec
            if credit is not None:
                self.credit = credit
                out = self._record("credit", credit)
        if workers is not None:
            out = self.set_workers(workers)
        self._wake()
        return out

    def set_workers(self, n: int) -> dict[str, Any]:
        """Grow or shrink the local fleet to ``n`` processes (shrinking drains: no new orders, bye when idle)."""

        def apply() -> dict[str, Any]:
            if self.fleet is None:
                if n == 0:
                    return {}
                self.fleet = self._new_fleet()
            self._target_workers = n
            have = self.fleet.size
            if n > have:
                self.fleet.spawn(n - have)
            elif n < have:
                running = list(reversed(self.fleet.staying()))
                with self._cond:
                    for wid in running[: have - n]:
                        self.fleet.retire(wid)
                        w = next((x for x in self._workers.values() if x.wid == wid), None)
                        if w is not None:
                            w.draining = True  # no new orders; bye once its orders are back
                        else:
                            self.fleet.terminate(wid)
            with self._cond:
                return self._record("workers", n)

        return self._call(apply)

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        with self._cond:
            workers = [
                {
                    "id": w.wid,
                    "pid": w.pid,
                    "host": w.host,
                    "outstanding": len(w.assigned),
                    "done": w.done,
                    "rate_per_s": round(_rate(w.completions, now), 3),
                    "render_s_mean": round(w.render_s / w.renders, 4) if w.renders else None,
                    "last_seen_s": round(now - w.last_seen, 3),
                    "draining": w.draining,
                }
                for w in self._workers.values()
            ]
            return {
                "endpoint": self.endpoint,
                "control_endpoint": self.control_endpoint,
                "rank": self.rank,
                "world_size": self.world,
                "epoch": self.epoch,
                "next_id": self._next_deliver,
                "next_write_id": self._next_write,
                "in_flight": len(self._pending),
                "waiting_in_order": len(self._ready),
                "written_not_consumed": len(self._orders),
                "credit": self.credit,
                "produced": self._n_produced,
                "consumed": self._n_consumed,
                "produced_per_s": round(_rate(self._produced, now), 3),
                "consumed_per_s": round(_rate(self._consumed, now), 3),
                "rejected": self._n_rejected,
                "duplicates": self._n_duplicates,
                "stale": self._n_stale,
                "foreign": self._n_foreign,
                "reissued": self._n_reissued,
                "mix": mix_weights(self._mix),
                "mix_version": self._mix_version,
                "scales": self._scales.to_dict(),
                "version": self._version,
                "fleet_target": self._target_workers,
                "fleet_running": self.fleet.size if self.fleet else 0,
                "workers": workers,
                "changes": [dict(c) for c in self._changes[-10:]],
                "uptime_s": round(now - self._started_at, 3),
            }

    # ------------------------------------------------------------------------------------------
    def _on_control(self, ctl: zmq.Socket) -> None:
        from .control import handle_request

        try:
            raw = ctl.recv(zmq.NOBLOCK)
        except zmq.Again:
            return
        reply = handle_request(self, raw)
        ctl.send(reply)
