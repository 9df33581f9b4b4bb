"""ProcTHOR house JSONs -> our `House`, so real ProcTHOR layouts stream through the embedded
(pybullet) renderer on any CPU, and the `thor` backend gets rooms, walls and doors.

    from simsv_stream.scene.procthor import house_from_procthor, load_houses, simulate_house
    docs = load_houses("houses/")                 # a .json, a folder or glob of .json, or a .jsonl[.gz]
    house = house_from_procthor(docs[0], seed=0)
    episode = simulate(0, scales, house=house)    # simsv_stream.simulator: walks every room
    episode = simulate_house(house, 0, scales)    # walks scales.rooms_min..rooms_max rooms (walk_rooms)

`HouseSource(path)` reads the same paths lazily (what workers use for ProcTHOR-10k); the stream
backend is `ProcthorLayouts` (factory `backend(houses=...)`).

What is read (the ProcTHOR house schema, as in ai2thor's tests/data/arm/procthor_train_1.json):

* `rooms[*]`: `id`, `roomType` ("Kitchen", "LivingRoom", ...; see thor_types.room_type_of) and
  `floorPolygon` [{x, y, z}] -> Room(polygon (x, z), floor_y = y).
* `walls[*]`: `id`, `roomId` ("exterior" for the outside face), `polygon` (4 corners, two at the
  floor), `empty` (an open wall between two rooms). Each room lists its own walls and the outside
  lists the exterior faces, so a wall between two rooms appears twice: collinear walls are split
  at every endpoint and merged into one Wall per piece, bounding the rooms that list it. An
  `empty` wall is kept (for corners and the walk) with a full-size opening, a Door with id
  "open|<wall id>", so the rooms it joins are connected.
* `doors[*]`: `wall0` (the wall the hole is measured on), `room0`/`room1`, `holePolygon` [min
  corner, max corner] in the wall's frame -> Door(center on the wall line, width, height, rooms).
  The frame is Unity's (ai2thor ProceduralTools.cs): a wall's p0, p1 are the first two points of
  its `polygon` after a stable sort by y (polygonWallToSimpleWall), i.e. its floor corners in
  file order, not the corners its id names; the hole spans holePolygon[0].x..holePolygon[1].x
  from p0 towards p1 and y up from the floor (createAndJoinWall; the door asset goes to
  p0 + assetPosition.x along the same direction). On `wall1` Unity cuts the mirror image
  (width - max.x), which is used here when only wall1 names a wall of the house. A door with room0 == room1 leads
  outside (one room). Interior doors are open (the walker passes through them; the thor backend
  opens them too); an exterior door with `openness` 0 is a closed door and is not cut
  (house.meta["closed_doors"]).
* `objects[*]` and their `children` (recursively): `id` ("Chair|3|0|1": the AI2-THOR objectType
  comes first), `assetId`, `position` (the centre of the object's bounding box), `rotation.y` (yaw).
  The JSON has no asset dimensions, so width and depth are category-typical
  (thor_types.typical_size: catalog range midpoints) rotated by the yaw into the axis-aligned box,
  and the height comes from the position where it can: a floor object's centre is half its height
  above the floor, a child resting on its parent's top is centred half its height above that top.
  Wall-mounted things (paintings, a television on a wall) keep their centre and a typical height;
  children inside their parent (a shelf, a fridge) keep their centre. Object ids are 1.. in file
  order (parents before children); house.meta["thor_ids"] maps them to the ProcTHOR ids (the
  `objectId`s AI2-THOR reports for the same house).

house.meta["walk_hubs"] holds a free spot per room (x, z, radius), the same format the procedural
generator writes: the floor point with the most clearance from walls and furniture, preferring
spots from which the way to the room's doors is free (see `choose_hub`). ProcTHOR furniture was
not placed around our walk, so unlike procedural houses the camera is not guaranteed to stay
clear of every object on the way between rooms.
"""

from __future__ import annotations

import glob
import gzip
import json
import math
import os
import time
from collections import OrderedDict
from collections.abc import Sequence as _SequenceABC
from dataclasses import replace
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..errors import SimsvError
from .model import Door, House, Room, SceneObject, Vec2, Wall, dist_to_polygon, points_in_polygon
from .thor_types import category_of, object_type_of, room_type_of, typical_size
from .walkways import approach_point

WALL_THICKNESS = 0.1  # m, drawn thickness of ProcTHOR walls (planes in Unity)
DEFAULT_WALL_HEIGHT = 2.5
GRID_STEP = 0.1  # m, candidate spacing for walk hubs
CAMERA_MARGIN = 0.35  # m kept between a hub circle and walls/furniture where possible
HUB_RADIUS_RANGE = (0.15, 0.55)
APPROACH_GAP = 0.4  # m between a hub circle and a door's approach point
OBSTACLE_TOP = 2.0  # m above the floor: objects entirely above this never block the walk
WALL_MOUNTED = frozenset({"painting", "mirror", "poster", "towel holder", "hand towel holder", "toilet paper hanger"})


class ProcthorError(SimsvError, ValueError):
    """A house document that cannot be read; the message says which field."""


# ============================================================================== documents
def _xz(p: Mapping[str, Any]) -> Vec2:
    return (float(p["x"]), float(p["z"]))


HOUSE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz")


def house_files(path: str) -> Optional[list[str]]:
    """The house files a folder (its .json[.gz] / .jsonl[.gz] files, sorted by name) or a glob
    pattern ("houses/*.json", matches sorted) stands for; None when `path` is neither (one file)."""
    if os.path.isdir(path):
        files, where = (
            [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith(HOUSE_SUFFIXES)],
            "in this directory",
        )
    elif any(c in path for c in "*?[") and not os.path.exists(path):
        files, where = sorted(f for f in glob.glob(path) if os.path.isfile(f)), "match this pattern"
    else:
        return None
    if not files:
        raise ProcthorError(f"{path}: no .json / .jsonl[.gz] house files {where}")
    return files


def load_houses(path: str | os.PathLike, limit: Optional[int] = None) -> list[dict]:
    """ProcTHOR house dicts from a .json (one house, or a list of houses), a directory of .json
    files (sorted by name), a glob pattern of such files ("houses/*.json"), or a .jsonl /
    .jsonl.gz with one house per line (ProcTHOR-10k style). Each dict gets "_source"
    (file[:line]) unless it has one."""
    path = os.fspath(path)
    files = house_files(path)
    if files is not None:
        out: list[dict] = []
        for f in files:
            out += load_houses(f, None if limit is None else limit - len(out))
            if limit is not None and len(out) >= limit:
                break
        return out
    if not os.path.exists(path):
        raise ProcthorError(f"{path}: no such file or directory")
    opener = gzip.open if path.endswith(".gz") else open
    base = os.path.basename(path)
    if path.endswith((".jsonl", ".jsonl.gz")):
        out = []
        with opener(path, "rt") as fh:
            for i, line in enumerate(fh):
                if line.strip():
                    out.append(_tagged(_parse(line, f"{base}:{i + 1}"), f"{base}:{i + 1}"))
                    if limit is not None and len(out) >= limit:
                        break
        return out
    with opener(path, "rt") as fh:
        doc = _parse(fh.read(), base)
    docs = doc if isinstance(doc, list) else [doc]
    docs = [_tagged(d, base if len(docs) == 1 else f"{base}:{i}") for i, d in enumerate(docs)]
    return docs[:limit] if limit is not None else docs


class HouseSource(_SequenceABC):
    """The houses of a path (as `load_houses` reads them) without holding them all as dicts: a
    folder keeps its file names, a .jsonl its line offsets, a .jsonl.gz each line zlib-compressed
    (a worker streaming from ProcTHOR-10k holds a fraction of the parsed size); a house is parsed
    when asked for. `limit` keeps the first N."""

    def __init__(self, path: str | os.PathLike, limit: Optional[int] = None):
        import zlib

        self.path = os.fspath(path)
        self._items: list[tuple[str, Any, str]] = []  # (kind, data, source label)
        files = house_files(self.path)
        if files is not None:
            for full in files:
                if full.endswith((".jsonl", ".jsonl.gz")):
                    self._items += HouseSource(full)._items
                else:
                    self._items += (
                        [("file", full, os.path.basename(full))]
                        if not self._is_list(full)
                        else [("doc", zlib.compress(json.dumps(d).encode()), d["_source"]) for d in load_houses(full)]
                    )
        elif self.path.endswith(".jsonl"):
            if not os.path.exists(self.path):
                raise ProcthorError(f"{self.path}: no such file or directory")
            with open(self.path, "rb") as fh:
                offset = 0
                for i, line in enumerate(fh):
                    if line.strip():
                        self._items.append(("offset", (self.path, offset), f"{os.path.basename(self.path)}:{i + 1}"))
                    offset += len(line)
        elif self.path.endswith(".jsonl.gz"):
            if not os.path.exists(self.path):
                raise ProcthorError(f"{self.path}: no such file or directory")
            with gzip.open(self.path, "rb") as fh:
                for i, line in enumerate(fh):
                    if line.strip():
                        self._items.append(("doc", zlib.compress(line), f"{os.path.basename(self.path)}:{i + 1}"))
                        if limit is not None and len(self._items) >= limit:
                            break
        else:
            self._items = [("doc", zlib.compress(json.dumps(d).encode()), d["_source"]) for d in load_houses(self.path)]
        if limit is not None:
            self._items = self._items[:limit]
        if not self._items:
            raise ProcthorError(f"{self.path}: no houses")

    @staticmethod
    def _is_list(path: str) -> bool:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as fh:
            return fh.read(64).lstrip().startswith("[")

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):  # type: ignore[override]
        import zlib

        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        kind, data, source = self._items[i]
        if kind == "file":
            return load_houses(data)[0]
        if kind == "offset":
            with open(data[0], "rb") as fh:
                fh.seek(data[1])
                return _tagged(_parse(fh.readline(), source), source)
        return _tagged(_parse(zlib.decompress(data), source), source)


def _parse(text: str | bytes, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise ProcthorError(f"{source}: not valid JSON ({e})") from None


def _tagged(doc: Any, source: str) -> dict:
    if not isinstance(doc, dict) or "rooms" not in doc:
        raise ProcthorError(f"{source}: not a ProcTHOR house (a JSON object with 'rooms', 'walls', 'doors', 'objects')")
    doc.setdefault("_source", source)
    return doc


# ================================================================================ structure
def _rooms(doc: Mapping[str, Any]) -> list[Room]:
    rooms = []
    for i, r in enumerate(doc.get("rooms") or []):
        poly = r.get("floorPolygon") or []
        if len(poly) < 3:
            raise ProcthorError(f"rooms[{i}] ({r.get('id')}): floorPolygon needs >= 3 points")
        pts = tuple(_xz(p) for p in poly)
        floor_y = float(poly[0].get("y", 0.0))
        rooms.append(Room(str(r.get("id", f"room|{i}")), room_type_of(str(r.get("roomType", "room"))), pts, floor_y))
    if not rooms:
        raise ProcthorError("rooms: the house has no rooms")
    return rooms


def _wall_floor_line(w: Mapping[str, Any]) -> tuple[Vec2, Vec2, float]:
    """(p0, p1, height) of a ProcTHOR wall polygon as Unity takes them (ai2thor ProceduralTools
    polygonWallToSimpleWall: the polygon stably sorted by y, p0 and p1 its first two points,
    height = max y - p0.y): the floor corners in file order. Repeated corners are skipped."""
    poly = w.get("polygon") or []
    if len(poly) < 2:
        raise ProcthorError(f"wall {w.get('id')}: polygon needs its corners")
    ys = [float(p.get("y", 0.0)) for p in poly]
    lo, hi = min(ys), max(ys)
    order = sorted(range(len(poly)), key=lambda i: ys[i])  # stable, as LINQ OrderBy
    corners = list(dict.fromkeys(_xz(poly[i]) for i in order))
    if len(corners) < 2:
        raise ProcthorError(f"wall {w.get('id')}: polygon has no extent along the floor")
    return corners[0], corners[1], (hi - lo) if hi > lo else DEFAULT_WALL_HEIGHT


class _Line:
    """A canonical infinite line: unit direction (sign fixed) and offset, for grouping collinear walls."""

    def __init__(self, a: Vec2, b: Vec2):
        dx, dz = b[0] - a[0], b[1] - a[1]
        n = math.hypot(dx, dz)
        ux, uz = dx / n, dz / n
        if ux < -1e-9 or (abs(ux) <= 1e-9 and uz < 0):
            ux, uz = -ux, -uz
        self.u = (ux, uz)
        self.offset = -uz * a[0] + ux * a[1]
        self.key = (round(ux, 3), round(uz, 3), round(self.offset, 3))

    def t(self, p: Vec2) -> float:
        return p[0] * self.u[0] + p[1] * self.u[1]

    def point(self, t: float) -> Vec2:
        # the foot of the normal from the origin plus t along u
        nx, nz = -self.u[1], self.u[0]
        return (round(nx * self.offset + t * self.u[0], 6), round(nz * self.offset + t * self.u[1], 6))


def _structure(doc: Mapping[str, Any], rooms: list[Room]):
    """Walls (one per collinear piece), doors and the wall height. Returns (walls, doors,
    raw wall id -> [(wall piece id, t0, t1, line)], closed door ids)."""
    room_ids = {r.id for r in rooms}
    raw = []
    for i, w in enumerate(doc.get("walls") or []):
        a, b, h = _wall_floor_line(w)
        if math.dist(a, b) < 1e-6:
            continue
        rid = str(w.get("roomId", ""))
        raw.append(
            dict(
                id=str(w.get("id", f"wall|{i}")),
                a=a,
                b=b,
                h=h,
                room=rid if rid in room_ids else None,
                empty=bool(w.get("empty", False)),
                line=_Line(a, b),
            )
        )
    wall_height = max((w["h"] for w in raw), default=DEFAULT_WALL_HEIGHT)
    groups: dict[tuple, list[dict]] = {}
    for w in raw:
        groups.setdefault(w["line"].key, []).append(w)
    walls: list[Wall] = []
    pieces_of: dict[str, list[tuple[str, float, float, _Line]]] = {w["id"]: [] for w in raw}
    open_pieces: list[tuple[Wall, tuple[str, ...]]] = []
    for key in sorted(groups):
        ws = groups[key]
        line = ws[0]["line"]
        spans = [(min(line.t(w["a"]), line.t(w["b"])), max(line.t(w["a"]), line.t(w["b"])), w) for w in ws]
        cuts = sorted({round(t, 4) for t0, t1, _ in spans for t in (t0, t1)})
        for ta, tb in zip(cuts, cuts[1:]):
            if tb - ta < 1e-3:
                continue
            mid = (ta + tb) / 2
            cover = [w for t0, t1, w in spans if t0 - 1e-4 <= mid <= t1 + 1e-4]
            if not cover:
                continue
            rids = tuple(sorted({w["room"] for w in cover if w["room"] is not None}))
            if not rids:
                continue
            wid = f"w{len(walls)}"
            wall = Wall(wid, line.point(ta), line.point(tb), wall_height, WALL_THICKNESS, rids)
            room_walls = [w for w in cover if w["room"] is not None]
            if len(rids) == 2 and room_walls and all(w["empty"] for w in room_walls):
                open_pieces.append((wall, rids))
            walls.append(wall)
            for w in cover:
                pieces_of[w["id"]].append((wid, ta, tb, line))

    doors: list[Door] = []
    closed: list[str] = []
    raw_by_id = {w["id"]: w for w in raw}
    for i, d in enumerate(doc.get("doors") or []):
        did = str(d.get("id", f"door|{i}"))
        w0 = raw_by_id.get(str(d.get("wall0", "")))
        mirrored = w0 is None  # measured on wall1: Unity cuts width - max.x .. width - min.x
        if w0 is None:
            w0 = raw_by_id.get(str(d.get("wall1", "")))
        hole = d.get("holePolygon") or []
        if w0 is None or len(hole) < 2:
            raise ProcthorError(f"doors[{i}] ({did}): needs wall0 naming a wall and a 2-point holePolygon")
        (x0, z0), (x1, z1) = w0["a"], w0["b"]
        length = math.hypot(x1 - x0, z1 - z0)
        s0, s1 = sorted((float(hole[0]["x"]), float(hole[1]["x"])))
        if mirrored:
            s0, s1 = length - s1, length - s0
        height = abs(float(hole[1].get("y", 2.0)) - float(hole[0].get("y", 0.0)))
        u = (s0 + s1) / 2 / length
        center = (round(x0 + u * (x1 - x0), 4), round(z0 + u * (z1 - z0), 4))
        rids = [str(d.get(k, "")) for k in ("room0", "room1")]
        rids = tuple(dict.fromkeys(r for r in rids if r in room_ids))
        if not rids:
            raise ProcthorError(f"doors[{i}] ({did}): room0/room1 name no room of the house")
        if len(rids) == 1 and d.get("openness", 1) == 0:
            closed.append(did)  # a closed front door: drawn as wall
            continue
        t = w0["line"].t(center)
        piece = next((p for p in pieces_of[w0["id"]] if p[1] - 1e-3 <= t <= p[2] + 1e-3), None)
        if piece is None:
            raise ProcthorError(f"doors[{i}] ({did}): the hole lies outside its wall {w0['id']}")
        doors.append(Door(did, piece[0], center, round(s1 - s0, 4), round(min(height, wall_height), 4), rids))
    for wall, rids in open_pieces:
        mid = ((wall.start[0] + wall.end[0]) / 2, (wall.start[1] + wall.end[1]) / 2)
        doors.append(
            Door(f"open|{wall.id}", wall.id, mid, round(math.dist(wall.start, wall.end), 4), wall_height, rids)
        )
    by_wall: dict[str, list[str]] = {}
    for d in doors:
        by_wall.setdefault(d.wall, []).append(d.id)
    walls = [Wall(w.id, w.start, w.end, w.height, w.thickness, w.rooms, tuple(by_wall.get(w.id, ()))) for w in walls]
    return walls, doors, wall_height, closed


# ================================================================================== objects
def _room_for(rooms: Sequence[Room], p: Vec2, hint: str = "") -> str:
    for r in rooms:
        if r.contains(p):
            return r.id
    if hint:
        for r in rooms:
            if r.id == hint:
                return r.id
    return min(rooms, key=lambda r: dist_to_polygon(p, r.polygon)).id


def rotated_footprint(width: float, depth: float, yaw_deg: float) -> tuple[float, float]:
    """Extents along x and z of a width x depth rectangle turned by yaw (yaw 0: width along x)."""
    c, s = abs(math.cos(math.radians(yaw_deg))), abs(math.sin(math.radians(yaw_deg)))
    return (width * c + depth * s, width * s + depth * c)


def _object_box(
    category: str, pos: tuple[float, float, float], yaw: float, floor_y: float, parent: Optional[SceneObject]
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(centre, size) of an object's axis-aligned box from its ProcTHOR position (the centre of
    its bounds) and category-typical dimensions; see the module doc for the height rules."""
    w, h_typ, d = typical_size(category)
    x, y, z = pos
    if parent is None:
        cand = 2.0 * (y - floor_y)
        if category in WALL_MOUNTED or cand > 2.5 * h_typ:
            h, cy = h_typ, y  # on a wall / hanging: keep the centre
        elif cand >= 0.4 * h_typ:
            h, cy = cand, y  # standing on the floor: exact height
        else:
            h, cy = h_typ, floor_y + h_typ / 2
    else:
        top, bottom = parent.max[1], parent.min[1]
        gap = y - top
        if gap > 0 and 0.3 * h_typ <= 2 * gap <= 3.0 * h_typ:
            h, cy = 2 * gap, y  # resting on the parent's top: exact height
        elif gap >= -0.02:
            h, cy = h_typ, top + h_typ / 2  # on the top, implausible height: typical
        else:
            h = min(h_typ, max(0.02, parent.size[1]))
            cy = max(y, bottom + h / 2)  # inside the parent (a shelf, a fridge)
    ex, ez = rotated_footprint(w, d, yaw)
    return (round(x, 4), round(cy, 4), round(z, 4)), (round(ex, 4), round(max(h, 0.005), 4), round(ez, 4))


def _objects(doc: Mapping[str, Any], rooms: list[Room]) -> tuple[list[SceneObject], dict[int, str]]:
    out: list[SceneObject] = []
    ids: dict[int, str] = {}
    floor_of = {r.id: r.floor_y for r in rooms}

    def visit(o: Mapping[str, Any], parent: Optional[SceneObject], where: str) -> None:
        oid = str(o.get("id", ""))
        otype = object_type_of(oid, str(o.get("assetId", "")))
        category = category_of(otype, on_surface=parent is not None)
        me: Optional[SceneObject] = None
        if category is not None and "position" in o:
            pos = (float(o["position"]["x"]), float(o["position"]["y"]), float(o["position"]["z"]))
            yaw = float((o.get("rotation") or {}).get("y", 0.0)) % 360.0
            parts = oid.split("|")
            hint = f"room|{parts[1]}" if len(parts) > 2 and parts[1].isdigit() else ""
            room = parent.room if parent is not None else _room_for(rooms, (pos[0], pos[2]), hint)
            center, size = _object_box(category, pos, yaw, floor_of[room], parent)
            me = SceneObject(
                len(out) + 1,
                category,
                center,
                size,
                round(yaw, 3),
                room,
                parent.id if parent is not None else None,
                str(o.get("assetId", "")),
            )
            out.append(me)
            ids[me.id] = oid
        for j, child in enumerate(o.get("children") or []):
            visit(child, me if me is not None else parent, f"{where}.children[{j}]")

    for i, o in enumerate(doc.get("objects") or []):
        visit(o, None, f"objects[{i}]")
    return out, ids


# ================================================================================ walk hubs
def _dist_to_segments(pts: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """(N,) distance from each point (N, 2) to the nearest segment (M, 2, 2); inf when M == 0."""
    if len(segs) == 0 or len(pts) == 0:
        return np.full(len(pts), np.inf)
    a, b = segs[:, 0][None], segs[:, 1][None]  # (1, M, 2)
    ab = b - a
    L2 = np.maximum((ab**2).sum(-1), 1e-12)
    u = np.clip(((pts[:, None] - a) * ab).sum(-1) / L2, 0.0, 1.0)
    q = a + u[..., None] * ab
    return np.sqrt(((pts[:, None] - q) ** 2).sum(-1)).min(axis=1)


def _dist_to_rects(pts: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """(N,) distance to the nearest axis-aligned rectangle (M, 4: x0, z0, x1, z1); 0 inside."""
    if len(rects) == 0 or len(pts) == 0:
        return np.full(len(pts), np.inf)
    dx = np.maximum(np.maximum(rects[None, :, 0] - pts[:, None, 0], pts[:, None, 0] - rects[None, :, 2]), 0.0)
    dz = np.maximum(np.maximum(rects[None, :, 1] - pts[:, None, 1], pts[:, None, 1] - rects[None, :, 3]), 0.0)
    return np.hypot(dx, dz).min(axis=1)


def room_grid(room: Room, step: float = GRID_STEP) -> np.ndarray:
    """(N, 2) points on a step-metre lattice inside the room polygon."""
    xs, zs = [p[0] for p in room.polygon], [p[1] for p in room.polygon]
    gx = np.arange(min(xs) + step / 2, max(xs), step)
    gz = np.arange(min(zs) + step / 2, max(zs), step)
    pts = np.stack(np.meshgrid(gx, gz, indexing="ij"), axis=-1).reshape(-1, 2)
    return pts[points_in_polygon(pts[:, 0], pts[:, 1], room.polygon)] if len(pts) else pts


def target_radius(room: Room) -> float:
    xs, zs = [p[0] for p in room.polygon], [p[1] for p in room.polygon]
    side = min(max(xs) - min(xs), max(zs) - min(zs))
    return float(np.clip(0.15 * side - 0.1, 0.3, HUB_RADIUS_RANGE[1]))


def choose_hub(
    room: Room,
    candidates: np.ndarray,
    obstacle_distance: Callable[[np.ndarray], np.ndarray],
    approaches: Sequence[Vec2],
) -> tuple[float, float, float]:
    """(x, z, radius) of a walk hub for `room`: among `candidates` (N, 2 floor points), the one
    whose circle is widest and clearest. `obstacle_distance(points)` is the distance from points
    to the nearest obstacle (furniture, unreachable floor); the room's own polygon edges count as
    walls. The radius is the room's target (0.15 x its short side, 0.3..0.55 m) shrunk until the
    circle keeps CAMERA_MARGIN from walls and obstacles and APPROACH_GAP from each door's approach
    point; spots from which the straight way to those approach points runs into obstacles lose
    (the route leaves the circle towards them)."""
    r_target = target_radius(room)
    poly = np.asarray(room.polygon, dtype=float)
    edges = np.stack([poly, np.roll(poly, -1, axis=0)], axis=1)
    if len(candidates) == 0:
        c = poly.mean(axis=0)
        return (round(float(c[0]), 3), round(float(c[1]), 3), HUB_RADIUS_RANGE[0])
    pts = np.asarray(candidates, dtype=float)
    d_wall = _dist_to_segments(pts, edges) - WALL_THICKNESS / 2
    d_obj = obstacle_distance(pts)
    clearance = np.minimum(d_wall, d_obj)
    r = np.clip(clearance - CAMERA_MARGIN, 0.0, r_target)
    for a in approaches:
        r = np.minimum(r, np.hypot(pts[:, 0] - a[0], pts[:, 1] - a[1]) - APPROACH_GAP)
    # keep the best few hundred by circle size and clearance, then look at the way to the doors
    base = 3.0 * np.maximum(r, 0.0) + 0.5 * np.minimum(clearance, 1.5)
    keep = np.argsort(-base, kind="stable")[:300]
    pts, r, clearance, base = pts[keep], r[keep], clearance[keep], base[keep]
    penalty = np.zeros(len(pts))
    for a in approaches:
        u = np.linspace(0.0, 1.0, 12)[None, :, None]
        samples = pts[:, None, :] + u * (np.asarray(a)[None, None, :] - pts[:, None, :])  # (K, 12, 2)
        blocked = obstacle_distance(samples.reshape(-1, 2)).reshape(len(pts), -1) < 0.2
        penalty += blocked.mean(axis=1)
    centroid = poly.mean(axis=0)
    size = max(float(np.ptp(poly[:, 0])), float(np.ptp(poly[:, 1])), 1e-6)
    score = base - 2.0 * penalty - 0.3 * np.hypot(pts[:, 0] - centroid[0], pts[:, 1] - centroid[1]) / size
    i = int(np.argmax(score))
    radius = float(np.clip(r[i], HUB_RADIUS_RANGE[0], HUB_RADIUS_RANGE[1]))
    for a in approaches:  # an approach point must stay outside the circle (the route leaves on a tangent)
        radius = min(radius, math.dist((pts[i, 0], pts[i, 1]), a) - 0.1)
    radius = max(radius, 0.05)
    return (round(float(pts[i, 0]), 3), round(float(pts[i, 1]), 3), round(radius, 3))


def room_approaches(house: House, room: Room) -> list[Vec2]:
    """Approach points (in front of each door between two rooms, on this room's side)."""
    wall_of = {w.id: w for w in house.walls}
    return [
        approach_point(d, wall_of[d.wall], room)
        for d in house.doors
        if room.id in d.rooms and len(d.rooms) == 2 and d.wall in wall_of
    ]


def compute_walk_hubs(house: House) -> dict[str, tuple[float, float, float]]:
    """room id -> (x, z, radius): a free spot per room away from walls and furniture (objects on
    the floor whose box starts below OBSTACLE_TOP), in house.meta["walk_hubs"] format."""
    hubs = {}
    for room in house.rooms:
        rects = np.array(
            [
                (o.min[0], o.min[2], o.max[0], o.max[2])
                for o in house.objects
                if o.parent is None and o.min[1] < room.floor_y + OBSTACLE_TOP
            ],
            dtype=float,
        ).reshape(-1, 4)
        hubs[room.id] = choose_hub(
            room, room_grid(room), lambda p, rects=rects: _dist_to_rects(p, rects), room_approaches(house, room)
        )
    return hubs


# ==================================================================================== house
def house_from_procthor(doc: Mapping[str, Any], seed: int = 0, hubs: bool = True) -> House:
    """A ProcTHOR house dict as our House (see the module doc); house.meta holds "walk_hubs"
    (unless hubs=False), "thor_ids" (our object id -> ProcTHOR id), "closed_doors" and
    "procthor_source"."""
    if not isinstance(doc, Mapping):
        raise ProcthorError(f"expected a ProcTHOR house dict, got {type(doc).__name__}")
    rooms = _rooms(doc)
    walls, doors, wall_height, closed = _structure(doc, rooms)
    objects, thor_ids = _objects(doc, rooms)
    source = str(doc.get("_source", "") or doc.get("id", "") or "")
    house = House(
        seed=int(seed),
        rooms=tuple(rooms),
        walls=tuple(walls),
        doors=tuple(doors),
        objects=tuple(objects),
        wall_height=round(wall_height, 4),
        source=f"procthor:{source}" if source else "procthor",
        meta={"thor_ids": thor_ids, "closed_doors": closed, "procthor_source": source},
    )
    if hubs:
        house.meta["walk_hubs"] = compute_walk_hubs(house)
    return house


def open_interior_doors(doc: Mapping[str, Any]) -> dict:
    """A copy of the house dict with every door between two rooms open (openness 1), as the
    layout backend assumes; for the thor backend, so AI2-THOR renders the same passable house."""
    out = dict(doc)
    doors = []
    for d in doc.get("doors") or []:
        d = dict(d)
        if d.get("room0") != d.get("room1") and "openness" in d:
            d["openness"] = 1
        doors.append(d)
    out["doors"] = doors
    return out


# ============================================================================== one episode
def _door_graph(house: House) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {r.id: [] for r in house.rooms}
    for d in house.doors:
        if len(d.rooms) == 2 and d.rooms[0] != d.rooms[1] and all(r in graph for r in d.rooms):
            a, b = d.rooms
            graph[a].append(b)
            graph[b].append(a)
    return graph


def walk_rooms(house: House, seed: int, rooms_min: int = 1, rooms_max: int = 3) -> House:
    """The part of `house` one walkthrough visits (SIMS-V walks a couple of rooms per video,
    not the whole house): k rooms, k drawn in rooms_min..rooms_max (at most what is connected),
    grown from a random start room through random doors. Returned as a House with those rooms
    and the doors between them (walls and meta unchanged), to give `trajectory.walkthrough`;
    render and annotate with the whole house, so other rooms show through doors."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**64, 0x9A1C]))
    graph = _door_graph(house)
    k = max(1, min(int(rng.integers(rooms_min, max(rooms_min, rooms_max) + 1)), len(house.rooms)))

    def component(start: str) -> set[str]:
        seen, stack = {start}, [start]
        while stack:
            for n in graph[stack.pop()]:
                if n not in seen:
                    seen.add(n)
                    stack.append(n)
        return seen

    order = [house.rooms[i].id for i in rng.permutation(len(house.rooms))]
    start = next((r for r in order if len(component(r)) >= k), max(order, key=lambda r: len(component(r))))
    chosen = [start]
    while len(chosen) < k:
        frontier = sorted({n for r in chosen for n in graph[r] if n not in chosen})
        if not frontier:
            break
        chosen.append(frontier[int(rng.integers(len(frontier)))])
    keep = set(chosen)
    return replace(
        house,
        rooms=tuple(r for r in house.rooms if r.id in keep),
        doors=tuple(d for d in house.doors if set(d.rooms) <= keep and len(d.rooms) == 2),
    )


def simulate_house(house: House, seed: int, scales, renderer=None):
    """One Episode of a ProcTHOR house on the embedded renderer: a walkthrough of `walk_rooms`
    (scales.rooms_min..rooms_max rooms of the house), rendered and annotated with the whole
    house (simulator.simulate with `walk`)."""
    from ..simulator import simulate

    walk = walk_rooms(house, seed, scales.rooms_min, scales.rooms_max)
    return simulate(seed, scales, renderer, house=house, walk=walk)


# ================================================================================== backend
class ProcthorLayouts:
    """Stream backend "procthor-layout": ProcTHOR houses rendered by the embedded pybullet
    renderer. Episode `seed` uses house `seed % len(houses)` and walks scales.rooms_min..rooms_max
    connected rooms of it (walk_rooms). Use as a stream backend with `backend: procthor-layout`
    and `backend_options: {houses: PATH}`."""

    def __init__(
        self, houses: str | os.PathLike | Sequence[Mapping[str, Any]], limit: Optional[int] = None, cache: int = 8
    ):
        self.docs = HouseSource(houses, limit) if isinstance(houses, (str, os.PathLike)) else list(houses)
        if not self.docs:
            raise ProcthorError("houses: no houses")
        self._cache: "OrderedDict[int, House]" = OrderedDict()
        self._cache_size = max(1, int(cache))
        from ..questions import generate

        self.generate = generate

    def __len__(self) -> int:
        return len(self.docs)

    def house(self, seed: int) -> House:
        """The House of episode `seed` (cached, so the renderer reuses its bodies)."""
        i = int(seed) % len(self.docs)
        if i not in self._cache:
            self._cache[i] = house_from_procthor(self.docs[i], seed=i)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(i)
        return self._cache[i]

    def simulate(self, seed: int, scales):
        """Episode `seed`: house `seed % len(houses)`, a walk through scales.rooms_min..rooms_max
        of its rooms (see walk_rooms)."""
        t0 = time.perf_counter()
        house = self.house(seed)
        ep = simulate_house(house, seed, scales)
        ep.timings["house"] = time.perf_counter() - t0 - sum(ep.timings.values())
        return ep


def backend(houses: str, limit: Optional[int] = None) -> ProcthorLayouts:
    """Stream-worker factory (`backend: procthor-layout`, see stream.backends.NAMED_FACTORIES)."""
    return ProcthorLayouts(houses, limit)


def iter_objects(doc: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every object dict of a house, children after their parent."""
    stack: list[Mapping[str, Any]] = list(reversed(doc.get("objects") or []))
    while stack:
        o = stack.pop()
        yield o
        stack.extend(reversed(o.get("children") or []))


__all__ = [
    "house_from_procthor",
    "load_houses",
    "house_files",
    "HouseSource",
    "walk_rooms",
    "simulate_house",
    "compute_walk_hubs",
    "choose_hub",
    "room_grid",
    "room_approaches",
    "open_interior_doors",
    "rotated_footprint",
    "ProcthorLayouts",
    "backend",
    "ProcthorError",
    "iter_objects",
]
