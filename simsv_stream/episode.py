"""Episode: what one simulator run produces and what question generators consume.

scene -> trajectory (CameraPose per frame) -> render (Frames) -> annotate (FrameAnnotation per frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .config import Scales
from .scene.model import House, Vec3

# Instance-id convention in rendered id buffers: objects are >= 1; 0 = nothing (sky / outside);
# negative ids are structure, never named in questions.
ID_NONE = 0
ID_FLOOR = -1
ID_WALL = -2
ID_CEILING = -3
ID_DOOR_FRAME = -4

SALIENT_FRACTION = 0.05  # SIMS-V: a mask must cover strictly more than 5% of at least one frame


@dataclass(frozen=True)
class CameraPose:
    position: Vec3  # eye position, metres
    yaw_deg: float  # 0 = looking along +z, 90 = along +x (clockwise seen from above)
    pitch_deg: float  # positive = looking up
    fov_deg: float  # horizontal field of view
    time_s: float = 0.0  # time along the walkthrough

    @property
    def forward(self) -> Vec3:
        y, p = np.radians(self.yaw_deg), np.radians(self.pitch_deg)
        return (float(np.sin(y) * np.cos(p)), float(np.sin(p)), float(np.cos(y) * np.cos(p)))


@dataclass
class Frames:
    """Rendered buffers for a whole video. Depth and ids are for annotation; only rgb is streamed."""

    rgb: np.ndarray  # (T, H, W, 3) uint8
    depth: Optional[np.ndarray] = None  # (T, H, W) float32 metres along the view axis
    instance: Optional[np.ndarray] = None  # (T, H, W) int32 instance ids (see ID_* above)


@dataclass(frozen=True)
class FrameAnnotation:
    index: int
    pose: CameraPose
    room: Optional[str]  # room the camera stands in
    visible: dict[int, float]  # object id -> fraction of the image it covers (> 0 only)


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
