"""`simsv-stream stream --config FILE --samples N --out FILE.jsonl`

Runs a dispatcher and its local fleet from the config's `stream:` section, takes N samples in id
order and writes one JSON line per sample: id, question type, worker, latency (order written ->
delivered, seconds), render seconds, mix version, episode seed, frame shape. The control endpoint is
printed at start, so `simsv-stream mix set --endpoint E ...` can change the stream while it runs.

`simsv-stream keys --out DIR` makes CurveZMQ keys for a dispatcher bound beyond loopback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "stream",
        help="run a stream and write one JSON line per sample",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", default=None, help="YAML with a `stream:` section (and `scales:`/`mix:`)")
    p.add_argument("--samples", type=int, required=True, help="samples to take")
    p.add_argument("--out", default="-", help="JSONL output (default stdout)")
    p.add_argument("--workers", type=int, default=None, help="override stream.workers")
    p.add_argument("--backend", default=None, help="override stream.backend")
    p.add_argument("--mix", default=None, help="override the mix")
    p.add_argument("--endpoint", default=None, help="override stream.endpoint")
    p.add_argument("--control-endpoint", default=None, help="override stream.control_endpoint")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--scale", action="append", default=[], metavar="KEY=VALUE", help="override a scale (repeatable)")
    p.set_defaults(func=run)

    k = subparsers.add_parser(
        "keys",
        help="make CurveZMQ keys for a non-loopback stream",
        description="Writes DIR/server.key(_secret) and DIR/clients/NAME.key(_secret). "
        "Give the whole folder to the trainer (stream.curve_keys: DIR); give "
        "workers server.key and their own clients/NAME.key*.",
    )
    k.add_argument("--out", required=True, metavar="DIR")
    k.add_argument("--clients", nargs="+", default=["worker"], help="worker key names (default: worker)")
    k.set_defaults(func=run_keys)


def load_config(args: argparse.Namespace):
    from ..stream.config import StreamConfig
    from ..stream.control import parse_assignments

    cfg = StreamConfig.from_yaml(args.config) if args.config else StreamConfig()
    over = {}
    for name in ("workers", "backend", "mix", "endpoint", "control_endpoint", "seed"):
        v = getattr(args, name, None)
        if v is not None:
            over[name] = v
    if args.scale:
        over["scales"] = cfg.scales.updated(parse_assignments(args.scale))
    return cfg.updated(**over) if over else cfg


def run(args: argparse.Namespace) -> int:
    import logging

    from ..errors import ConfigError
    from ..stream.dispatcher import Dispatcher

    if args.samples < 1:
        raise ConfigError("samples", f"must be >= 1, got {args.samples}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    cfg = load_config(args)
    out = sys.stdout if args.out == "-" else open(args.out, "w")
    t0 = time.monotonic()
    try:
        with Dispatcher(cfg) as d:
            print(f"stream: data {d.endpoint}, control {d.control_endpoint}", file=sys.stderr, flush=True)
            for _ in range(args.samples):
                ws = d.get()
                now = time.monotonic()
                prov = ws.header["provenance"]
                out.write(
                    json.dumps(
                        {
                            "id": ws.sample_id,
                            "type": ws.question_type,
                            "worker": prov.get("worker_id", ""),
                            "latency_s": round(now - ws.ordered_at, 6),
                            "render_s": round(prov.get("render_s", 0.0), 6),
                            "mix_version": prov.get("mix_version", 0),
                            "episode_seed": prov["episode_seed"],
                            "shape": ws.shape,
                            "t": round(now - t0, 6),
                        }
                    )
                    + "\n"
                )
                out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    dt = time.monotonic() - t0
    print(f"stream: {args.samples} samples in {dt:.2f} s ({args.samples / dt:.1f}/s)", file=sys.stderr)
    return 0


def run_keys(args: argparse.Namespace) -> int:
    from ..stream.security import generate_keys

    folder = generate_keys(args.out, tuple(args.clients))
    print(f"keys in {folder}: server.key(_secret), clients/{{{','.join(args.clients)}}}.key(_secret)")
    return 0
