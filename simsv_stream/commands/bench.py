"""`simsv-stream bench <what>`: benchmarks. `bench render` is here; later benchmarks (transport,
stream, balance) add themselves by listing a module in BENCH_MODULES that exposes
`register_bench(bench_subparsers)` (add a sub-subparser and set `func`)."""
from __future__ import annotations

import argparse
import importlib

# modules exposing register_bench(bench_subparsers), in the order `bench --help` lists them
BENCH_MODULES: list[str] = ["simsv_stream.benchmarks.balance", "simsv_stream.benchmarks.transport",
                            "simsv_stream.benchmarks.stream"]


def _register_render(bsub) -> None:
    from ..benchmarks import render as render_bench  # light: heavy imports happen in run()

    p = bsub.add_parser("render", help="frames/s per core of house -> walkthrough -> render -> annotate",
                        description=render_bench.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    render_bench.add_arguments(p)
    p.set_defaults(func=render_bench.run)
    from .preview import one_line_errors

    one_line_errors(p)


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmarks: bench render (more to come)",
                              description=__doc__)
    bsub = p.add_subparsers(dest="bench_command", metavar="BENCH")
    _register_render(bsub)
    for path in BENCH_MODULES:
        importlib.import_module(path).register_bench(bsub)

    def _no_sub(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_no_sub)
