"""Typed scene model of a house. y is up, metres everywhere; floor polygons live in the (x, z) plane.

Both backends (procedural, thor) produce these types, so everything downstream is backend-agnostic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

Vec2 = tuple[float, float]  # (x, z) on the floor plane
Vec3 = tuple[float, float, float]  # (x, y, z)


def polygon_area(poly: list[Vec2] | tuple[Vec2, ...]) -> float:
    """Shoelace formula, absolute value (works for either winding)."""
    s = 0.0
    n = len(poly)
    for i in range(n):
        x0, z0 = poly[i]
        x1, z1 = poly[(i + 1) % n]
        s += x0 * z1 - x1 * z0
    return abs(s) / 2.0


def point_in_polygon(p: Vec2, poly: list[Vec2] | tuple[Vec2, ...]) -> bool:
    """Even-odd rule; points exactly on an edge may go either way."""
    x, z = p
    inside = False
    n = len(poly)
    for i in range(n):
        x0, z0 = poly[i]
        x1, z1 = poly[(i + 1) % n]
        if (z0 > z) != (z1 > z):
            xc = x0 + (z - z0) * (x1 - x0) / (z1 - z0)
            if x < xc:
                inside = not inside
    return inside


def points_in_polygon(x: np.ndarray, z: np.ndarray, poly) -> np.ndarray:
    """`point_in_polygon` for many points at once: a bool array shaped like `x` (x, z: the points'
    coordinates; poly: (P, 2) vertices)."""
    inside = np.zeros(x.shape, dtype=bool)
    n = len(poly)
    for i in range(n):
        x0, z0 = poly[i]
        x1, z1 = poly[(i + 1) % n]
        if z0 == z1:
            continue
        cross = (z0 > z) != (z1 > z)
        xc = x0 + (z - z0) * (x1 - x0) / (z1 - z0)
        inside ^= cross & (x < xc)
    return inside


def dist_to_polygon(p: Vec2, poly: list[Vec2] | tuple[Vec2, ...]) -> float:
    """Distance from p to the polygon's outline (its nearest edge), inside or outside."""
    best = math.inf
    n = len(poly)
    for i in range(n):
        (x0, z0), (x1, z1) = poly[i], poly[(i + 1) % n]
        dx, dz = x1 - x0, z1 - z0
        L2 = dx * dx + dz * dz
        u = 0.0 if L2 == 0 else max(0.0, min(1.0, ((p[0] - x0) * dx + (p[1] - z0) * dz) / L2))
        best = min(best, math.hypot(p[0] - (x0 + u * dx), p[1] - (z0 + u * dz)))
    return best


@dataclass(frozen=True)
class Room:
    id: str
    type: str  # "bedroom", "kitchen", "living_room", "bathroom", ...
    polygon: tuple[Vec2, ...]  # floor polygon (x, z), metres
    floor_y: float = 0.0

    @property
    def area_m2(self) -> float:
        return polygon_area(self.polygon)

    def contains(self, p: Vec2) -> bool:
        return point_in_polygon(p, self.polygon)


@dataclass(frozen=True)
class Door:
    """An opening in a wall. `center` is on the wall line; `rooms` are the two rooms it joins
    (one entry for an exterior door)."""

    id: str
    wall: str
    center: Vec2
    width: float
    height: float
    rooms: tuple[str, ...]


@dataclass(frozen=True)
class Wall:
    """A straight wall segment from `start` to `end` on the floor plane, `height` metres tall, with
    door openings (ids into House.doors) cut out of it."""

    id: str
    start: Vec2
    end: Vec2
    height: float
    thickness: float
    rooms: tuple[str, ...]
    doors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SceneObject:
    """One object instance. The 3D box is axis-aligned (`center`, `size` = extents along x, y, z)
    and already accounts for `yaw_deg`: it is the box that questions measure with."""

    id: int  # instance id, >= 1 (0 and negatives are reserved, see render)
    category: str
    center: Vec3
    size: Vec3
    yaw_deg: float
    room: str
    parent: Optional[int] = None  # id of the object it stands on (small objects on surfaces)
    asset: str = ""  # backend asset name (ProcTHOR assetId, catalog part set, ...)

    @property
    def min(self) -> Vec3:
        return tuple(c - s / 2 for c, s in zip(self.center, self.size))  # type: ignore[return-value]

    @property
    def max(self) -> Vec3:
        return tuple(c + s / 2 for c, s in zip(self.center, self.size))  # type: ignore[return-value]


@dataclass(frozen=True)
class House:
    seed: int
    rooms: tuple[Room, ...]
    walls: tuple[Wall, ...]
    doors: tuple[Door, ...]
    objects: tuple[SceneObject, ...]
    wall_height: float = 2.6
    source: str = "procedural"  # "procedural", "procthor:<file>", "thor"
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def room(self, room_id: str) -> Room:
        for r in self.rooms:
            if r.id == room_id:
                return r
        raise KeyError(room_id)

    def object(self, obj_id: int) -> SceneObject:
        for o in self.objects:
            if o.id == obj_id:
                return o
        raise KeyError(obj_id)

    def room_at(self, p: Vec2) -> Optional[str]:
        for r in self.rooms:
            if r.contains(p):
                return r.id
        return None
