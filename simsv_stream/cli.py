"""`simsv-stream` console script. Each subcommand lives in its own module exposing
`register(subparsers)`; heavy imports (torch, pybullet, zmq) happen inside the handlers so
`--help` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import SimsvError

# module paths, in the order `--help` lists them; each module's register() adds its subcommand(s)
COMMAND_MODULES = [
    "simsv_stream.commands.preview",
    "simsv_stream.commands.bench",
    "simsv_stream.commands.eval",
    "simsv_stream.commands.make_tiny_model",
    "simsv_stream.commands.train",
    "simsv_stream.commands.stream",
    "simsv_stream.commands.export",
    "simsv_stream.commands.workers",
    "simsv_stream.commands.control",
    "simsv_stream.commands.doctor",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simsv-stream",
        description="Streaming SIMS-V spatial QA from simulator workers to a video-VLM trainer.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for path in COMMAND_MODULES:
        importlib.import_module(path).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SimsvError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
