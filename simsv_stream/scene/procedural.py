"""Procedural houses: rectangular rooms attached along shared walls, joined by doors, furnished
from the catalog. `generate_house(seed, scales)` is a pure function of its arguments.

Floor plan. Room types are drawn first (a living room and a kitchen in every house of two
rooms or more), then each room's rectangle (area from its type's range, aspect 1..1.6). Rooms are
attached one at a time along a side of a room already placed, sharing at least a door's width
plus margins of wall, where the house stays most compact; the outline is therefore rectilinear.
Doors form a spanning tree of the adjacencies long enough for a door, spread over the rooms with
floor space for them (bathrooms get one door); they usually sit near a corner.

Furniture. Each room gets a walking hub (see `trajectory`) whose walk envelope leaves space for
the room's anchor piece (sofa, bed, counter, ...) and its essential companions (coffee table,
desk chair, chairs around a table; also a tv stand, nightstands, a run of kitchen units), then
the rest of the room's list (further instances of a category often join the first: rows of
bookshelves or cabinets, pairs of armchairs; see GROUPED); small objects go on surface tops. A
floor-plan occupancy grid holds everything placed plus the walk envelope and door clearances, so
furniture never blocks the walk, the doors or other furniture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np

from ..config import Scales
from .catalog import CATALOG, ROOM_TYPES, CategorySpec
from .model import Door, House, Room, SceneObject, Vec2, Wall
from .walkways import Hub, approach_point, walk_envelope

WALL_HEIGHT = 2.6
WALL_THICKNESS = 0.1
DOOR_WIDTH, DOOR_HEIGHT = 0.9, 2.1
DOOR_END_MARGIN = 0.35  # m of wall kept between a door and the end of the shared wall
DOOR_NEAR_CORNER = 0.75  # probability that a door sits near an end of its wall
MIN_SIDE = 2.4  # m, shortest room side
LEAF_ROOMS = ("bathroom",)  # rooms with a single door
# Extra cost of opening one more door in a room of this type (see _door_tree): bathrooms get
# one door, bedrooms and offices few, so the way through the house runs via the shared rooms.
DOOR_AVERSION = {"bathroom": 100.0, "bedroom": 1.0, "office": 0.5}
AREA_RANGE = {  # m^2, target area drawn per room type
    "living_room": (16.0, 32.0),
    "bedroom": (11.0, 18.0),
    "kitchen": (8.0, 15.0),
    "bathroom": (6.5, 10.0),
    "office": (8.0, 13.0),
    "dining_room": (10.0, 18.0),
}
CAMERA_CLEARANCE = 0.25  # m between the walk envelope and any object (the camera margin, plus slack)
DOOR_CLEAR_DEPTH = 0.85  # m in front of a door kept free, over the door width plus 0.1 each side
DOOR_CLEAR_RADIUS = DOOR_WIDTH / 2 + 0.1
GAP = 0.03  # m between floor objects
WALL_GAP = 0.02  # m between a piece against a wall and the wall
CELL = 0.05  # m, occupancy grid resolution
ANCHOR_TRIES = 40  # hub options tried until the anchor piece fits
PLACE_TRIES = 60  # random spots tried for an ordinary piece

# Anchor piece and the rest of each room type's list: (category, min count, max count).
ANCHOR = {
    "living_room": "sofa",
    "bedroom": "bed",
    "kitchen": "counter",
    "bathroom": "bathtub",
    "office": "desk",
    "dining_room": "dining table",
}
FURNISHING = {
    "living_room": [
        ("armchair", 0, 2),
        ("floor lamp", 1, 3),
        ("plant", 1, 3),
        ("bookshelf", 1, 3),
        ("side table", 0, 2),
        ("cabinet", 0, 2),
        ("stool", 0, 1),
    ],
    "bedroom": [
        ("wardrobe", 0, 2),
        ("dresser", 0, 1),
        ("desk", 0, 1),
        ("tv stand", 0, 1),
        ("floor lamp", 0, 2),
        ("plant", 0, 3),
        ("bookshelf", 0, 2),
        ("armchair", 0, 2),
        ("side table", 0, 1),
    ],
    "kitchen": [
        ("refrigerator", 1, 1),
        ("stove", 1, 1),
        ("sink", 1, 1),
        ("dishwasher", 0, 1),
        ("washer", 0, 1),
        ("counter", 0, 1),
        ("cabinet", 1, 4),
        ("trash can", 1, 1),
        ("dining table", 0, 1),
        ("stool", 0, 3),
    ],
    "bathroom": [("toilet", 1, 1), ("sink", 1, 2), ("cabinet", 1, 2), ("washer", 0, 1), ("trash can", 0, 1)],
    "office": [
        ("bookshelf", 1, 3),
        ("filing cabinet", 1, 3),
        ("cabinet", 0, 2),
        ("armchair", 0, 2),
        ("floor lamp", 0, 2),
        ("plant", 1, 3),
        ("trash can", 0, 1),
    ],
    "dining_room": [
        ("cabinet", 1, 3),
        ("plant", 0, 3),
        ("floor lamp", 0, 2),
        ("bookshelf", 0, 2),
        ("side table", 0, 1),
    ],
}
# Categories whose further instances usually join the first one (a row of bookshelves or cabinets,
# a pair of armchairs or lamps) instead of going anywhere: repeated instances are common in real
# rooms, and counting questions need them.
GROUPED = {
    "bookshelf": 0.85,
    "cabinet": 0.8,
    "filing cabinet": 0.8,
    "wardrobe": 0.8,
    "armchair": 0.7,
    "floor lamp": 0.3,
    "plant": 0.3,
    "stool": 0.7,
    "side table": 0.3,
}
FEATURED = {
    "tv stand": "tv",
    "desk": "monitor",
    "nightstand": "table lamp",
}  # the small object such a surface nearly always has
KITCHEN_RUN = ("counter", "stove", "sink", "dishwasher", "refrigerator", "washer", "cabinet")  # units that line up

Segment = tuple[Vec2, Vec2]

# Unit forward (x, z) of the four yaws 0/90/180/270: an object with yaw 90*k faces _FWD[k], and a
# piece against wall k (0: min z, 1: min x, 2: max z, 3: max x) faces into the room with yaw 90*k.
_FWD = ((0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (-1.0, 0.0))


@dataclass(frozen=True)
class Rect:
    x0: float
    z0: float
    x1: float
    z1: float

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def d(self) -> float:
        return self.z1 - self.z0

    @property
    def polygon(self) -> tuple[Vec2, ...]:
        return ((self.x0, self.z0), (self.x1, self.z0), (self.x1, self.z1), (self.x0, self.z1))

    def shrunk(self, m: float) -> "Rect":
        return Rect(self.x0 + m, self.z0 + m, self.x1 - m, self.z1 - m)


# =============================================================================== floor plan
def _room_types(rng: np.random.Generator, n: int) -> list[str]:
    """A lone room is any type; larger houses have a living room and a kitchen, then a mix."""
    if n == 1:
        return [ROOM_TYPES[int(rng.integers(len(ROOM_TYPES)))]]
    extra = ["bedroom", "bathroom", "office", "dining_room"]
    weights = np.array([3.0, 2.0, 1.0, 1.0])
    return ["living_room", "kitchen"] + [extra[i] for i in rng.choice(4, size=n - 2, p=weights / weights.sum())]


def _room_rect_cm(rng: np.random.Generator, room_type: str) -> tuple[int, int]:
    """(width, depth) in whole 5 cm steps of a room of the type's area range, aspect 1..1.6."""
    area = float(rng.uniform(*AREA_RANGE[room_type])) * 1e4
    long_side = math.sqrt(area * float(rng.uniform(1.0, 1.6)))
    short_side = max(MIN_SIDE * 100, area / long_side)
    dims = [5 * round(long_side / 5), 5 * round(short_side / 5)]
    return (dims[0], dims[1]) if rng.random() < 0.5 else (dims[1], dims[0])


def _attachments(rng: np.random.Generator, placed: list[tuple[int, int, int, int]], w: int, d: int):
    """Positions (x0, z0, x1, z1) in cm for a w x d room against a side of a placed room, sharing
    enough wall for a door with it: each side's two extreme slides and one random slide."""
    need = round((DOOR_WIDTH + 2 * DOOR_END_MARGIN) * 100)
    for x0, z0, x1, z1 in placed:
        for side in range(4):
            lo, hi, span = (z0, z1, d) if side < 2 else (x0, x1, w)
            first, last = lo - span + need, hi - need
            if last < first:
                continue
            for s in {first, last, first + 5 * ((int(rng.integers(first, last + 1)) - first) // 5)}:
                if side == 0:
                    yield (x1, s, x1 + w, s + d)
                elif side == 1:
                    yield (x0 - w, s, x0, s + d)
                elif side == 2:
                    yield (s, z1, s + w, z1 + d)
                else:
                    yield (s, z0 - d, s + w, z0)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _best_attachment(rng: np.random.Generator, placed, parents, w: int, d: int):
    """The free attachment to one of `parents` that grows the house's bounding box least (with
    a little randomness), or None."""
    best = None
    for cand in _attachments(rng, parents, w, d):
        if any(_overlaps(cand, p) for p in placed):
            continue
        box = [
            min(cand[0], *(p[0] for p in placed)),
            min(cand[1], *(p[1] for p in placed)),
            max(cand[2], *(p[2] for p in placed)),
            max(cand[3], *(p[3] for p in placed)),
        ]
        score = (box[2] - box[0]) * (box[3] - box[1]) * float(rng.uniform(1.0, 1.15))
        if best is None or score < best[0]:
            best = (score, cand)
    return best and best[1]


def _grow_plan(rng: np.random.Generator, types: list[str]) -> list[Rect]:
    """Rooms attached one by one to the house so far, where it stays most compact. New rooms
    attach to any room but a bathroom if one has space, else anywhere (the outermost room always
    has a free side), so a bathroom is (almost) never needed to reach another room. Integer
    centimetres keep shared wall coordinates exactly equal."""
    placed: list[tuple[int, int, int, int]] = []
    for room_type in types:
        w, d = _room_rect_cm(rng, room_type)
        if not placed:
            placed.append((0, 0, w, d))
            continue
        tiers = ([p for p, t in zip(placed, types) if t not in LEAF_ROOMS], placed)
        placed.append(next(c for c in (_best_attachment(rng, placed, tier, w, d) for tier in tiers) if c))
    return [Rect(x0 / 100, z0 / 100, x1 / 100, z1 / 100) for x0, z0, x1, z1 in placed]


def _shared_segment(a: Rect, b: Rect) -> Optional[Segment]:
    """The wall segment two rooms share, if any (exact comparisons: coordinates come from whole cm)."""
    for xa, xb in ((a.x1, b.x0), (a.x0, b.x1)):
        if xa == xb and min(a.z1, b.z1) - max(a.z0, b.z0) > 1e-6:
            return (xa, max(a.z0, b.z0)), (xa, min(a.z1, b.z1))
    for za, zb in ((a.z1, b.z0), (a.z0, b.z1)):
        if za == zb and min(a.x1, b.x1) - max(a.x0, b.x0) > 1e-6:
            return (max(a.x0, b.x0), za), (min(a.x1, b.x1), za)
    return None


def _door_tree(rng: np.random.Generator, rects: list[Rect], types: list[str]) -> list[tuple[int, int, Segment]]:
    """Spanning tree over adjacencies long enough for a door, grown from the first room (Prim):
    each step adds the door whose room in the tree has the fewest doors per square metre, plus
    a type aversion (DOOR_AVERSION) and noise. Doors spread over the rooms that have floor
    space for them, and a bathroom gets a single door unless a room was attached to it only."""
    need = DOOR_WIDTH + 2 * DOOR_END_MARGIN
    adjacent: dict[int, list[tuple[int, Segment]]] = {i: [] for i in range(len(rects))}
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            seg = _shared_segment(rects[i], rects[j])
            if seg and math.dist(*seg) >= need - 1e-6:
                adjacent[i].append((j, seg))
                adjacent[j].append((i, seg))
    degree = {0: 0}
    tree = []
    while len(degree) < len(rects):
        options = [(u, v, seg) for u in sorted(degree) for v, seg in adjacent[u] if v not in degree]
        cost = [
            10.0 * (degree[u] + 1) / (rects[u].w * rects[u].d)
            + DOOR_AVERSION.get(types[u], 0.0)
            + float(rng.uniform(0.0, 0.3))
            for u, _, _ in options
        ]
        u, v, seg = options[int(np.argmin(cost))]
        degree[u] += 1
        degree[v] = 1
        tree.append((min(u, v), max(u, v), seg))
    return tree


def _floor_plan(rng: np.random.Generator, types: list[str]):
    """Room rectangles and a door tree (every attached room shares a door-wide wall with the
    room it was attached to, so the door graph is always connected)."""
    rects = _grow_plan(rng, types)
    return rects, _door_tree(rng, rects, types)


def _exterior_pieces(rect: Rect, shared: list[Segment]) -> Iterator[Segment]:
    """The parts of a room's four sides not covered by walls shared with neighbours."""
    sides = [
        ((rect.x0, rect.z0), (rect.x1, rect.z0)),
        ((rect.x1, rect.z0), (rect.x1, rect.z1)),
        ((rect.x1, rect.z1), (rect.x0, rect.z1)),
        ((rect.x0, rect.z1), (rect.x0, rect.z0)),
    ]
    for a, b in sides:
        axis = 0 if a[1] == b[1] else 1  # coordinate that varies along the side
        lo, hi = sorted((a[axis], b[axis]))
        covered = sorted(
            (min(p[axis], q[axis]), max(p[axis], q[axis]))
            for p, q in shared
            if all(abs(pt[1 - axis] - a[1 - axis]) < 1e-9 for pt in (p, q))
        )
        cursor = lo
        for c0, c1 in covered + [(hi, hi)]:
            if c0 - cursor > 1e-6:
                yield ((cursor, a[1]), (c0, a[1])) if axis == 0 else ((a[0], cursor), (a[0], c0))
            cursor = max(cursor, c1)


def _structure(rng: np.random.Generator, rects: list[Rect], types: list[str], tree):
    """Rooms, walls (shared ones once, exterior ones per room) and doors of a floor plan."""
    rooms = tuple(Room(f"r{i}", t, r.polygon) for i, (r, t) in enumerate(zip(rects, types)))
    door_on = {(i, j): seg for i, j, seg in tree}
    walls: list[Wall] = []
    doors: list[Door] = []
    shared_of: dict[int, list[Segment]] = {i: [] for i in range(len(rects))}
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            seg = _shared_segment(rects[i], rects[j])
            if seg is None:
                continue
            shared_of[i].append(seg)
            shared_of[j].append(seg)
            wall_id = f"w{len(walls)}"
            door_ids: tuple[str, ...] = ()
            if (i, j) in door_on:
                door_ids = (f"d{len(doors)}",)
                doors.append(
                    Door(
                        door_ids[0],
                        wall_id,
                        _door_center(rng, seg),
                        DOOR_WIDTH,
                        DOOR_HEIGHT,
                        (rooms[i].id, rooms[j].id),
                    )
                )
            walls.append(
                Wall(wall_id, seg[0], seg[1], WALL_HEIGHT, WALL_THICKNESS, (rooms[i].id, rooms[j].id), door_ids)
            )
    for i, rect in enumerate(rects):
        for a, b in _exterior_pieces(rect, shared_of[i]):
            walls.append(Wall(f"w{len(walls)}", a, b, WALL_HEIGHT, WALL_THICKNESS, (rooms[i].id,)))
    return rooms, tuple(walls), tuple(doors)


def _door_center(rng: np.random.Generator, seg: Segment) -> Vec2:
    """Usually near one end of the shared wall, as in real houses: the way through a room then
    runs along its walls instead of cutting its floor in two."""
    (x0, z0), (x1, z1) = seg
    length = math.dist(seg[0], seg[1])
    margin = DOOR_END_MARGIN + DOOR_WIDTH / 2
    if rng.random() < DOOR_NEAR_CORNER:
        offset = min(margin + float(rng.uniform(0.0, 0.3)), length / 2)
        u = (offset if rng.random() < 0.5 else length - offset) / length
    else:
        u = (margin + float(rng.random()) * max(0.0, length - 2 * margin)) / length
    return (round(x0 + u * (x1 - x0), 3), round(z0 + u * (z1 - z0), 3))


# ================================================================================= furniture
@dataclass
class _Piece:
    """An object while its room is furnished: local size (w, h, d), quarter turns q, centre."""

    id: int
    category: str
    size: tuple[float, float, float]
    q: int
    center: tuple[float, float, float]
    parent: Optional[int] = None

    @property
    def footprint(self) -> tuple[float, float]:
        """World extents along x and z."""
        w, _, d = self.size
        return (d, w) if self.q % 2 else (w, d)

    @property
    def top(self) -> float:
        return self.center[1] + self.size[1] / 2


def _capsule_distance(px: np.ndarray, pz: np.ndarray, a: Vec2, b: Vec2) -> np.ndarray:
    """Distance of grid points to the segment a-b."""
    ax, az = a
    dx, dz = b[0] - ax, b[1] - az
    den = dx * dx + dz * dz
    t = np.clip(((px - ax) * dx + (pz - az) * dz) / den, 0.0, 1.0) if den > 0 else 0.0
    return np.hypot(px - (ax + t * dx), pz - (az + t * dz))


class _Furnisher:
    """Places the objects of one room on an occupancy grid over the room's inner floor. The grid is
    conservative: a cell is marked if any point of it may be taken, and a candidate is rejected
    if any cell it touches is marked, so grid-disjoint shapes are truly disjoint. It marks the
    furniture (plus GAP), the walk envelope and the door clearances."""

    def __init__(self, rng: np.random.Generator, room: Room, rect: Rect, next_id: int):
        self.rng, self.room, self.next_id = rng, room, next_id
        self.inner = rect.shrunk(WALL_THICKNESS / 2)
        self.pieces: list[_Piece] = []
        nx, nz = math.ceil(self.inner.w / CELL), math.ceil(self.inner.d / CELL)
        self.grid = np.zeros((nx, nz), dtype=bool)

    # ---------------------------------------------------------------- grid
    def _cells(self, x0: float, z0: float, x1: float, z1: float) -> tuple[slice, slice]:
        """Grid cells touching the rectangle [x0, x1] x [z0, z1] (clipped to the grid)."""
        i0 = max(0, math.floor((x0 - self.inner.x0) / CELL))
        j0 = max(0, math.floor((z0 - self.inner.z0) / CELL))
        i1 = max(i0, math.ceil((x1 - self.inner.x0) / CELL))
        j1 = max(j0, math.ceil((z1 - self.inner.z0) / CELL))
        return slice(i0, i1), slice(j0, j1)

    def _capsule_cells(self, a: Vec2, b: Vec2, r: float) -> tuple[tuple[slice, slice], np.ndarray]:
        """Window of the grid around a capsule and the mask of its cells that may meet it."""
        win = self._cells(min(a[0], b[0]) - r, min(a[1], b[1]) - r, max(a[0], b[0]) + r, max(a[1], b[1]) + r)
        nx, nz = self.grid.shape
        ix = np.arange(win[0].start, min(win[0].stop, nx))
        iz = np.arange(win[1].start, min(win[1].stop, nz))
        px = self.inner.x0 + (ix[:, None] + 0.5) * CELL
        pz = self.inner.z0 + (iz[None, :] + 0.5) * CELL
        return win, _capsule_distance(px, pz, a, b) <= r + CELL * math.sqrt(0.5)

    def block_capsule(self, a: Vec2, b: Vec2, r: float) -> None:
        win, mask = self._capsule_cells(a, b, r)
        self.grid[win] |= mask

    def fits(self, center: Vec2, extent: Vec2) -> bool:
        x0, x1 = center[0] - extent[0] / 2, center[0] + extent[0] / 2
        z0, z1 = center[1] - extent[1] / 2, center[1] + extent[1] / 2
        inner, eps = self.inner, 1e-9
        if x0 < inner.x0 + WALL_GAP - eps or z0 < inner.z0 + WALL_GAP - eps:
            return False
        if x1 > inner.x1 - WALL_GAP + eps or z1 > inner.z1 - WALL_GAP + eps:
            return False
        return not self.grid[self._cells(x0, z0, x1, z1)].any()

    # ---------------------------------------------------------------- pieces
    def draw_size(self, category: str) -> tuple[float, float, float]:
        spec = CATALOG[category]
        return tuple(round(float(self.rng.uniform(*r)), 3) for r in (spec.width, spec.height, spec.depth))

    def try_floor_piece(self, category: str, size, q: int, center: Vec2) -> Optional[_Piece]:
        """Add a floor-standing piece if it fits; block its footprint plus GAP."""
        extent = (size[2], size[0]) if q % 2 else (size[0], size[2])
        if not self.fits(center, extent):
            return None
        piece = self._add(category, size, q, (center[0], self.room.floor_y + size[1] / 2, center[1]))
        hx, hz = extent[0] / 2 + GAP, extent[1] / 2 + GAP
        self.grid[self._cells(center[0] - hx, center[1] - hz, center[0] + hx, center[1] + hz)] = True
        return piece

    def _add(self, category: str, size, q: int, center, parent: Optional[int] = None) -> _Piece:
        piece = _Piece(self.next_id, category, size, q, center, parent)
        self.next_id += 1
        self.pieces.append(piece)
        return piece

    def wall_center(self, k: int, along: float, size, offset: float = WALL_GAP) -> Vec2:
        """Centre of a piece with its back `offset` from wall k, centred at `along` on that wall."""
        d = size[2]
        inner = self.inner
        if k == 0:
            return (along, inner.z0 + offset + d / 2)
        if k == 1:
            return (inner.x0 + offset + d / 2, along)
        if k == 2:
            return (along, inner.z1 - offset - d / 2)
        return (inner.x1 - offset - d / 2, along)

    def random_along(self, k: int, width: float) -> float:
        lo, hi = (self.inner.x0, self.inner.x1) if k % 2 == 0 else (self.inner.z0, self.inner.z1)
        return float(self.rng.uniform(lo + width / 2, max(lo + width / 2, hi - width / 2)))

    def wall_slots(self, walls, width: float) -> list[tuple[int, float]]:
        """(wall, position along it) every 10 cm along the given walls, in random order."""
        slots = []
        phase = float(self.rng.uniform(0.0, 0.1))
        for k in walls:
            lo, hi = (self.inner.x0, self.inner.x1) if k % 2 == 0 else (self.inner.z0, self.inner.z1)
            slots += [(k, float(a)) for a in np.arange(lo + width / 2 + phase, hi - width / 2, 0.1)]
        return [slots[i] for i in self.rng.permutation(len(slots))]

    def spots(self, category: str, size, exhaustive: bool) -> Iterator[tuple[int, Vec2]]:
        """Candidate (quarter turns, centre) for a piece: against a wall, back to it (every 10 cm
        slot if exhaustive); floor pieces mostly near a wall facing in, else anywhere."""
        if CATALOG[category].placement == "against_wall":
            for k, along in self.wall_slots((0, 1, 2, 3), size[0])[: None if exhaustive else PLACE_TRIES]:
                yield k, self.wall_center(k, along, size)
            return
        for _ in range(PLACE_TRIES * (4 if exhaustive else 1)):
            k = int(self.rng.integers(4))
            if self.rng.random() < 0.6:
                yield k, self.wall_center(k, self.random_along(k, size[0]), size, float(self.rng.uniform(0.05, 0.3)))
            else:
                yield (
                    k,
                    (
                        float(self.rng.uniform(self.inner.x0, self.inner.x1)),
                        float(self.rng.uniform(self.inner.z0, self.inner.z1)),
                    ),
                )

    def place(self, category: str, anchor: bool = False) -> Optional[_Piece]:
        """Place one piece, then its companions. An anchor is tried at every spot until its
        essential companions fit too (the grid is rolled back after a spot that fails)."""
        if category in KITCHEN_RUN and self.run_units():
            return self.place_in_run(category)
        size = self.draw_size(category)
        for q, center in self.spots(category, size, exhaustive=anchor):
            saved = (self.grid.copy(), len(self.pieces), self.next_id) if anchor else None
            piece = self.try_floor_piece(category, size, q, center)
            if piece is None:
                continue
            if self.companions(piece) or not anchor:
                return piece
            self.grid, self.next_id = saved[0], saved[2]
            del self.pieces[saved[1] :]
        return None

    def place_another(self, category: str) -> Optional[_Piece]:
        """Place one more piece of a category; with probability GROUPED[category] next to an
        instance already in the room (same wall and facing), else as `place`."""
        same = [p for p in self.pieces if p.category == category and p.parent is None]
        if same and self.rng.random() < GROUPED.get(category, 0.0):
            size = self.draw_size(category)
            for base in [same[int(i)] for i in self.rng.permutation(len(same))]:
                for side in (-1, 1) if self.rng.random() < 0.5 else (1, -1):
                    piece = self.beside(base, category, side, size)
                    if piece:
                        return piece
        return self.place(category)

    # ---------------------------------------------------------------- relative placement
    @staticmethod
    def relative(base: _Piece, forward: float, lateral: float) -> Vec2:
        """Point `forward` metres along base's facing and `lateral` along its local +x from its centre."""
        fx, fz = _FWD[base.q]
        lx, lz = _FWD[(base.q + 1) % 4]
        return (base.center[0] + forward * fx + lateral * lx, base.center[2] + forward * fz + lateral * lz)

    def beside(self, base: _Piece, category: str, side: int, size=None) -> Optional[_Piece]:
        """Same wall and facing as `base`, backs aligned, to its left (-1) or right (+1)."""
        size = size or self.draw_size(category)
        gap = GAP + 0.02
        center = self.relative(base, (size[2] - base.size[2]) / 2, side * ((base.size[0] + size[0]) / 2 + gap))
        return self.try_floor_piece(category, size, base.q, center)

    def in_front(self, base: _Piece, category: str, gap: float, facing_base: bool) -> Optional[_Piece]:
        """`gap` metres in front of `base`, centred on it, facing it or the same way."""
        size = self.draw_size(category)
        center = self.relative(base, base.size[2] / 2 + gap + size[2] / 2, 0.0)
        return self.try_floor_piece(category, size, (base.q + 2) % 4 if facing_base else base.q, center)

    def run_units(self) -> list[_Piece]:
        return [p for p in self.pieces if p.category in KITCHEN_RUN]

    def place_in_run(self, category: str) -> Optional[_Piece]:
        """Kitchen units line up along the walls next to the units already there."""
        size = self.draw_size(category)
        for base in self.run_units():
            for side in (-1, 1):
                piece = self.beside(base, category, side, size)
                if piece:
                    return piece
        for q, center in self.spots(category, size, exhaustive=False):
            piece = self.try_floor_piece(category, size, q, center)
            if piece:
                return piece
        return None

    def companions(self, piece: _Piece) -> bool:
        """Pieces that go with `piece`; False if an essential one (the sofa's coffee table, the
        desk's chair, two chairs at a dining table) does not fit."""
        cat, rng = piece.category, self.rng
        if cat == "sofa":
            table = self.in_front(piece, "coffee table", float(rng.uniform(0.35, 0.5)), facing_base=False)
            self.facing_wall_piece(piece, "tv stand")
            if table is not None and rng.random() < 0.7:
                self.seats_at_ends(table, "armchair", 0.8)
            if rng.random() < 0.5:
                for side in (-1, 1):
                    if rng.random() < 0.8:
                        self.beside(piece, "side table", side)
            return table is not None
        if cat == "bed":
            for side in (-1, 1):
                if rng.random() < 0.92:
                    self.beside(piece, "nightstand", side)
        elif cat == "desk":
            chair = "office chair" if self.room.type == "office" else "chair"
            return self.in_front(piece, chair, float(rng.uniform(0.05, 0.2)), facing_base=True) is not None
        elif cat == "dining table":
            return self.chairs_around(piece) >= 2
        return True

    def facing_wall_piece(self, base: _Piece, category: str) -> Optional[_Piece]:
        """A piece against the wall `base` faces, facing it (a tv stand across from the sofa),
        opposite `base` if possible."""
        size = self.draw_size(category)
        k = (base.q + 2) % 4
        along = base.center[0] if k % 2 == 0 else base.center[2]
        alongs = [along] + [a for _, a in self.wall_slots([k], size[0])[:PLACE_TRIES]]
        for a in alongs:
            piece = self.try_floor_piece(category, size, k, self.wall_center(k, a, size))
            if piece:
                return piece
        return None

    def seats_at_ends(self, table: _Piece, category: str, p: float) -> int:
        """Seats at both ends of `table` (armchairs around a coffee table), facing it; how many fit."""
        placed = 0
        for side in (-1, 1):
            if self.rng.random() < p:
                size = self.draw_size(category)
                center = self.relative(table, 0.0, side * (table.size[0] / 2 + 0.25 + size[2] / 2))
                placed += (
                    self.try_floor_piece(category, size, (table.q + (3 if side > 0 else 1)) % 4, center) is not None
                )
        return placed

    def chairs_around(self, table: _Piece) -> int:
        """Chairs along both long sides (and at the ends of a long table), facing it; how many fit."""
        w, _, d = table.size
        per_side = max(1, int(w // 0.6))
        placed = 0
        for i in range(per_side):
            lateral = (i + 0.5) * w / per_side - w / 2
            for front in (True, False):
                if self.rng.random() < 0.85:
                    size = self.draw_size("chair")
                    sign = 1 if front else -1
                    center = self.relative(table, sign * (d / 2 + 0.08 + size[2] / 2), lateral)
                    q = (table.q + (2 if front else 0)) % 4
                    placed += self.try_floor_piece("chair", size, q, center) is not None
        if w >= 1.4:  # one chair at each end
            for side in (-1, 1):
                if self.rng.random() < 0.6:
                    size = self.draw_size("chair")
                    center = self.relative(table, 0.0, side * (w / 2 + 0.08 + size[2] / 2))
                    placed += (
                        self.try_floor_piece("chair", size, (table.q + (3 if side > 0 else 1)) % 4, center) is not None
                    )
        return placed

    # ---------------------------------------------------------------- small objects
    def place_small_objects(self) -> None:
        for parent in [p for p in self.pieces if CATALOG[p.category].surface]:
            fx, fz = parent.footprint
            cap = int(np.clip(round(fx * fz / 0.12), 1, 6))
            if self.rng.random() < 0.9:
                self.place_children(parent, int(self.rng.integers(max(1, cap // 2), cap + 1)))

    def place_children(self, parent: _Piece, count: int) -> None:
        """`count` small objects on `parent`, its featured object (tv on a tv stand, ...) first."""
        options = [
            s
            for s in CATALOG.values()
            if s.placement == "surface" and parent.category in s.on and self.room.type in s.rooms
        ]
        taken: list[tuple[float, float, float, float]] = []
        featured = [s for s in options if s.name == FEATURED.get(parent.category)]
        for spec in featured:
            self.place_child(parent, spec, taken)
        for _ in range(count - len(featured)):
            usable = [
                s
                for s in options
                if sum(c.category == s.name for c in self.pieces if c.parent == parent.id) < s.max_per_parent
            ]
            if not usable:
                return
            spec = usable[int(self.rng.integers(len(usable)))]
            self.place_child(parent, spec, taken)

    def place_child(self, parent: _Piece, spec: CategorySpec, taken: list) -> None:
        """A small object resting on the parent's top, inside its top face, apart from siblings."""
        size = self.draw_size(spec.name)
        ex, ez = (size[2], size[0]) if parent.q % 2 else (size[0], size[2])
        px, pz = parent.footprint
        room_x, room_z = px - ex - 0.04, pz - ez - 0.04
        if room_x < 0 or room_z < 0:
            return
        for _ in range(10):
            cx = parent.center[0] + float(self.rng.uniform(-room_x / 2, room_x / 2))
            cz = parent.center[2] + float(self.rng.uniform(-room_z / 2, room_z / 2))
            box = (cx - ex / 2, cz - ez / 2, cx + ex / 2, cz + ez / 2)
            if all(
                box[2] + 0.02 <= t[0] or t[2] + 0.02 <= box[0] or box[3] + 0.02 <= t[1] or t[3] + 0.02 <= box[1]
                for t in taken
            ):
                taken.append(box)
                self._add(spec.name, size, parent.q, (cx, parent.top + size[1] / 2, cz), parent.id)
                return


@dataclass(frozen=True)
class _RoomAccess:
    """What the walk needs of one room: its doors, their approach points and clearances."""

    room: Room
    doors: list[Door]
    walls: tuple[Wall, ...]
    approaches: list[Vec2]
    door_clear: list[tuple[Vec2, Vec2, float]]  # capsules in front of each door, kept free

    @classmethod
    def of(cls, room: Room, walls: tuple[Wall, ...], doors: tuple[Door, ...]) -> "_RoomAccess":
        room_doors = [d for d in doors if room.id in d.rooms]
        wall_of = {w.id: w for w in walls}
        approaches = [approach_point(d, wall_of[d.wall], room) for d in room_doors]
        clear = []
        for d, a in zip(room_doors, approaches):
            k = (DOOR_CLEAR_DEPTH - DOOR_CLEAR_RADIUS) / math.dist(a, d.center)  # the round end reaches the depth
            far = (d.center[0] + (a[0] - d.center[0]) * k, d.center[1] + (a[1] - d.center[1]) * k)
            clear.append((d.center, far, DOOR_CLEAR_RADIUS))
        return cls(room, room_doors, walls, approaches, clear)

    def envelope(self, hub: Hub) -> list[tuple[Vec2, Vec2, float]]:
        """Walk envelope of this room around `hub`, grown by the camera clearance."""
        return [
            (a, b, r + CAMERA_CLEARANCE)
            for a, b, r in walk_envelope([self.room], self.walls, self.doors, {self.room.id: hub})
        ]


def _hub_options(rng: np.random.Generator, inner: Rect, access: _RoomAccess, radius: float) -> list[Hub]:
    """Up to ANCHOR_TRIES hubs: the one nearest the room centre, then others at random. A hub's
    circle (plus the camera clearance) stays off the walls and far enough from the doors'
    approach points for the tangent lines. If no point qualifies, the room centre with the
    circle shrunk to fit (rooms are >= MIN_SIDE wide, so it keeps >= 0.3 m)."""
    margin = radius + CAMERA_CLEARANCE + 0.05
    centre = np.array([(inner.x0 + inner.x1) / 2, (inner.z0 + inner.z1) / 2])
    pts = np.zeros((0, 2))
    if min(inner.w, inner.d) >= 2 * margin:
        xs = np.linspace(inner.x0 + margin, inner.x1 - margin, max(2, int((inner.w - 2 * margin) / 0.2) + 1))
        zs = np.linspace(inner.z0 + margin, inner.z1 - margin, max(2, int((inner.d - 2 * margin) / 0.2) + 1))
        pts = np.stack(np.meshgrid(xs, zs, indexing="ij"), axis=-1).reshape(-1, 2)
        for a in access.approaches:
            pts = pts[np.hypot(pts[:, 0] - a[0], pts[:, 1] - a[1]) >= radius + 0.4]
    if len(pts) == 0:
        nearest = min((math.dist(centre, a) for a in access.approaches), default=math.inf)
        return [Hub((round(float(centre[0]), 3), round(float(centre[1]), 3)), min(radius, nearest - 0.25))]
    first = int(np.argmin(np.linalg.norm(pts - centre, axis=1)))
    others = [i for i in rng.permutation(len(pts)) if i != first]
    return [
        Hub((round(float(pts[i, 0]), 3), round(float(pts[i, 1]), 3)), radius)
        for i in [first] + others[: ANCHOR_TRIES - 1]
    ]


def _furnish(rng: np.random.Generator, room: Room, rect: Rect, walls, doors, next_id: int):
    """(pieces, hub) of one room: the first hub option that leaves space for the room's anchor
    piece, the anchor with its companions, then the room's list and small objects."""
    access = _RoomAccess.of(room, walls, doors)
    radius = round(float(np.clip(0.15 * min(rect.w, rect.d) - 0.1, 0.3, 0.55)), 3)
    options = _hub_options(rng, rect.shrunk(WALL_THICKNESS / 2), access, radius)
    for hub in options + [options[0]]:  # the last round keeps the first hub, anchor or not
        furnisher = _Furnisher(rng, room, rect, next_id)
        for cap in access.door_clear + access.envelope(hub):
            furnisher.block_capsule(*cap)
        if furnisher.place(ANCHOR[room.type], anchor=True):
            break
    for category, lo, hi in FURNISHING[room.type]:
        for _ in range(int(rng.integers(lo, hi + 1))):
            furnisher.place_another(category)
    furnisher.place_small_objects()
    return furnisher.pieces, hub


def _scene_object(p: _Piece, room_id: str) -> SceneObject:
    fx, fz = p.footprint
    return SceneObject(
        p.id, p.category, p.center, (fx, p.size[1], fz), 90.0 * p.q, room_id, p.parent, CATALOG[p.category].shape
    )


def generate_house(seed: int, scales: Scales) -> House:
    """A furnished house with scales.rooms_min..rooms_max rooms; a pure function of (seed, scales)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed % 2**64, 0x4005E]))  # any int seed
    n_rooms = int(rng.integers(scales.rooms_min, scales.rooms_max + 1))
    types = _room_types(rng, n_rooms)
    rects, tree = _floor_plan(rng, types)
    rooms, walls, doors = _structure(rng, rects, types, tree)
    objects: list[SceneObject] = []
    hubs: dict[str, tuple[float, float, float]] = {}
    for room, rect in zip(rooms, rects):
        pieces, hub = _furnish(rng, room, rect, walls, doors, len(objects) + 1)
        objects += [_scene_object(p, room.id) for p in pieces]
        hubs[room.id] = (hub.center[0], hub.center[1], hub.radius)
    return House(
        seed=seed,
        rooms=rooms,
        walls=walls,
        doors=doors,
        objects=tuple(objects),
        wall_height=WALL_HEIGHT,
        source="procedural",
        meta={"walk_hubs": hubs},
    )
