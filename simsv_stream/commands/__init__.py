"""The `simsv-stream` subcommands (one module each, see cli.COMMAND_MODULES) and the argparse glue
shared by them and the benchmark modules, whose `add_arguments(parser)` + `run(args)` serve both a
subcommand and a standalone script (bench/*.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, Sequence


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make argparse's own errors on this (sub)parser one line + exit 2, like ConfigError
    (instead of usage text + error), e.g. `--size -3x4` (argparse takes -3x4 for an option)."""

    def error(message: str):
        print(f"error: {message} (see {parser.prog} --help)", file=sys.stderr)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]
    return parser


def add_command(
    subparsers,
    name: str,
    help: str,
    doc: Optional[str],
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """Subcommand `name`: `doc` as its description (kept as written), `add_arguments` fills it,
    `run(args)` handles it."""
    p = subparsers.add_parser(name, help=help, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def script_main(
    argv: Optional[Sequence[str]],
    doc: Optional[str],
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    prog: Optional[str] = None,
) -> int:
    """A standalone script's main over the same `add_arguments` + `run` as a subcommand; a SimsvError
    is one line on stderr and exit 2, as in the console script."""
    from ..errors import SimsvError

    p = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except SimsvError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
