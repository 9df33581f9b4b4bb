"""Renderer-independent geometry of a House: the boxes and floor polygons every renderer draws.

Both the pybullet renderer and the naive numpy ray caster (benchmarks/raycast.py) build their
scene from these functions, so they draw the same thing with the same instance ids:

* objects: one or more parts (world-space, axis-aligned boxes) per object, from
  `scene.catalog.parts(obj)` (a single box for categories outside the catalog);
* walls: box segments around each door opening plus a lintel above it (instance -2);
* door frames: two jambs and a header around each opening (instance -4);
* floors / ceilings: the room polygons at floor_y / wall_height (instances -1 / -3).

Camera convention (shared by all renderers, see `camera_basis`): y up; yaw 0 looks along +z,
yaw 90 along +x; the image's right-hand side is the camera's right vector
(cos yaw, 0, -sin yaw) at pitch 0 -- the AI2-THOR / Unity convention (at yaw 0, +x is on the right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..camera import ID_DOOR_FRAME, ID_WALL, CameraPose
from ..scene import catalog
from ..scene.model import Door, House, SceneObject, Wall, dist_to_polygon

RGB = tuple[float, float, float]

WALL_RGB: RGB = (0.86, 0.84, 0.78)
CEILING_RGB: RGB = (0.97, 0.97, 0.96)
DOOR_FRAME_RGB: RGB = (0.42, 0.28, 0.18)
FLOOR_RGB: dict[str, RGB] = {
    "bedroom": (0.70, 0.54, 0.38),  # light wood
    "living_room": (0.58, 0.42, 0.28),  # darker wood
    "kitchen": (0.78, 0.78, 0.74),  # pale tiles
    "bathroom": (0.66, 0.76, 0.82),  # blue-grey tiles
    "dining_room": (0.64, 0.50, 0.36),
    "office": (0.56, 0.58, 0.62),  # grey carpet
    "hallway": (0.72, 0.66, 0.58),
}
FLOOR_DEFAULT_RGB: RGB = (0.66, 0.60, 0.54)

DOOR_FRAME_WIDTH = 0.06  # m, jamb width along the wall
DOOR_FRAME_PROUD = 0.015  # m, how far the frame stands out of each wall face


@dataclass(frozen=True)
class Box:
    """A box to draw: centre, full extents along its local x/y/z, rotation about +y (degrees,
    same sense as yaw: local +z turns towards +x), instance id and colour (0..1)."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    inst: int
    rgb: RGB
    yaw_deg: float = 0.0
    rooms: tuple[str, ...] = ()  # rooms it bounds (walls, door frames); () for objects


# ----------------------------------------------------------------------------------- colours
def category_color(category: str) -> RGB:
    c = catalog.color(category)
    return (float(c[0]), float(c[1]), float(c[2]))


def floor_color(room_type: str) -> RGB:
    return FLOOR_RGB.get(room_type, FLOOR_DEFAULT_RGB)


# ------------------------------------------------------------------------------------ objects
def object_parts(obj: SceneObject) -> list[tuple[tuple[float, float, float], tuple[float, float, float], RGB]]:
    """World-space axis-aligned parts of an object (the catalog's, at least one) with a colour each:
    secondary parts slightly darker so a table's legs read apart from its top."""
    base = category_color(obj.category)
    out = []
    for i, (center, size) in enumerate(catalog.parts(obj)):
        k = 1.0 if i == 0 else 0.8
        out.append(
            (
                tuple(float(v) for v in center),
                tuple(max(float(v), 1e-3) for v in size),
                tuple(min(1.0, c * k) for c in base),
            )
        )
    return out  # type: ignore[return-value]


# -------------------------------------------------------------------------------------- walls
def _wall_doors(house: House, wall: Wall) -> list[Door]:
    ids = set(wall.doors)
    return [d for d in house.doors if d.id in ids or d.wall == wall.id]


def wall_boxes(house: House, frames: bool = True) -> list[Box]:
    """Wall segments with door openings cut out (a segment either side, a lintel above each door),
    extended by half the thickness at both ends so corners close; plus door frames (id -4)."""
    boxes: list[Box] = []
    for wall in house.walls:
        (x0, z0), (x1, z1) = wall.start, wall.end
        dx, dz = x1 - x0, z1 - z0
        length = math.hypot(dx, dz)
        if length < 1e-6:
            continue
        ux, uz = dx / length, dz / length
        # a box whose local +z runs along the wall: yaw such that (sin yaw, cos yaw) = (ux, uz)
        yaw = math.degrees(math.atan2(ux, uz))
        h, t = float(wall.height), float(wall.thickness)
        ext = t / 2.0
        rooms = tuple(wall.rooms)

        def at(s: float, y: float) -> tuple[float, float, float]:
            return (x0 + ux * s, y, z0 + uz * s)

        openings = []
        for d in _wall_doors(house, wall):
            s = (d.center[0] - x0) * ux + (d.center[1] - z0) * uz
            a, b = max(0.0, s - d.width / 2), min(length, s + d.width / 2)
            if b - a > 1e-3:
                openings.append((a, b, min(float(d.height), h)))
        openings.sort()
        cursor = -ext
        for a, b, dh in openings:
            if a - cursor > 1e-3:
                boxes.append(Box(at((cursor + a) / 2, h / 2), (t, h, a - cursor), ID_WALL, WALL_RGB, yaw, rooms))
            if h - dh > 1e-3:
                boxes.append(Box(at((a + b) / 2, (dh + h) / 2), (t, h - dh, b - a), ID_WALL, WALL_RGB, yaw, rooms))
            cursor = max(cursor, b)
        end = length + ext
        if end - cursor > 1e-3:
            boxes.append(Box(at((cursor + end) / 2, h / 2), (t, h, end - cursor), ID_WALL, WALL_RGB, yaw, rooms))
        if frames:
            fw, ft = DOOR_FRAME_WIDTH, t + 2 * DOOR_FRAME_PROUD
            for a, b, dh in openings:
                for s in (a, b):
                    boxes.append(Box(at(s, dh / 2), (ft, dh, fw), ID_DOOR_FRAME, DOOR_FRAME_RGB, yaw, rooms))
                if h - dh > 1e-3:
                    hh = min(fw, h - dh)
                    boxes.append(
                        Box(
                            at((a + b) / 2, dh + hh / 2),
                            (ft, hh, b - a + fw),
                            ID_DOOR_FRAME,
                            DOOR_FRAME_RGB,
                            yaw,
                            rooms,
                        )
                    )
    return boxes


# ---------------------------------------------------------------------------------- polygons
def triangulate_polygon(poly: Sequence[tuple[float, float]]) -> list[tuple[int, int, int]]:
    """Ear clipping of a simple polygon in (x, z); triangles are returned counter-clockwise in
    (x, z) (i.e. their normal points -y; flip for an upward-facing floor)."""
    pts = [(float(x), float(z)) for x, z in poly]
    n = len(pts)
    if n < 3:
        return []
    area2 = sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))
    idx = list(range(n)) if area2 > 0 else list(range(n))[::-1]

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def inside(p, a, b, c):
        return cross(a, b, p) >= -1e-12 and cross(b, c, p) >= -1e-12 and cross(c, a, p) >= -1e-12

    tris: list[tuple[int, int, int]] = []
    guard = 0
    while len(idx) > 3 and guard < 10 * n * n:
        guard += 1
        m = len(idx)
        for k in range(m):
            i0, i1, i2 = idx[(k - 1) % m], idx[k], idx[(k + 1) % m]
            a, b, c = pts[i0], pts[i1], pts[i2]
            if cross(a, b, c) <= 1e-12:
                continue  # reflex or degenerate
            if any(inside(pts[j], a, b, c) for j in idx if j not in (i0, i1, i2) and pts[j] not in (a, b, c)):
                continue
            tris.append((i0, i1, i2))
            del idx[k]
            break
        else:  # numerically stuck: fan the rest
            break
    for k in range(1, len(idx) - 1):
        tris.append((idx[0], idx[k], idx[k + 1]))
    return tris


# ------------------------------------------------------------------------------------- camera
def camera_basis(pose: CameraPose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(right, up, forward) unit vectors of a pose in world coordinates. Image columns grow along
    `right`, image rows grow along `-up`."""
    yaw, pitch = math.radians(pose.yaw_deg), math.radians(pose.pitch_deg)
    f = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
    r = np.array([math.cos(yaw), 0.0, -math.sin(yaw)])
    u = np.cross(f, r)
    return r, u, f


def focal_px(width: int, fov_deg: float) -> float:
    """Focal length in pixels for a horizontal field of view (square pixels)."""
    return (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)


def vertical_fov_deg(width: int, height: int, fov_deg: float) -> float:
    return math.degrees(2.0 * math.atan(math.tan(math.radians(fov_deg) / 2.0) * height / width))


# ------------------------------------------------------------------------- room visibility
def rooms_sealed(house: House, tol: float = 0.02, step: float = 0.1) -> bool:
    """True when every edge of every room polygon is covered by a wall, so rooms can only see
    each other through doors (what room culling relies on)."""
    segs = []
    for w in house.walls:
        segs.append((np.array(w.start, float), np.array(w.end, float), w.thickness / 2 + tol))
    if not segs:
        return False
    A = np.array([s[0] for s in segs])
    B = np.array([s[1] for s in segs])
    R = np.array([s[2] for s in segs])
    AB = B - A
    L2 = np.maximum((AB**2).sum(1), 1e-12)
    for room in house.rooms:
        poly = [np.array(p, float) for p in room.polygon]
        for i in range(len(poly)):
            a, b = poly[i], poly[(i + 1) % len(poly)]
            n = max(2, int(math.ceil(float(np.linalg.norm(b - a)) / step)) + 1)
            pts = a[None] + (b - a)[None] * np.linspace(0.0, 1.0, n)[:, None]
            u = np.clip(((pts[:, None, :] - A[None]) * AB[None]).sum(-1) / L2[None], 0.0, 1.0)
            d = np.linalg.norm(pts[:, None, :] - (A[None] + u[..., None] * AB[None]), axis=-1)
            if not (d <= R[None]).any(1).all():
                return False
    return True


def door_corners(house: House, door: Door) -> Optional[np.ndarray]:
    """The 4 corners (x, y, z) of a door opening, or None when its wall is unknown."""
    wall = next((w for w in house.walls if w.id == door.wall), None)
    if wall is None:
        wall = next((w for w in house.walls if door.id in w.doors), None)
    if wall is None:
        return None
    (x0, z0), (x1, z1) = wall.start, wall.end
    L = math.hypot(x1 - x0, z1 - z0)
    if L < 1e-9:
        return None
    ux, uz = (x1 - x0) / L, (z1 - z0) / L
    floor = min((r.floor_y for r in house.rooms if r.id in door.rooms), default=0.0)
    hw = door.width / 2
    cx, cz = door.center
    return np.array(
        [
            [cx - ux * hw, floor, cz - uz * hw],
            [cx + ux * hw, floor, cz + uz * hw],
            [cx + ux * hw, floor + door.height, cz + uz * hw],
            [cx - ux * hw, floor + door.height, cz - uz * hw],
        ]
    )


def polygon_may_be_visible(
    points: np.ndarray, pose: CameraPose, width: int, height: int, near: float, margin: float = 1.1
) -> bool:
    """Conservative frustum test: False only when all points lie outside one frustum plane."""
    r, u, f = camera_basis(pose)
    rel = points - np.asarray(pose.position, dtype=np.float64)[None]
    x, y, z = rel @ r, rel @ u, rel @ f
    th = math.tan(math.radians(pose.fov_deg) / 2) * margin
    tv = math.tan(math.radians(vertical_fov_deg(width, height, pose.fov_deg)) / 2) * margin
    outside = (z < near, x > z * th, x < -z * th, y > z * tv, y < -z * tv)
    return not any(bool(o.all()) for o in outside)


def visible_rooms(
    house: House,
    pose: CameraPose,
    width: int,
    height: int,
    near: float,
    portals: dict[str, list[tuple[str, np.ndarray]]],
    snap: float = 0.6,
) -> Optional[set[str]]:
    """Rooms whose geometry may show in the frame: the camera's room(s) and, transitively, rooms
    behind door openings that intersect the view frustum. None = unknown (draw everything)."""
    cx, cz = float(pose.position[0]), float(pose.position[2])
    start = set()
    for room in house.rooms:
        if room.contains((cx, cz)) or dist_to_polygon((cx, cz), room.polygon) < snap:
            start.add(room.id)
    if not start:
        return None
    seen = set(start)
    frontier = list(start)
    while frontier:
        rid = frontier.pop()
        for other, corners in portals.get(rid, ()):
            if other not in seen and polygon_may_be_visible(corners, pose, width, height, near):
                seen.add(other)
                frontier.append(other)
    return seen


def portal_map(house: House) -> dict[str, list[tuple[str, np.ndarray]]]:
    """room id -> [(room behind the door, door corners)] for every door joining two rooms."""
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for d in house.doors:
        if len(d.rooms) < 2:
            continue
        corners = door_corners(house, d)
        if corners is None:
            continue
        a, b = d.rooms[0], d.rooms[1]
        out.setdefault(a, []).append((b, corners))
        out.setdefault(b, []).append((a, corners))
    return out


# ------------------------------------------------------------------ polygon -> rectangles
def polygon_rectangles(
    poly: Sequence[tuple[float, float]], eps: float = 1e-9
) -> Optional[list[tuple[float, float, float, float]]]:
    """Exact decomposition of a rectilinear (axis-aligned edges) polygon into rectangles
    (x0, z0, x1, z1); None when some edge is not axis-aligned."""
    pts = [(float(x), float(z)) for x, z in poly]
    n = len(pts)
    if n < 4:
        return None
    for i in range(n):
        (x0, z0), (x1, z1) = pts[i], pts[(i + 1) % n]
        if abs(x1 - x0) > eps and abs(z1 - z0) > eps:
            return None
    from ..scene.model import point_in_polygon

    xs = sorted({x for x, _ in pts})
    zs = sorted({z for _, z in pts})
    runs: list[list[tuple[float, float, float, float]]] = []
    for j in range(len(zs) - 1):
        row: list[tuple[float, float, float, float]] = []
        zc = (zs[j] + zs[j + 1]) / 2
        start = None
        for i in range(len(xs) - 1):
            inside = point_in_polygon(((xs[i] + xs[i + 1]) / 2, zc), pts)
            if inside and start is None:
                start = xs[i]
            if not inside and start is not None:
                row.append((start, zs[j], xs[i], zs[j + 1]))
                start = None
        if start is not None:
            row.append((start, zs[j], xs[-1], zs[j + 1]))
        runs.append(row)
    # merge runs with the same x-extent down the rows
    out: list[tuple[float, float, float, float]] = []
    open_: dict[tuple[float, float], list[float]] = {}
    for row in runs:
        keys = {(r[0], r[2]): r for r in row}
        for key in list(open_):
            if key not in keys:
                x0, x1 = key
                z0, z1 = open_.pop(key)
                out.append((x0, z0, x1, z1))
        for key, r in keys.items():
            if key in open_ and abs(open_[key][1] - r[1]) < eps:
                open_[key][1] = r[3]
            else:
                if key in open_:
                    z0, z1 = open_.pop(key)
                    out.append((key[0], z0, key[1], z1))
                open_[key] = [r[1], r[3]]
    for (x0, x1), (z0, z1) in open_.items():
        out.append((x0, z0, x1, z1))
    return sorted(out, key=lambda r: (r[1], r[0]))
