"""Where the walkthrough may go, as a house generator must know it: each room's hub (a small circle in
free floor space the walker circles), the approach points in front of doors, and the capsules that
contain every route `trajectory.walkthrough` can take. House generators keep furniture out of those
capsules; the walkthrough follows them. Here, below both, so neither reaches into the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .model import Door, House, Room, Vec2, Wall

DOOR_APPROACH = 0.6  # m, approach points stand this far in front of a door, on its axis
FILLET_MAX = 0.35  # m, tangent length of a rounded corner
# A fillet of tangent length t and turn theta strays t * tan(theta/4) * cos(theta/2) <= 0.3 t
# from the corner's two lines.
FILLET_DEVIATION = 0.3 * FILLET_MAX

Capsule = tuple[Vec2, Vec2, float]  # segment (a, b) and radius; a == b is a disc


@dataclass(frozen=True)
class Hub:
    center: Vec2
    radius: float


def circle_point(hub: Hub, phi: float) -> np.ndarray:
    return np.asarray(hub.center) + hub.radius * np.array([math.cos(phi), math.sin(phi)])


def default_hub(room: Room) -> Hub:
    """Hub for a room the generator did not annotate: the centre of its bounding box."""
    xs, zs = [p[0] for p in room.polygon], [p[1] for p in room.polygon]
    side = min(max(xs) - min(xs), max(zs) - min(zs))
    return Hub(((min(xs) + max(xs)) / 2, (min(zs) + max(zs)) / 2), float(np.clip(0.15 * side, 0.35, 0.6)))


def room_hubs(house: House) -> dict[str, Hub]:
    """room id -> hub: the generator's (house.meta["walk_hubs"]: id -> (x, z, radius)) or a default."""
    given = house.meta.get("walk_hubs", {})
    return {r.id: Hub(tuple(given[r.id][:2]), given[r.id][2]) if r.id in given else default_hub(r) for r in house.rooms}


def approach_point(door: Door, wall: Wall, room: Room) -> Vec2:
    """Point DOOR_APPROACH metres in front of the door on the side of `room`."""
    (x0, z0), (x1, z1) = wall.start, wall.end
    length = math.hypot(x1 - x0, z1 - z0)
    nx, nz = -(z1 - z0) / length, (x1 - x0) / length
    cx, cz = door.center
    if not room.contains((cx + 0.05 * nx, cz + 0.05 * nz)):
        nx, nz = -nx, -nz
    return (cx + DOOR_APPROACH * nx, cz + DOOR_APPROACH * nz)


def approaches(house_rooms, walls, doors) -> dict[tuple[str, str], Vec2]:
    """(door id, room id) -> approach point, for doors between two rooms (rooms in `house_rooms` only)."""
    rooms = {r.id: r for r in house_rooms}
    wall_of = {w.id: w for w in walls}
    return {
        (d.id, rid): approach_point(d, wall_of[d.wall], rooms[rid])
        for d in doors
        if len(d.rooms) == 2
        for rid in d.rooms
        if rid in rooms
    }


def _tangent_points(hub: Hub, p: Vec2) -> list[Vec2]:
    """The two points of the hub circle where lines from p touch it."""
    d = math.dist(p, hub.center)
    beta = math.atan2(p[1] - hub.center[1], p[0] - hub.center[0])
    alpha = math.acos(min(1.0, hub.radius / d))
    return [tuple(circle_point(hub, beta + s * alpha)) for s in (1.0, -1.0)]


def walk_envelope(rooms, walls, doors, hubs: dict[str, Hub]) -> list[Capsule]:
    """Capsules that contain every route `walkthrough` can take (any seed) through `rooms`.
    Keeping objects farther than a margin from them keeps the camera that far from every object.
    The route is the hub circle, tangent lines from approach points and straight door crossings,
    except that corners are rounded, which strays at most FILLET_DEVIATION from those lines."""
    caps: list[Capsule] = [(h.center, h.center, h.radius) for h in hubs.values()]
    door_center = {d.id: d.center for d in doors}
    for (door_id, room_id), a in approaches(rooms, walls, doors).items():
        caps += [(a, t, FILLET_DEVIATION) for t in _tangent_points(hubs[room_id], a)]
        caps.append((a, door_center[door_id], FILLET_DEVIATION))
    return caps
