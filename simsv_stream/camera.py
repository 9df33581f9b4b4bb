"""What a camera is and what it records: a pose per frame (trajectory) and the rendered buffers (render).

Below trajectory and render in the stage order, so both import these without reaching up to the
episode, which is assembled only after annotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .scene.model import Vec3

# Instance-id convention in rendered id buffers: objects are >= 1; 0 = nothing (sky / outside);
# negative ids are structure, never named in questions.
ID_NONE = 0
ID_FLOOR = -1
ID_WALL = -2
ID_CEILING = -3
ID_DOOR_FRAME = -4


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
