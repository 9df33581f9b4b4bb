"""Procedural houses and the object catalog: every geometric claim is re-checked here from the
House itself (plain numpy / BFS), never through the generator's own helpers."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsv_stream.config import ConfigError, Scales
from simsv_stream.scene.catalog import CATALOG, ROOM_TYPES, color, parts
from simsv_stream.scene.model import House, SceneObject
from simsv_stream.scene.procedural import generate_house

TOL = 1e-6
WALL_HALF = 0.05


def house(seed: int, lo: int = 1, hi: int = 3) -> House:
    return generate_house(seed, Scales(rooms_min=lo, rooms_max=hi))


def rect_of(room) -> tuple[float, float, float, float]:
    """(x0, z0, x1, z1) of an axis-aligned rectangular room, asserting it is one."""
    xs = sorted({p[0] for p in room.polygon})
    zs = sorted({p[1] for p in room.polygon})
    assert len(room.polygon) == 4 and len(xs) == 2 and len(zs) == 2, room.polygon
    return xs[0], zs[0], xs[1], zs[1]


# ----------------------------------------------------------------------------------- catalog
def test_catalog_has_30_plus_named_categories_with_plausible_sizes():
    assert len(CATALOG) >= 30
    for name, spec in CATALOG.items():
        assert name == spec.name and re.fullmatch(r"[a-z]+( [a-z]+)*", name), name
        for lo, hi in (spec.width, spec.height, spec.depth):
            assert 0.01 <= lo <= hi <= 2.5, (name, lo, hi)
        assert spec.placement in ("floor", "against_wall", "surface")
        assert spec.rooms and set(spec.rooms) <= set(ROOM_TYPES)
        if spec.placement == "surface":
            assert spec.on and all(CATALOG[p].surface for p in spec.on), name
            assert max(spec.width[1], spec.depth[1]) < 1.5 and spec.height[1] < 1.0, name
    required = {
        "bed",
        "sofa",
        "chair",
        "dining table",
        "tv",
        "refrigerator",
        "toilet",
        "sink",
        "stove",
        "washer",
        "cabinet",
        "floor lamp",
        "desk",
        "bookshelf",
        "laptop",
        "cup",
        "book",
        "plant",
    }
    assert required <= set(CATALOG)
    assert CATALOG["bed"].depth[0] >= 1.8 and CATALOG["refrigerator"].height[0] >= 1.6
    assert CATALOG["cup"].height[1] <= 0.15 and CATALOG["chair"].height[0] >= 0.7


def test_colors_are_valid_and_distinct():
    cols = {name: color(name) for name in CATALOG}
    for c in cols.values():
        assert len(c) == 3 and all(0.0 <= v <= 1.0 for v in c)
    closest = min(math.dist(cols[a], cols[b]) for a, b in itertools.combinations(cols, 2))
    assert closest >= 0.2
    assert color("some thor type") == color("some thor type")  # unknown names: stable fallback


@pytest.mark.parametrize("yaw", [0.0, 90.0, 180.0, 270.0])
def test_parts_fill_the_object_box_in_every_orientation(yaw):
    rng = np.random.default_rng(1)
    expected_min_parts = {"dining table": 5, "chair": 6, "bed": 2, "sofa": 4, "floor lamp": 2, "toilet": 2}
    for name, spec in CATALOG.items():
        w, h, d = (float(rng.uniform(*r)) for r in (spec.width, spec.height, spec.depth))
        size = (d, h, w) if yaw in (90.0, 270.0) else (w, h, d)
        obj = SceneObject(1, name, (3.0, 0.2 + h / 2, -2.0), size, yaw, "r0")
        boxes = parts(obj)
        assert len(boxes) >= expected_min_parts.get(name, 1), name
        lo = np.array([[c - s / 2 for c, s in zip(cen, sz)] for cen, sz in boxes])
        hi = np.array([[c + s / 2 for c, s in zip(cen, sz)] for cen, sz in boxes])
        assert (np.array([sz for _, sz in boxes]) > 0).all()
        assert (lo >= np.array(obj.min) - TOL).all() and (hi <= np.array(obj.max) + TOL).all(), name
        # the parts reach every face of the box (so the box is their bounding box)
        assert np.allclose(lo.min(axis=0), obj.min, atol=TOL) and np.allclose(hi.max(axis=0), obj.max, atol=TOL), name


def test_parts_follow_the_yaw_convention():
    """yaw 0 faces +z, yaw 90 faces +x: a bed's headboard (its tallest part) is at its back."""
    size = (1.6, 1.0, 2.0)
    for yaw, back in ((0.0, (0, -1)), (90.0, (-1, 0)), (180.0, (0, 1)), (270.0, (1, 0))):
        world = size if yaw in (0.0, 180.0) else (size[2], size[1], size[0])
        bed = SceneObject(1, "bed", (0.0, 0.5, 0.0), world, yaw, "r0")
        head = max(parts(bed), key=lambda p: p[1][1])
        assert np.sign(round(head[0][0], 6)) == back[0] and np.sign(round(head[0][2], 6)) == back[1], yaw


# ------------------------------------------------------------------------------- determinism
def test_same_seed_same_house_different_seeds_different_houses():
    a, b = house(7), house(7)
    assert a == b and a.meta == b.meta
    houses = [house(s) for s in range(6)]
    layouts = {tuple((o.category, o.center) for o in h.objects) for h in houses}
    assert len(layouts) == len(houses)


def test_generation_is_pure_and_leaves_global_rng_alone():
    first = house(11)
    house(12)
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    again = house(11)
    assert np.random.random() == expected
    assert again == first


# ------------------------------------------------------------------------------ rooms, doors
def check_rooms(h: House, scales: Scales) -> None:
    assert scales.rooms_min <= len(h.rooms) <= scales.rooms_max
    assert len({r.id for r in h.rooms}) == len(h.rooms)
    for r in h.rooms:
        assert r.type in ROOM_TYPES
        assert 6.0 <= r.area_m2 <= 40.0, (r.type, r.area_m2)
        x0, z0, x1, z1 = rect_of(r)
        assert abs((x1 - x0) * (z1 - z0) - r.area_m2) < TOL
    for a, b in itertools.combinations(h.rooms, 2):  # rooms do not overlap
        ra, rb = rect_of(a), rect_of(b)
        overlap = max(0.0, min(ra[2], rb[2]) - max(ra[0], rb[0])) * max(0.0, min(ra[3], rb[3]) - max(ra[1], rb[1]))
        assert overlap < TOL


def check_doors_connect(h: House) -> None:
    walls = {w.id: w for w in h.walls}
    graph = {r.id: set() for r in h.rooms}
    for d in h.doors:
        assert len(d.rooms) == 2 and 0.8 <= d.width <= 1.0 and 2.0 <= d.height <= 2.2
        w = walls[d.wall]
        assert set(w.rooms) == set(d.rooms) and d.id in w.doors
        # the door lies on its wall, fully between the wall's ends
        (sx, sz), (ex, ez) = w.start, w.end
        length = math.hypot(ex - sx, ez - sz)
        along = ((d.center[0] - sx) * (ex - sx) + (d.center[1] - sz) * (ez - sz)) / length
        off = abs((d.center[0] - sx) * (ez - sz) - (d.center[1] - sz) * (ex - sx)) / length
        assert off < TOL and d.width / 2 <= along <= length - d.width / 2
        a, b = d.rooms
        graph[a].add(b)
        graph[b].add(a)
    seen, queue = {h.rooms[0].id}, deque([h.rooms[0].id])
    while queue:
        for n in graph[queue.popleft()] - seen:
            seen.add(n)
            queue.append(n)
    assert seen == set(graph), "rooms not all reachable through doors"


def check_walls(h: House) -> None:
    """Walls 0.1 m thick and 2.6 m tall cover every room's perimeter exactly once."""
    for w in h.walls:
        assert abs(w.thickness - 0.1) < TOL and abs(w.height - 2.6) < TOL
        assert w.start[0] == w.end[0] or w.start[1] == w.end[1]
    for r in h.rooms:
        x0, z0, x1, z1 = rect_of(r)
        covered = sum(math.dist(w.start, w.end) for w in h.walls if r.id in w.rooms)
        assert abs(covered - 2 * ((x1 - x0) + (z1 - z0))) < 1e-6


# -------------------------------------------------------------------------------- objects
def check_objects(h: House) -> None:
    objs = h.objects
    assert [o.id for o in objs] == list(range(1, len(objs) + 1))
    by_id = {o.id: o for o in objs}
    rooms = {r.id: r for r in h.rooms}
    for o in objs:
        assert o.category in CATALOG and o.yaw_deg in (0.0, 90.0, 180.0, 270.0)
        x0, z0, x1, z1 = rect_of(rooms[o.room])
        lo, hi = o.min, o.max
        # inside the room minus the walls' half thickness, between floor and ceiling
        assert lo[0] >= x0 + WALL_HALF - TOL and hi[0] <= x1 - WALL_HALF + TOL, o
        assert lo[2] >= z0 + WALL_HALF - TOL and hi[2] <= z1 - WALL_HALF + TOL, o
        assert lo[1] >= -TOL and hi[1] <= h.wall_height
        if o.parent is None:
            assert abs(lo[1]) < TOL, o  # stands on the floor
        else:
            p = by_id[o.parent]
            assert CATALOG[p.category].surface and p.parent is None and p.room == o.room
            assert abs(lo[1] - p.max[1]) < TOL, (o, p)  # rests exactly on the parent's top
            assert lo[0] >= p.min[0] - TOL and hi[0] <= p.max[0] + TOL
            assert lo[2] >= p.min[2] - TOL and hi[2] <= p.max[2] + TOL
    lo = np.array([o.min for o in objs])
    hi = np.array([o.max for o in objs])
    overlap = np.clip(np.minimum(hi[:, None], hi[None]) - np.maximum(lo[:, None], lo[None]), 0.0, None)
    volume = overlap.prod(axis=-1)
    np.fill_diagonal(volume, 0.0)
    assert volume.max() < 1e-9, "boxes interpenetrate"  # a child only touches its parent's top


def check_house(h: House, scales: Scales) -> None:
    check_rooms(h, scales)
    check_doors_connect(h)
    check_walls(h)
    check_objects(h)


@pytest.mark.parametrize("seed,lo,hi", [(0, 1, 1), (1, 1, 3), (2, 3, 3), (3, 4, 8), (4, 12, 12)])
def test_house_invariants(seed, lo, hi):
    scales = Scales(rooms_min=lo, rooms_max=hi)
    check_house(generate_house(seed, scales), scales)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**63), rooms=st.integers(1, 12))
def test_house_invariants_property(seed, rooms):
    scales = Scales(rooms_min=rooms, rooms_max=rooms)
    check_house(generate_house(seed, scales), scales)


def test_furnishing_statistics():
    """Rooms are furnished densely enough to ask about counts, distances and directions."""
    houses = [house(s, 1, 4) for s in range(20)]
    per_room = Counter(o.room for h in houses for o in h.objects)
    counts = [per_room[r.id] for h in houses for r in h.rooms]
    assert np.mean(counts) >= 10 and min(counts) >= 3
    categories = Counter(o.category for h in houses for o in h.objects)
    assert len(categories) >= 30
    assert any(
        max(Counter(o.category for o in h.objects if o.room == r.id).values()) >= 3 for h in houses for r in h.rooms
    )  # several instances of a category in one room
    assert sum(o.parent is not None for h in houses for o in h.objects) >= 100  # small objects on surfaces
    # anchor pieces of the room types are there
    for h in houses:
        for r in h.rooms:
            cats = {o.category for o in h.objects if o.room == r.id}
            if r.type == "living_room":
                assert "sofa" in cats
            if r.type == "kitchen":
                assert {"counter", "refrigerator", "stove"} & cats


def test_bathrooms_are_small_living_rooms_large():
    rooms = [r for s in range(15) for r in house(s, 4, 8).rooms]
    bath = [r.area_m2 for r in rooms if r.type == "bathroom"]
    living = [r.area_m2 for r in rooms if r.type == "living_room"]
    assert bath and living and max(bath) < min(living)


# ------------------------------------------------------------------------------ bad config
@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"rooms_min": 0}, "rooms_min"),
        ({"rooms_max": 13}, "rooms_max"),
        ({"rooms_min": 3, "rooms_max": 2}, "rooms_max"),
        ({"frames": 0}, "frames"),
        ({"fps": 0.0}, "fps"),
    ],
)
def test_bad_config_is_rejected_before_generation(kwargs, field):
    with pytest.raises(ConfigError) as err:
        generate_house(0, Scales(**kwargs))
    assert err.value.field == field
