"""ProcTHOR house JSON -> House (rooms, walls, doors, objects, walk hubs), loading, rendering through
the pybullet renderer and questions — on a two-room house the test builds in the real schema
(tests/test_thor_docs.py). The real ProcTHOR file is tested in test_thor_fixtures.py."""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from test_thor_docs import KITCHEN, LIVING, two_room_house

from simsv_stream.config import Scales
from simsv_stream.scene.catalog import CATALOG
from simsv_stream.scene.procthor import (
    HouseSource,
    ProcthorError,
    ProcthorLayouts,
    house_from_procthor,
    load_houses,
    simulate_house,
    walk_rooms,
)
from simsv_stream.simulator import simulate


def shoelace(pts) -> float:
    return abs(sum(x0 * z1 - x1 * z0 for (x0, z0), (x1, z1) in zip(pts, pts[1:] + pts[:1]))) / 2


@pytest.fixture(scope="module")
def house():
    return house_from_procthor(two_room_house(), seed=3)


def by_thor_id(house, tid):
    ids = {v: k for k, v in house.meta["thor_ids"].items()}
    return house.object(ids[tid])


def mid(r):
    return (r[0] + r[1]) / 2


# ------------------------------------------------------------------------------- structure
def test_rooms_types_and_areas(house):
    assert [r.id for r in house.rooms] == ["room|1", "room|2"]
    assert [r.type for r in house.rooms] == ["living_room", "kitchen"]
    # areas from the floor polygons, computed here independently: 5 x 4, and an L of 4 x 2 + 2 x 1.5
    assert house.room("room|1").area_m2 == pytest.approx(shoelace(LIVING)) == pytest.approx(20.0)
    assert house.room("room|2").area_m2 == pytest.approx(shoelace(KITCHEN)) == pytest.approx(11.0)
    assert house.wall_height == pytest.approx(2.5) and house.source == "procthor"
    assert all(r.floor_y == 0.0 for r in house.rooms)


def test_walls_are_split_and_merged(house):
    # room|1 lists x = 5 from z 0..4 and room|2 lists x = 5 from z 0..3.5: one shared piece, one own piece
    on_x5 = sorted((w for w in house.walls if w.start[0] == w.end[0] == 5.0), key=lambda w: min(w.start[1], w.end[1]))
    assert len(on_x5) == 2
    shared, own = on_x5
    assert sorted((shared.start[1], shared.end[1])) == [0.0, 3.5] and shared.rooms == ("room|1", "room|2")
    assert sorted((own.start[1], own.end[1])) == [3.5, 4.0] and own.rooms == ("room|1",)
    assert shared.doors == ("door|1|2",)
    # every room edge is covered by walls of that room; no wall is listed twice
    keys = [tuple(sorted((w.start, w.end))) for w in house.walls]
    assert len(keys) == len(set(keys))
    total = {rid: sum(math.dist(w.start, w.end) for w in house.walls if rid in w.rooms) for rid in ("room|1", "room|2")}
    assert total["room|1"] == pytest.approx(18.0) and total["room|2"] == pytest.approx(15.0)


def test_doors_from_hole_polygons(house):
    assert [d.id for d in house.doors] == ["door|1|2"]
    d = house.doors[0]
    # holePolygon x 1..2 measured from wall0's first floor corner (5, 3.5) towards (5, 0): centre z = 2.0
    assert d.center == pytest.approx((5.0, 2.0)) and d.width == pytest.approx(1.0) and d.height == pytest.approx(2.1)
    assert set(d.rooms) == {"room|1", "room|2"}
    assert house.meta["closed_doors"] == ["door|0|1"]  # the closed front door is not cut


def _door(doc):
    return next(d for d in house_from_procthor(doc).doors if d.id == "door|1|2")


def test_hole_is_measured_from_unitys_p0():
    """Unity (ai2thor ProceduralTools.polygonWallToSimpleWall) takes a wall's p0, p1 as the first two points
    of its polygon stably sorted by y: the floor corners in file order, whatever the id says and wherever
    the top corners are listed; createAndJoinWall cuts holePolygon x from p0 towards p1."""
    doc = two_room_house()
    wall = next(w for w in doc["walls"] if w["id"] == "wall|2|5.00|0.00|5.00|3.50")
    assert [(p["x"], p["z"]) for p in wall["polygon"] if p["y"] == 0] == [(5.0, 3.5), (5.0, 0.0)]
    assert _door(doc).center == pytest.approx((5.0, 3.5 - 1.5))  # hole 1..2 from (5, 3.5)
    wall["polygon"] = [
        {"x": 5.0, "y": 2.5, "z": 3.5},
        {"x": 5.0, "y": 2.5, "z": 0.0},
        {"x": 5.0, "y": 0.0, "z": 0.0},
        {"x": 5.0, "y": 0.0, "z": 3.5},
    ]
    assert _door(doc).center == pytest.approx((5.0, 0.0 + 1.5))  # now p0 = (5, 0)
    assert _door(doc).width == pytest.approx(1.0)


def test_hole_on_wall1_is_mirrored():
    """Only wall1 names a wall of the house: Unity cuts wall1's hole at width - max.x .. width - min.x
    from wall1's p0 (createAndJoinWall, `hole.wall1 == id`)."""
    doc = two_room_house()
    door = doc["doors"][0]
    door["wall0"], door["wall1"] = "wall|nope", "wall|2|5.00|0.00|5.00|3.50"  # p0 (5, 3.5), length 3.5
    d = _door(doc)
    assert d.center == pytest.approx((5.0, 3.5 - (3.5 - 1.5))) and d.width == pytest.approx(1.0)


def test_open_wall_becomes_a_full_opening():
    doc = two_room_house()
    doc["doors"] = [d for d in doc["doors"] if d["id"] != "door|1|2"]
    for w in doc["walls"]:
        if w["id"] in ("wall|1|5.00|0.00|5.00|4.00", "wall|2|5.00|0.00|5.00|3.50"):
            w["empty"] = True
    h = house_from_procthor(doc)
    # room|1's wall is only half-shared, so only the shared piece (z 0..3.5) is open
    opening = [d for d in h.doors if d.id.startswith("open|")]
    assert len(opening) == 1 and set(opening[0].rooms) == {"room|1", "room|2"}
    assert opening[0].width == pytest.approx(3.5) and opening[0].height == pytest.approx(h.wall_height)


# --------------------------------------------------------------------------------- objects
def test_objects_categories_and_parents(house):
    cats = {house.meta["thor_ids"][o.id] or o.asset: o.category for o in house.objects}
    assert cats == {
        "Sofa|1|0": "sofa",
        "Pillow|surface|1|1": "pillow",
        "CoffeeTable|1|2": "coffee table",
        "Laptop|surface|1|3": "laptop",
        "Book|surface|1|4": "book",
        "TVStand|1|5|0": "tv stand",
        "Television|1|5|1": "tv",
        "FloorLamp|1|6": "floor lamp",
        "Painting|1|7": "painting",
        "HousePlant|1|8": "plant",
        "ArmChair|1|9": "armchair",
        "Fridge|2|0": "refrigerator",
        "Apple|surface|2|1": "apple",
        "CounterTop|2|2": "counter",
        "Microwave|surface|2|3": "microwave",
        "Kettle|surface|2|4": "kettle",
        "HousePlant|surface|2|5": "potted plant",
        "DiningTable|2|6|0": "dining table",
        "bin_30": "trash can",  # no id: the type comes from the assetId
    }
    assert [o.id for o in house.objects] == list(range(1, 20))
    assert by_thor_id(house, "Television|1|5|1").parent == by_thor_id(house, "TVStand|1|5|0").id
    assert by_thor_id(house, "Apple|surface|2|1").parent == by_thor_id(house, "Fridge|2|0").id
    assert by_thor_id(house, "Sofa|1|0").parent is None
    rooms = {o.category: o.room for o in house.objects}
    assert rooms["sofa"] == rooms["painting"] == rooms["tv"] == "room|1"
    assert rooms["refrigerator"] == rooms["trash can"] == rooms["potted plant"] == "room|2"


def test_object_boxes(house):
    sofa = by_thor_id(house, "Sofa|1|0")
    spec = CATALOG["sofa"]
    # a floor object's position is the centre of its bounds: height = 2 y; width/depth typical
    assert sofa.center == pytest.approx((2.5, 0.45, 0.6)) and sofa.size == pytest.approx(
        (mid(spec.width), 0.9, mid(spec.depth))
    )
    fridge = by_thor_id(house, "Fridge|2|0")
    f = CATALOG["refrigerator"]
    assert fridge.yaw_deg == 270.0  # turned a quarter: width and depth swap
    assert fridge.size == pytest.approx((mid(f.depth), 1.8, mid(f.width))) and fridge.min[1] == pytest.approx(0.0)
    stand, tv = by_thor_id(house, "TVStand|1|5|0"), by_thor_id(house, "Television|1|5|1")
    assert stand.size[1] == pytest.approx(0.5) and tv.min[1] == pytest.approx(stand.max[1])  # resting on it
    assert tv.size[1] == pytest.approx(0.7)
    apple, plant = by_thor_id(house, "Apple|surface|2|1"), by_thor_id(house, "HousePlant|1|8")
    assert fridge.min[1] < apple.center[1] < fridge.max[1]  # inside the fridge, where the JSON puts it
    # yaw 11.15: the axis-aligned box of the rotated footprint
    w, _, d = mid(CATALOG["plant"].width), 0, mid(CATALOG["plant"].depth)
    c, s = math.cos(math.radians(11.15)), math.sin(math.radians(11.15))
    assert plant.size[0] == pytest.approx(w * c + d * s, abs=1e-3) and plant.size[1] == pytest.approx(1.0)
    painting = by_thor_id(house, "Painting|1|7")
    assert painting.center == pytest.approx((0.02, 1.6, 2.0)) and painting.size[0] < 0.1  # on the wall, thin in x
    for o in house.objects:
        assert all(v > 0 for v in o.size)


def test_walk_hubs_are_free_floor(house):
    hubs = house.meta["walk_hubs"]
    assert set(hubs) == {"room|1", "room|2"}
    for room in house.rooms:
        x, z, r = hubs[room.id]
        assert room.contains((x, z)) and 0.05 <= r <= 0.55
        for o in house.objects:
            if o.parent is None and o.min[1] < 2.0:  # the circle stays off floor furniture
                dx = max(o.min[0] - x, 0.0, x - o.max[0])
                dz = max(o.min[2] - z, 0.0, z - o.max[2])
                assert math.hypot(dx, dz) > r, (room.id, o.category)


def test_bad_documents_say_which_field(tmp_path):
    (tmp_path / "broken.jsonl").write_text('{"rooms": [\n')
    with pytest.raises(ProcthorError, match=r"broken.jsonl:1: not valid JSON"):
        HouseSource(tmp_path / "broken.jsonl")[0]
    with pytest.raises(ProcthorError, match="rooms"):
        house_from_procthor({"rooms": [], "walls": [], "doors": [], "objects": []})
    doc = two_room_house()
    doc["doors"][0]["wall0"] = "wall|nope"
    doc["doors"][0]["wall1"] = "wall|nope"
    with pytest.raises(ProcthorError, match=r"doors\[0\].*wall0"):
        house_from_procthor(doc)


# ---------------------------------------------------------------------------------- loading
def test_load_houses_formats(tmp_path):
    doc = two_room_house()
    (tmp_path / "one.json").write_text(json.dumps(doc))
    (tmp_path / "list.json").write_text(json.dumps([doc, doc]))
    with open(tmp_path / "many.jsonl", "w") as fh:
        fh.write(json.dumps(doc) + "\n\n" + json.dumps(doc) + "\n")
    with gzip.open(tmp_path / "many.jsonl.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(doc) for _ in range(3)) + "\n")
    assert len(load_houses(tmp_path / "one.json")) == 1
    assert len(load_houses(tmp_path / "list.json")) == 2
    assert [d["_source"] for d in load_houses(tmp_path / "many.jsonl")] == ["many.jsonl:1", "many.jsonl:3"]
    assert len(load_houses(tmp_path / "many.jsonl.gz")) == 3
    assert len(load_houses(tmp_path)) == 1 + 2 + 2 + 3 and len(load_houses(tmp_path, limit=4)) == 4
    # the lazy store workers use gives the same houses
    for name in ("one.json", "list.json", "many.jsonl", "many.jsonl.gz", ""):
        eager, lazy = load_houses(tmp_path / name), HouseSource(tmp_path / name)
        assert len(lazy) == len(eager) and [lazy[i] for i in range(len(lazy))] == eager, name
    assert len(HouseSource(tmp_path / "many.jsonl.gz", limit=2)) == 2 and HouseSource(tmp_path)[-1] == doc | {
        "_source": "one.json"
    }
    # a glob pattern (the issue's `houses: path/to/*.json`): the matching files, sorted
    for pattern, n in (("*.json", 1 + 2), ("many.*", 2 + 3), ("*", 1 + 2 + 2 + 3)):
        eager, lazy = load_houses(tmp_path / pattern), HouseSource(tmp_path / pattern)
        assert len(eager) == n and [lazy[i] for i in range(len(lazy))] == eager, pattern
    assert [d["_source"] for d in load_houses(tmp_path / "*.json")] == ["list.json:0", "list.json:1", "one.json"]
    with pytest.raises(ProcthorError, match=r"nothing\*\.json: no \.json / \.jsonl\[\.gz\] house files match"):
        HouseSource(tmp_path / "nothing*.json")
    with pytest.raises(ProcthorError, match="no such file"):
        load_houses(tmp_path / "missing.json")
    with pytest.raises(ProcthorError, match="no such file"):
        HouseSource(tmp_path / "missing.jsonl")
    (tmp_path / "bad.json").write_text(json.dumps({"foo": 1}))
    with pytest.raises(ProcthorError, match="not a ProcTHOR house"):
        load_houses(tmp_path / "bad.json")


# ------------------------------------------------------------------------- render + questions
def test_renders_and_asks_every_question_type(house):
    from simsv_stream.questions import REGISTRY, generate_all

    scales = Scales(frames=16, width=160, height=120, rooms_min=2, rooms_max=2)
    seen: dict[str, int] = {}
    for seed in range(4):
        ep = simulate_house(house, seed, scales)
        assert ep.frames.rgb.shape == (16, 120, 160, 3) and ep.frames.instance.shape == (16, 120, 160)
        assert set(ep.rooms_visited) == {"room|1", "room|2"}
        assert ep.salient_ids and ep.salient_ids <= {o.id for o in house.objects}
        for qa in generate_all(ep, np.random.default_rng(seed)):
            seen[qa.question_type] = seen.get(qa.question_type, 0) + 1
    assert set(seen) == set(REGISTRY), sorted(set(REGISTRY) - set(seen))
    # the plain simulator entry point takes the house as is (walks every room)
    ep = simulate(5, Scales(frames=8, width=96, height=72), house=house)
    assert ep.house is house and len(ep.annotations) == 8


def test_walk_rooms_are_connected_subsets(house):
    one = walk_rooms(house, 0, 1, 1)
    assert len(one.rooms) == 1 and one.doors == ()
    two = walk_rooms(house, 0, 2, 3)  # only two rooms exist
    assert {r.id for r in two.rooms} == {"room|1", "room|2"} and len(two.doors) == 1
    assert two.walls == house.walls and two.meta["walk_hubs"] == house.meta["walk_hubs"]


def test_layout_backend_through_the_stream_factory(tmp_path):
    from simsv_stream.stream.backends import get_backend

    path = tmp_path / "houses.jsonl"
    path.write_text(json.dumps(two_room_house()) + "\n")
    be = get_backend("procthor-layout", {"houses": str(path)})
    scales = Scales(frames=8, width=96, height=72)
    ep = be.simulate(7, scales)
    assert ep.house.source.startswith("procthor:") and set(ep.timings) == {"house", "walkthrough", "render", "annotate"}
    assert isinstance(be.simulate.__self__, ProcthorLayouts)
    assert be.simulate.__self__.house(7) is be.simulate.__self__.house(8)  # cached: one house, one build
    qa = be.generate(ep, "room_size", np.random.default_rng(0))
    assert qa is None or qa.question_type == "room_size"


def stream_layouts(path, n: int) -> list:
    """The first n samples of object-count questions about the houses in `path` through the real stream:
    2 worker processes on the procthor-layout backend, the dispatcher, the torchdata loader."""
    from simsv_stream.stream import StreamConfig, build_loader

    cfg = StreamConfig(
        endpoint="tcp://127.0.0.1:*",
        workers=2,
        backend="procthor-layout",
        backend_options={"houses": str(path)},
        heartbeat_s=0.5,
        timeout_s=60,
        codec="jpeg",
        credit=2,
        scales=Scales(frames=8, width=96, height=72, rooms_min=1, rooms_max=2),
        mix="object_count=1",
    )
    loader = build_loader(cfg, batch_size=1, map_fn=lambda s: s)
    out: list = []
    try:
        for (sample,) in loader:
            out.append(sample)
            if len(out) == n:
                break
    finally:
        loader.close()
    return out


def check_counts_against(house, samples, n: int) -> None:
    """Samples 0..n-1 in order, real frames, and each count is at most the house's instances of the
    category the question names."""
    assert [s.sample_id for s in samples] == list(range(n))
    for s in samples:
        assert s.frames.shape == (8, 72, 96, 3) and s.frames.std() > 5
        m = re.match(r"How many (.+)\(s\) (?:appear in this video|are in this room)\?", s.qa.question)
        assert m, s.qa.question
        assert 1 <= s.qa.ground_truth <= sum(o.category == m.group(1) for o in house.objects), s.qa.question


def test_layouts_stream_through_workers_and_loader(tmp_path, house):
    path = tmp_path / "houses.jsonl"
    path.write_text(json.dumps(two_room_house()) + "\n")
    check_counts_against(house, stream_layouts(path, 6), 6)


def test_preview_cli_takes_a_house(tmp_path):
    path = tmp_path / "house.json"
    path.write_text(json.dumps(two_room_house()))
    exe = os.path.join(os.path.dirname(sys.executable), "simsv-stream")
    out = tmp_path / "prev"
    p = subprocess.run(
        [
            exe,
            "preview",
            "--house",
            str(path),
            "--out",
            str(out),
            "--frames",
            "8",
            "--size",
            "128x96",
            "--seed",
            "1",
            "--rooms",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("seed 1: 2 rooms, 19 objects")
    d = json.loads((out / "episode.json").read_text())
    assert {r["id"] for r in d["rooms"]} == {"room|1", "room|2"} and len(d["frames"]) == 8
    bad = subprocess.run(
        [exe, "preview", "--house", str(path), "--house-index", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "house-index" in bad.stderr
