"""Catalog of everyday object categories: realistic sizes, where they go, colour and part boxes.

Sizes are in metres in the object's local frame: width along local x, height along y, depth
along local z. The local front faces +z, so an object with yaw 0 shows its front to +z and its
back to -z (yaw follows CameraPose: 0 = +z, 90 = +x). Objects are only ever rotated by multiples
of 90 degrees, so the world box of an object is exact: width and depth swap at 90/270.

A *surface* category carries small objects on its top face (the top of its box), so a child
rests on the parent's box and never inside it.

Public API used by the generator and the renderer: `CATALOG`, `parts(obj)`, `color(category)`,
`surface_height(obj)`.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass
from itertools import product
from typing import Callable

from .model import SceneObject, Vec3

Range = tuple[float, float]
LocalBox = tuple[Vec3, Vec3]  # (centre, size) in the local frame, y measured from the object's bottom

ROOM_TYPES = ("living_room", "bedroom", "kitchen", "bathroom", "office", "dining_room")

_ALL = ROOM_TYPES
_LIVING, _BED, _KITCHEN, _BATH, _OFFICE, _DINING = ROOM_TYPES


@dataclass(frozen=True)
class CategorySpec:
    name: str  # lower case with spaces, as it appears in question text
    width: Range  # local x extent (m)
    height: Range  # y extent (m)
    depth: Range  # local z extent (m)
    placement: str  # "floor", "against_wall" (back to a wall) or "surface" (on a parent)
    rooms: tuple[str, ...]  # room types it appears in
    surface: bool = False  # small objects may rest on its top face
    on: tuple[str, ...] = ()  # placement "surface": the categories it may rest on
    max_per_parent: int = 3  # placement "surface": at most this many on one parent
    shape: str = "box"  # part decomposition, see _SHAPES


def _spec(name, w, h, d, placement, rooms, **kw) -> CategorySpec:
    return CategorySpec(name, w, h, d, placement, tuple(rooms), **kw)


_TABLES = ("dining table", "coffee table", "side table", "desk")
_COUNTERS = ("counter", "cabinet")
_BEDSIDE = ("nightstand", "dresser")

_SPECS = [
    # --- large furniture
    _spec("bed", (1.4, 1.9), (0.9, 1.2), (1.95, 2.15), "against_wall", [_BED], shape="bed"),
    _spec("sofa", (1.6, 2.3), (0.8, 0.95), (0.85, 1.0), "against_wall", [_LIVING], shape="sofa"),
    _spec("armchair", (0.7, 0.95), (0.8, 1.0), (0.75, 0.95), "floor", [_LIVING, _BED, _OFFICE], shape="sofa"),
    _spec("chair", (0.42, 0.5), (0.8, 0.95), (0.45, 0.55), "floor", [_DINING, _KITCHEN, _BED], shape="chair"),
    _spec("office chair", (0.55, 0.65), (0.95, 1.2), (0.55, 0.65), "floor", [_OFFICE], shape="chair"),
    _spec("stool", (0.35, 0.45), (0.45, 0.75), (0.35, 0.45), "floor", [_KITCHEN, _LIVING], shape="table"),
    _spec(
        "dining table", (1.2, 1.8), (0.72, 0.78), (0.8, 1.0), "floor", [_DINING, _KITCHEN], surface=True, shape="table"
    ),
    _spec("coffee table", (0.9, 1.2), (0.38, 0.48), (0.5, 0.7), "floor", [_LIVING], surface=True, shape="table"),
    _spec("side table", (0.4, 0.6), (0.5, 0.65), (0.4, 0.6), "floor", [_LIVING, _BED], surface=True, shape="table"),
    _spec("desk", (1.0, 1.6), (0.72, 0.76), (0.55, 0.75), "against_wall", [_OFFICE, _BED], surface=True, shape="table"),
    _spec("tv stand", (1.2, 1.8), (0.45, 0.6), (0.4, 0.5), "against_wall", [_LIVING, _BED], surface=True),
    _spec("refrigerator", (0.6, 0.9), (1.7, 1.9), (0.65, 0.75), "against_wall", [_KITCHEN]),
    _spec("stove", (0.6, 0.76), (0.85, 0.95), (0.6, 0.65), "against_wall", [_KITCHEN]),
    _spec("dishwasher", (0.58, 0.6), (0.82, 0.87), (0.57, 0.6), "against_wall", [_KITCHEN]),
    _spec("washer", (0.58, 0.6), (0.84, 0.87), (0.55, 0.62), "against_wall", [_BATH, _KITCHEN]),
    _spec("counter", (1.2, 2.4), (0.88, 0.92), (0.6, 0.65), "against_wall", [_KITCHEN], surface=True),
    _spec("sink", (0.5, 0.8), (0.8, 0.9), (0.45, 0.55), "against_wall", [_BATH, _KITCHEN], surface=True),
    _spec("toilet", (0.36, 0.42), (0.7, 0.8), (0.65, 0.72), "against_wall", [_BATH], shape="toilet"),
    _spec("bathtub", (1.5, 1.7), (0.5, 0.6), (0.7, 0.8), "against_wall", [_BATH]),
    _spec(
        "cabinet",
        (0.8, 1.2),
        (0.85, 0.95),
        (0.45, 0.6),
        "against_wall",
        [_KITCHEN, _LIVING, _OFFICE, _DINING, _BATH],
        surface=True,
    ),
    _spec("dresser", (1.0, 1.5), (0.8, 1.0), (0.45, 0.55), "against_wall", [_BED], surface=True),
    _spec("nightstand", (0.4, 0.55), (0.5, 0.65), (0.35, 0.45), "against_wall", [_BED], surface=True),
    _spec("wardrobe", (1.0, 1.8), (1.9, 2.2), (0.55, 0.65), "against_wall", [_BED]),
    _spec("bookshelf", (0.8, 1.2), (1.5, 2.0), (0.28, 0.38), "against_wall", [_LIVING, _OFFICE, _BED]),
    _spec("filing cabinet", (0.4, 0.5), (0.7, 1.3), (0.55, 0.65), "against_wall", [_OFFICE], surface=True),
    _spec("floor lamp", (0.3, 0.45), (1.5, 1.8), (0.3, 0.45), "floor", [_LIVING, _BED, _OFFICE], shape="lamp"),
    _spec("plant", (0.35, 0.6), (0.7, 1.5), (0.35, 0.6), "floor", [_LIVING, _OFFICE, _DINING, _BED], shape="potted"),
    _spec("trash can", (0.25, 0.35), (0.4, 0.65), (0.25, 0.35), "floor", [_KITCHEN, _BATH, _OFFICE]),
    # --- small objects on surfaces
    _spec(
        "tv",
        (0.9, 1.45),
        (0.55, 0.85),
        (0.06, 0.1),
        "surface",
        [_LIVING, _BED],
        on=("tv stand", "dresser"),
        max_per_parent=1,
    ),
    _spec("monitor", (0.5, 0.7), (0.35, 0.5), (0.15, 0.22), "surface", [_OFFICE, _BED], on=("desk",), max_per_parent=1),
    _spec(
        "laptop",
        (0.3, 0.38),
        (0.2, 0.25),
        (0.22, 0.26),
        "surface",
        [_OFFICE, _BED, _LIVING],
        on=("desk", "coffee table", "dining table"),
        max_per_parent=1,
    ),
    _spec("keyboard", (0.4, 0.45), (0.02, 0.04), (0.12, 0.15), "surface", [_OFFICE], on=("desk",), max_per_parent=1),
    _spec("microwave", (0.45, 0.55), (0.26, 0.32), (0.35, 0.4), "surface", [_KITCHEN], on=_COUNTERS, max_per_parent=1),
    _spec("toaster", (0.25, 0.3), (0.18, 0.22), (0.15, 0.2), "surface", [_KITCHEN], on=("counter",), max_per_parent=1),
    _spec("kettle", (0.2, 0.25), (0.2, 0.28), (0.15, 0.2), "surface", [_KITCHEN], on=("counter",), max_per_parent=1),
    _spec(
        "table lamp",
        (0.2, 0.35),
        (0.35, 0.55),
        (0.2, 0.35),
        "surface",
        [_BED, _LIVING, _OFFICE],
        on=("nightstand", "side table", "desk", "dresser"),
        max_per_parent=1,
        shape="lamp",
    ),
    _spec("alarm clock", (0.1, 0.15), (0.06, 0.1), (0.05, 0.08), "surface", [_BED], on=_BEDSIDE, max_per_parent=1),
    _spec(
        "book",
        (0.15, 0.25),
        (0.02, 0.05),
        (0.2, 0.3),
        "surface",
        [_LIVING, _BED, _OFFICE],
        on=("desk", "coffee table", "side table", "nightstand", "dresser", "filing cabinet", "cabinet"),
    ),
    _spec(
        "cup",
        (0.07, 0.09),
        (0.09, 0.11),
        (0.07, 0.09),
        "surface",
        [_KITCHEN, _DINING, _OFFICE, _LIVING, _BATH],
        on=_TABLES + _COUNTERS + ("sink",),
    ),
    _spec(
        "bowl",
        (0.14, 0.22),
        (0.06, 0.09),
        (0.14, 0.22),
        "surface",
        [_KITCHEN, _DINING],
        on=("dining table", "counter", "coffee table"),
    ),
    _spec(
        "plate",
        (0.22, 0.27),
        (0.02, 0.03),
        (0.22, 0.27),
        "surface",
        [_KITCHEN, _DINING],
        on=("dining table", "counter"),
        max_per_parent=4,
    ),
    _spec(
        "bottle",
        (0.06, 0.08),
        (0.2, 0.32),
        (0.06, 0.08),
        "surface",
        [_KITCHEN, _DINING, _BATH],
        on=("counter", "dining table", "cabinet", "sink"),
    ),
    _spec(
        "vase",
        (0.12, 0.2),
        (0.2, 0.4),
        (0.12, 0.2),
        "surface",
        [_LIVING, _DINING, _BED],
        on=("dining table", "coffee table", "side table", "dresser", "cabinet", "tv stand"),
        max_per_parent=1,
    ),
    _spec(
        "potted plant",
        (0.15, 0.25),
        (0.2, 0.4),
        (0.15, 0.25),
        "surface",
        _ALL,
        on=("desk", "side table", "cabinet", "dresser", "counter", "tv stand", "filing cabinet"),
        max_per_parent=1,
        shape="potted",
    ),
]

CATALOG: dict[str, CategorySpec] = {s.name: s for s in _SPECS}


# ------------------------------------------------------------------------------- part shapes
# Each shape maps the local size (w, h, d) to boxes in the local frame, all inside the local box
# [-w/2, w/2] x [0, h] x [-d/2, d/2]. The first box is the main body (the renderer draws it in
# the category colour and the others a little darker).
def _table(w: float, h: float, d: float) -> list[LocalBox]:
    top = min(0.05, 0.12 * h)
    leg = min(0.06, 0.15 * min(w, d))
    boxes = [((0.0, h - top / 2, 0.0), (w, top, d))]
    for sx, sz in product((-1, 1), (-1, 1)):
        boxes.append(((sx * (w - leg) / 2, (h - top) / 2, sz * (d - leg) / 2), (leg, h - top, leg)))
    return boxes


def _chair(w: float, h: float, d: float) -> list[LocalBox]:
    seat_top, seat, back, leg = 0.48 * h, 0.05, 0.06, min(0.045, 0.12 * w)
    boxes = [
        ((0.0, seat_top - seat / 2, 0.0), (w, seat, d)),
        ((0.0, (seat_top + h) / 2, (back - d) / 2), (w, h - seat_top, back)),
    ]
    for sx, sz in product((-1, 1), (-1, 1)):
        boxes.append(((sx * (w - leg) / 2, (seat_top - seat) / 2, sz * (d - leg) / 2), (leg, seat_top - seat, leg)))
    return boxes


def _bed(w: float, h: float, d: float) -> list[LocalBox]:
    base, head = min(0.55, 0.55 * h), 0.08
    return [((0.0, base / 2, head / 2), (w, base, d - head)), ((0.0, h / 2, (head - d) / 2), (w, h, head))]


def _sofa(w: float, h: float, d: float) -> list[LocalBox]:
    seat, arm, back = 0.45, min(0.2, 0.18 * w), min(0.25, 0.25 * d)
    arm_h = min(h, 0.65)
    inner = w - 2 * arm
    boxes = [
        ((0.0, seat / 2, back / 2), (inner, seat, d - back)),
        ((0.0, h / 2, (back - d) / 2), (inner, h, back)),
    ]
    for sx in (-1, 1):
        boxes.append(((sx * (w - arm) / 2, arm_h / 2, 0.0), (arm, arm_h, d)))
    return boxes


def _lamp(w: float, h: float, d: float) -> list[LocalBox]:
    shade, base, pole = 0.3 * h, 0.04 * h, max(0.02, 0.1 * min(w, d))
    return [
        ((0.0, h - shade / 2, 0.0), (w, shade, d)),
        ((0.0, base + (h - shade - base) / 2, 0.0), (pole, h - shade - base, pole)),
        ((0.0, base / 2, 0.0), (0.6 * w, base, 0.6 * d)),
    ]


def _toilet(w: float, h: float, d: float) -> list[LocalBox]:
    tank, bowl_h = 0.22 * d, min(h, 0.42)
    return [((0.0, bowl_h / 2, tank / 2), (0.9 * w, bowl_h, d - tank)), ((0.0, h / 2, (tank - d) / 2), (w, h, tank))]


def _potted(w: float, h: float, d: float) -> list[LocalBox]:
    pot = 0.3 * h
    return [((0.0, pot + (h - pot) / 2, 0.0), (w, h - pot, d)), ((0.0, pot / 2, 0.0), (0.6 * w, pot, 0.6 * d))]


def _box(w: float, h: float, d: float) -> list[LocalBox]:
    return [((0.0, h / 2, 0.0), (w, h, d))]


_SHAPES: dict[str, Callable[[float, float, float], list[LocalBox]]] = {
    "box": _box,
    "table": _table,
    "chair": _chair,
    "bed": _bed,
    "sofa": _sofa,
    "lamp": _lamp,
    "toilet": _toilet,
    "potted": _potted,
}

# (cos, sin) of the four allowed yaws, exact so rotated parts stay exactly inside the box.
_QUARTER_TURNS = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))


def quarter_turns(yaw_deg: float) -> int:
    """0..3 for yaw 0/90/180/270 (the only yaws the catalog's objects use)."""
    return int(round(yaw_deg / 90.0)) % 4


def local_size(obj: SceneObject) -> Vec3:
    """(width, height, depth) of an object in its own frame, undoing the width/depth swap of yaw."""
    sx, sy, sz = obj.size
    return (sz, sy, sx) if quarter_turns(obj.yaw_deg) % 2 else (sx, sy, sz)


def parts(obj: SceneObject) -> list[tuple[Vec3, Vec3]]:
    """World-space axis-aligned boxes (centre, size) composing `obj`, all inside its box.
    Unknown categories (e.g. from another backend) are a single box."""
    spec = CATALOG.get(obj.category)
    shape = _SHAPES[spec.shape] if spec else _box
    w, h, d = local_size(obj)
    cos, sin = _QUARTER_TURNS[quarter_turns(obj.yaw_deg)]
    cx, y0, cz = obj.center[0], obj.center[1] - obj.size[1] / 2, obj.center[2]
    out = []
    for (lx, ly, lz), (pw, ph, pd) in shape(w, h, d):
        # local +z turns towards +x with yaw: x = lx cos + lz sin, z = -lx sin + lz cos
        center = (cx + lx * cos + lz * sin, y0 + ly, cz - lx * sin + lz * cos)
        size = (pd, ph, pw) if sin else (pw, ph, pd)
        out.append((center, size))
    return out


def surface_height(obj: SceneObject) -> float:
    """Height (world y) where children of a surface object rest: the top of its box."""
    return obj.center[1] + obj.size[1] / 2


# ----------------------------------------------------------------------------------- colours
def _distinct_palette(n: int) -> list[tuple[float, float, float]]:
    """n colours spread as far apart as possible (greedy farthest point) over saturated RGB
    colours, so categories read apart from each other and from the grey/beige walls."""
    levels = [i / 5 for i in range(6)]
    candidates = [c for c in product(levels, repeat=3) if max(c) - min(c) >= 0.4 and max(c) >= 0.5]
    chosen = [candidates[len(candidates) // 2]]
    dist = [sum((a - b) ** 2 for a, b in zip(c, chosen[0])) for c in candidates]
    while len(chosen) < n:
        i = max(range(len(candidates)), key=dist.__getitem__)
        chosen.append(candidates[i])
        dist = [min(dv, sum((a - b) ** 2 for a, b in zip(c, candidates[i]))) for dv, c in zip(dist, candidates)]
    return chosen


_COLORS: dict[str, tuple[float, float, float]] = dict(zip(CATALOG, _distinct_palette(len(CATALOG))))


def color(category: str) -> tuple[float, float, float]:
    """RGB in 0..1 of a category; categories outside the catalog (another backend's object types)
    get a stable colour derived from the name."""
    if category in _COLORS:
        return _COLORS[category]
    h = int(hashlib.sha1(category.encode()).hexdigest()[:8], 16)
    return colorsys.hsv_to_rgb((h % 360) / 360.0, 0.6, 0.75)
