"""`simsv-stream bench <what>`: benchmarks (render, balance, transport, stream). Each lives in a
module listed in BENCH_MODULES that exposes `register_bench(bench_subparsers)` (adds a sub-subparser
and sets `func`); the same module's `main` backs bench/<what>.py."""

from __future__ import annotations

import argparse
import importlib

# modules exposing register_bench(bench_subparsers), in the order `bench --help` lists them; they keep
# heavy imports inside run()
BENCH_MODULES: list[str] = [
    "simsv_stream.benchmarks.render",
    "simsv_stream.benchmarks.balance",
    "simsv_stream.benchmarks.step",
    "simsv_stream.benchmarks.transport",
    "simsv_stream.benchmarks.stream",
]


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmarks: render, balance, step, transport, stream", description=__doc__)
    bsub = p.add_subparsers(dest="bench_command", metavar="BENCH")
    for path in BENCH_MODULES:
        importlib.import_module(path).register_bench(bsub)

    def _no_sub(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_no_sub)
