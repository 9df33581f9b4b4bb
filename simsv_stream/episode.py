"""Episode: what one simulator run produces and what question generators consume.

scene -> trajectory (CameraPose per frame) -> render (Frames) -> annotate (FrameAnnotation per frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .annotate import FrameAnnotation
from .camera import CameraPose, Frames
from .config import Scales
from .scene.model import House

SALIENT_FRACTION = 0.05  # SIMS-V: a mask must cover strictly more than 5% of at least one frame


@dataclass
class Episode:
    seed: int
    scales: Scales
    house: House
    poses: list[CameraPose]
    frames: Frames
    annotations: list[FrameAnnotation]
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds (house, walkthrough, render, annotate)

    @property
    def salient_ids(self) -> set[int]:
        """Objects covering strictly more than 5% of at least one frame (SIMS-V's rule)."""
        out: set[int] = set()
        for a in self.annotations:
            out.update(i for i, f in a.visible.items() if f > SALIENT_FRACTION and i > 0)
        return out

    def first_sighting(self, obj_id: int, min_fraction: float = 0.0) -> Optional[int]:
        """First frame index where the object covers more than `min_fraction` of the image."""
        for a in self.annotations:
            if a.visible.get(obj_id, 0.0) > min_fraction:
                return a.index
        return None

    @property
    def rooms_visited(self) -> list[str]:
        """Rooms the camera stands in, in order of first visit."""
        seen: list[str] = []
        for a in self.annotations:
            if a.room is not None and a.room not in seen:
                seen.append(a.room)
        return seen
