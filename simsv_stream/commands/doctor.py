"""`simsv-stream doctor [--houses PATH] [--gpu-device N] [--require BACKEND] [--fetch-thor-build]`

Lists each simulator backend and whether it can run on this machine, and why not:

* procedural       procedural houses, pybullet CPU renderer (needs pybullet only)
* procthor-layout  ProcTHOR house JSONs through the same CPU renderer (needs pybullet; `--houses`
                   checks that the given houses load)
* thor             real AI2-THOR renders (needs ai2thor, a Vulkan loader, a GPU, and the Unity build
                   in ~/.ai2thor or network to fetch it); every check is listed

Exit status 0, or 1 when `--require BACKEND` names a backend that cannot run here.
`--fetch-thor-build` downloads the AI2-THOR CloudRendering build into ~/.ai2thor/releases (on a
machine with network; copy that folder to GPU machines without network).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Optional

from . import one_line_errors

BACKENDS = ("procedural", "procthor-layout", "thor")


@dataclass
class BackendStatus:
    name: str
    ok: bool
    detail: str
    checks: list = field(default_factory=list)  # thor: [scene.thor.Check]


def _pybullet() -> tuple[bool, str]:
    try:
        from importlib.metadata import version

        from ..render.pybullet_renderer import import_pybullet

        import_pybullet()

        return True, f"pybullet {version('pybullet')} CPU renderer (TinyRenderer)"
    except Exception as e:
        return False, f"cannot import pybullet ({type(e).__name__}: {e}): pip install pybullet"


def _houses(houses: Optional[str]) -> tuple[bool, str]:
    if not houses:
        return True, "set backend_options.houses (or --houses here to check them)"
    try:
        from ..scene.procthor import HouseSource, house_from_procthor

        docs = HouseSource(houses)
        h = house_from_procthor(docs[0])
    except Exception as e:
        return False, f"houses {houses}: {e}"
    return True, f"{len(docs)} house(s) in {houses}; the first has {len(h.rooms)} rooms, {len(h.objects)} objects"


def backend_status(houses: Optional[str] = None, gpu_device: Optional[int] = None) -> list[BackendStatus]:
    """Whether each backend can run here, with the reason when it cannot (no side effects beyond
    a short network probe for the thor build)."""
    out = []
    ok, why = _pybullet()
    out.append(BackendStatus("procedural", ok, why))
    hok, hwhy = _houses(houses)
    out.append(
        BackendStatus("procthor-layout", ok and hok, why if not ok else f"ProcTHOR layouts, CPU renderer; {hwhy}")
    )
    from ..scene.thor import thor_checks

    checks = thor_checks(gpu_device)
    bad = next((c for c in checks if not c.ok), None)
    if bad is not None:
        out.append(BackendStatus("thor", False, f"[{bad.name}] {bad.detail}", checks))
    elif not hok:
        out.append(BackendStatus("thor", False, hwhy, checks))
    else:
        out.append(
            BackendStatus("thor", True, "AI2-THOR CloudRendering on the GPU" + (f"; {hwhy}" if houses else ""), checks)
        )
    return out


def run(args: argparse.Namespace) -> int:
    if args.fetch_thor_build:
        from ..scene.thor import fetch_build

        print(f"fetched the AI2-THOR build into {fetch_build()}")
    gpu = None
    if args.gpu_device is not None:
        from .preview import _int

        gpu = _int(args.gpu_device, "gpu-device", 0, 1023)
    rows = backend_status(args.houses, gpu)
    width = max(len(r.name) for r in rows)
    print(f"{'backend'.ljust(width)}  runs  why / what")
    for r in rows:
        print(f"{r.name.ljust(width)}  {'yes ' if r.ok else 'no  '}  {r.detail}")
        for c in r.checks:
            print(f"{''.ljust(width)}    {'ok  ' if c.ok else 'FAIL'} {c.name:<8} {c.detail}")
    if args.require:
        want = [r for r in rows if r.name == args.require]
        if not want:
            from ..errors import ConfigError

            raise ConfigError("require", f"unknown backend {args.require!r}; known: {', '.join(BACKENDS)}")
        return 0 if want[0].ok else 1
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="list the simulator backends and whether they can run here",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--houses", default=None, help="ProcTHOR houses to check (.json, folder, .jsonl[.gz])")
    p.add_argument("--gpu-device", default=None, help="GPU index the thor backend would use")
    p.add_argument("--require", default=None, help=f"exit 1 unless this backend can run ({', '.join(BACKENDS)})")
    p.add_argument(
        "--fetch-thor-build",
        action="store_true",
        help="download the AI2-THOR Unity build into ~/.ai2thor/releases first (needs network)",
    )
    p.set_defaults(func=run)
    one_line_errors(p)
