"""Live control of a running stream (its control endpoint is printed by `simsv-stream stream`):

    simsv-stream mix set --endpoint tcp://127.0.0.1:5556 3q
    simsv-stream mix set --endpoint E abs_distance=0.5 appearance_order=0.5
    simsv-stream scale set --endpoint E frames=32 size=384x384 workers=8
    simsv-stream status --endpoint E [--json]

Every change is exact: orders written after it follow it; the reply names the first sample id it
applies to (also logged by the stream).
"""

from __future__ import annotations

import argparse
import json

DEFAULT_CONTROL = "tcp://127.0.0.1:5556"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint", default=DEFAULT_CONTROL, help=f"control endpoint (default {DEFAULT_CONTROL})")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer")
    p.add_argument("--curve-keys", default=None, metavar="DIR", help="key folder, for a non-loopback control endpoint")


def register(subparsers) -> None:
    m = subparsers.add_parser(
        "mix",
        help="change a running stream's question-type mix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    msub = m.add_subparsers(dest="mix_command", metavar="ACTION")
    ms = msub.add_parser("set", help="set the mix: a preset (3q, vsi, all), a type, or TYPE=W ...")
    _common(ms)
    ms.add_argument("mix", nargs="+", help="3q | appearance_order | abs_distance=0.5 appearance_order=0.5")
    ms.set_defaults(func=run_mix_set)
    m.set_defaults(func=lambda a: (m.print_help(), 2)[1])

    s = subparsers.add_parser(
        "scale",
        help="change a running stream's scales or worker count",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ssub = s.add_subparsers(dest="scale_command", metavar="ACTION")
    ss = ssub.add_parser(
        "set", help="KEY=VALUE ...: frames, size=WxH, rooms=A-B, fps, questions_per_episode, workers, credit"
    )
    _common(ss)
    ss.add_argument("changes", nargs="+", metavar="KEY=VALUE")
    ss.set_defaults(func=run_scale_set)
    s.set_defaults(func=lambda a: (s.print_help(), 2)[1])

    st = subparsers.add_parser(
        "status",
        help="a running stream's rates, workers, mix and orders in flight",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(st)
    st.add_argument("--json", action="store_true", help="print the raw status object")
    st.set_defaults(func=run_status)


def _client(args):
    from ..stream.control import StreamControl

    return StreamControl(args.endpoint, timeout_s=args.timeout, curve_keys=args.curve_keys)


def _print_change(ch: dict) -> None:
    print(
        f"{ch.get('what', 'change')} v{ch.get('version')}: {json.dumps(ch.get('value'), sort_keys=True)} "
        f"applies from sample {ch.get('first_id')} (rank {ch.get('rank')})"
    )


def run_mix_set(args: argparse.Namespace) -> int:
    spec = " ".join(args.mix)
    _print_change(_client(args).set_mix(spec))
    return 0


def run_scale_set(args: argparse.Namespace) -> int:
    from ..stream.control import parse_assignments

    _print_change(_client(args).set_scales(parse_assignments(args.changes)))
    return 0


def run_status(args: argparse.Namespace) -> int:
    from ..stream.control import format_status

    st = _client(args).status()
    print(json.dumps(st, indent=2, sort_keys=True) if args.json else format_status(st))
    return 0
