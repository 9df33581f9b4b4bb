"""`simsv-stream workers --connect ENDPOINT -n N [--backend procedural] [--curve-keys DIR]`

Runs N simulator worker processes connected to a dispatcher (a trainer's stream, possibly on
another host: `tcp://trainer-host:5555`). Each worker says hello, fills the orders it receives,
heartbeats, and reconnects with backoff if the dispatcher goes away. A worker that crashes is
replaced (one line logged). Ctrl-C / SIGTERM stops them all; nothing is left behind.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "workers",
        help="run N simulator workers for a dispatcher",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--connect", required=True, metavar="ENDPOINT", help="dispatcher address, e.g. tcp://127.0.0.1:5555")
    p.add_argument("-n", "--num", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--backend",
        default="procedural",
        help="procedural (default), procthor-layout, thor, noise (synthetic frames, for tests), or module:function",
    )
    p.add_argument("--backend-options", default="{}", help="JSON object passed to the backend")
    p.add_argument("--heartbeat", type=float, default=1.0, help="seconds between heartbeats (default 1)")
    p.add_argument("--curve-keys", default=None, metavar="DIR", help="key folder from `simsv-stream keys`")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..stream.fleet import Fleet, describe_exit

    if args.num < 1:
        raise ConfigError("n", f"must be >= 1, got {args.num}")
    try:
        options = json.loads(args.backend_options)
    except json.JSONDecodeError as e:
        raise ConfigError("backend-options", f"not JSON: {e}") from None
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    log = logging.getLogger("simsv_stream.workers")
    fleet = Fleet(
        args.connect,
        backend=args.backend,
        backend_options=options,
        heartbeat_s=args.heartbeat,
        curve_keys=args.curve_keys,
        log_level=args.log_level,
    )
    stopping = []

    def _stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    fleet.spawn(args.num)
    print(
        f"workers: {args.num} x {args.backend} -> {args.connect} (pids {', '.join(map(str, fleet.pids().values()))})",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    failures = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for wid, rc, expected in fleet.poll():
                if expected:
                    continue
                if rc == 0:
                    log.info("worker %s left (dispatcher said bye)", wid)
                    continue
                failures += 1
                log.warning("worker %s %s; replacing it", wid, describe_exit(rc))
                if failures > 3 * args.num and time.monotonic() - started < 30:
                    log.error("workers keep failing at start; giving up")
                    return 1
                fleet.spawn(1)
            if not fleet.procs:
                print("workers: all workers left", file=sys.stderr)
                return 0
    finally:
        fleet.stop()
    return 0
