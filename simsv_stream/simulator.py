"""The embedded simulator: house -> walkthrough -> render -> annotate, as one `Episode`.

`simulate(seed, scales)` is a pure function of its arguments (frames are byte-identical for the
same seed and scales). When no renderer is passed, one `PybulletRenderer` per process is created
lazily and reused (its bodies are rebuilt only when the house changes).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Optional

from .annotate import annotate
from .config import Scales
from .episode import Episode
from .scene.model import House

if TYPE_CHECKING:  # pragma: no cover
    from .render.pybullet_renderer import PybulletRenderer

_RENDERER: "Optional[PybulletRenderer]" = None
_RENDERER_PID: Optional[int] = None

STAGES = ("house", "walkthrough", "render", "annotate")


def default_renderer() -> "PybulletRenderer":
    """This process's shared renderer (a forked child gets its own, never the parent's)."""
    global _RENDERER, _RENDERER_PID
    if _RENDERER is None or _RENDERER_PID != os.getpid():
        from .render.pybullet_renderer import PybulletRenderer

        _RENDERER = PybulletRenderer()
        _RENDERER_PID = os.getpid()
    return _RENDERER


def simulate(
    seed: int,
    scales: Scales,
    renderer: "Optional[PybulletRenderer]" = None,
    house: Optional[House] = None,
    walk: Optional[House] = None,
) -> Episode:
    """Run the whole embedded pipeline for one seed. `Episode.timings` holds seconds per stage
    (house, walkthrough, render, annotate); a given `house` costs 0 s of "house". `walk`: the part
    of the house the walkthrough visits (default: all of it; see scene.procthor.walk_rooms); render
    and annotate always use the whole house."""
    from .trajectory import walkthrough

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if house is None:
        from .scene.procedural import generate_house

        house = generate_house(seed, scales)
    t1 = time.perf_counter()
    poses = walkthrough(walk if walk is not None else house, scales, seed)
    t2 = time.perf_counter()
    r = renderer if renderer is not None else default_renderer()
    frames = r.render(house, poses, scales.width, scales.height)
    t3 = time.perf_counter()
    annotations = annotate(house, poses, frames)
    t4 = time.perf_counter()
    timings.update(house=t1 - t0, walkthrough=t2 - t1, render=t3 - t2, annotate=t4 - t3)
    return Episode(
        seed=seed,
        scales=scales,
        house=house,
        poses=list(poses),
        frames=frames,
        annotations=annotations,
        timings=timings,
    )


__all__ = ["simulate", "default_renderer", "STAGES"]
