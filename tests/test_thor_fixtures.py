"""The real AI2-THOR files (ai2thor's own test data, see SOURCE.md there) in
<repo>/../shared/fixtures/ai2thor/ (or $SIMSV_THOR_FIXTURES): a ProcTHOR house
(procthor_train_1.json), an `event.metadata` dump (instance_segmentation_metadata.json) and ai2thor's
metadata JSON schema (metadata-schema.json).
Skipped, naming the directory, when it is absent."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from test_thor import ITHOR_STRUCTURE_KEYS

from simsv_stream.camera import ID_NONE, ID_WALL
from simsv_stream.config import Scales
from simsv_stream.scene.procthor import house_from_procthor, iter_objects, load_houses, simulate_house
from simsv_stream.scene.thor import instance_buffer_from_masks, pose_from_metadata, scene_from_metadata
from simsv_stream.scene.thor_types import category_of, object_type_of

FIXTURES = Path(
    os.environ.get("SIMSV_THOR_FIXTURES")
    or Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "ai2thor"
)


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(
            f"fixture {name} not found: {FIXTURES} is missing (set SIMSV_THOR_FIXTURES to the folder "
            "holding ai2thor's tests/data files)"
        )
    return path


def shoelace(pts) -> float:
    return abs(sum(x0 * z1 - x1 * z0 for (x0, z0), (x1, z1) in zip(pts, pts[1:] + pts[:1]))) / 2


def seg_dist(p, a, b) -> float:
    (px, pz), (ax, az), (bx, bz) = p, a, b
    dx, dz = bx - ax, bz - az
    u = max(0.0, min(1.0, ((px - ax) * dx + (pz - az) * dz) / (dx * dx + dz * dz)))
    return math.hypot(px - ax - u * dx, pz - az - u * dz)


# ================================================================================ ProcTHOR
@pytest.fixture(scope="module")
def doc():
    return json.loads(fixture("procthor_train_1.json").read_text())


@pytest.fixture(scope="module")
def house(doc):
    return house_from_procthor(doc)


def obj(house, tid):
    inv = {v: k for k, v in house.meta["thor_ids"].items()}
    return house.object(inv[tid])


def test_house_rooms(doc, house):
    assert len(house.rooms) == len(doc["rooms"]) == 10
    types = {r.id: r.type for r in house.rooms}
    assert types == {
        "room|2": "kitchen",
        "room|3": "living_room",
        "room|4": "living_room",
        "room|5": "living_room",
        "room|6": "bedroom",
        "room|7": "bathroom",
        "room|8": "bedroom",
        "room|9": "bathroom",
        "room|10": "bedroom",
        "room|11": "bathroom",
    }
    for r in doc["rooms"]:
        poly = [(p["x"], p["z"]) for p in r["floorPolygon"]]
        assert house.room(r["id"]).area_m2 == pytest.approx(shoelace(poly))
    # two by hand: room|5 is a 3.507 x 5.26 rectangle; room|2 a 7.014 x 5.26 rectangle less a 1.753 square notch
    assert house.room("room|5").area_m2 == pytest.approx(3.507 * 5.26)
    assert house.room("room|2").area_m2 == pytest.approx(7.014 * 5.26 - 1.753 * 1.753)


def test_house_doors(doc, house):
    doors = {d.id: d for d in house.doors}
    interior = {"door|2|3", "door|6|7", "door|8|9", "door|10|11", "door|6|10", "door|6|8", "door|4|6"}
    assert interior <= set(doors) and house.meta["closed_doors"] == ["door|1|3"]  # the closed front door
    src = {d["id"]: d for d in doc["doors"]}
    for did in interior:
        d = doors[did]
        assert set(d.rooms) == {src[did]["room0"], src[did]["room1"]}
        hole = src[did]["holePolygon"]
        assert d.width == pytest.approx(hole[1]["x"] - hole[0]["x"], abs=1e-3)
        for rid in d.rooms:  # the centre lies on the boundary of both rooms
            poly = house.room(rid).polygon
            assert min(seg_dist(d.center, a, b) for a, b in zip(poly, poly[1:] + poly[:1])) < 1e-3, (did, rid)
    # by hand: door|2|3's hole spans 1.061..3.001 m along wall0 = wall|3|8.77|5.26|15.78|5.26, whose first floor
    # corner is (15.781, 5.26) and which runs towards x = 8.767: centre x = 15.781 - 2.0308
    assert doors["door|2|3"].center == pytest.approx(
        (15.781 - (1.0606274069260788 + 3.000963634343071) / 2, 5.26), abs=1e-3
    )
    # the open (empty) walls join the three living rooms
    opened = {frozenset(d.rooms) for d in house.doors if d.id.startswith("open|")}
    assert {frozenset({"room|3", "room|4"}), frozenset({"room|4", "room|5"})} <= opened
    # every room is reachable through doors and openings
    graph = {r.id: set() for r in house.rooms}
    for d in house.doors:
        if len(d.rooms) == 2:
            graph[d.rooms[0]].add(d.rooms[1])
            graph[d.rooms[1]].add(d.rooms[0])
    seen, stack = {"room|2"}, ["room|2"]
    while stack:
        for n in graph[stack.pop()] - seen:
            seen.add(n)
            stack.append(n)
    assert seen == set(graph)


def test_house_objects(doc, house):
    named = [
        o
        for o in iter_objects(doc)
        if category_of(object_type_of(o.get("id", ""), o.get("assetId", "")), True) is not None
    ]
    assert len(house.objects) == len(named) > 100
    fridge = obj(house, "Fridge|2|1")
    assert fridge.category == "refrigerator" and fridge.room == "room|2" and fridge.yaw_deg == 270.0
    assert fridge.center == pytest.approx((15.40279503440857, 0.8463026285171509, 2.204727741956711), abs=1e-3)
    assert fridge.size[1] == pytest.approx(2 * 0.8463026285171509, abs=1e-3)  # centre of bounds: height = 2 y
    stand, tv = obj(house, "TVStand|3|1|0"), obj(house, "Television|3|1|1")
    assert tv.category == "tv" and tv.parent == stand.id and stand.category == "tv stand"
    assert tv.min[1] == pytest.approx(stand.max[1], abs=1e-3) == pytest.approx(2 * 0.22512471675872803, abs=1e-3)
    table, pot = obj(house, "DiningTable|4|1|0"), obj(house, "HousePlant|surface|4|40")
    assert pot.category == "potted plant" and pot.parent == table.id and table.category == "dining table"
    assert obj(house, "HousePlant|2|2|0").category == "plant"
    assert obj(house, "GarbageCan|3|2").category == "trash can"
    painting = obj(house, "Painting|5|4")
    assert painting.category == "painting" and painting.room == "room|5"
    assert painting.center[1] == pytest.approx(2.0053870431846423, abs=1e-3)
    rooms = {r.id: r for r in house.rooms}
    for o in house.objects:
        poly = rooms[o.room].polygon
        on_edge = min(seg_dist((o.center[0], o.center[2]), a, b) for a, b in zip(poly, poly[1:] + poly[:1])) < 0.1
        assert rooms[o.room].contains((o.center[0], o.center[2])) or on_edge, (house.meta["thor_ids"][o.id], o.room)


def test_house_renders_and_asks_every_type(house):
    from simsv_stream.questions import REGISTRY, generate_all

    scales = Scales(frames=16, width=160, height=120, rooms_min=2, rooms_max=2)
    seen: set[str] = set()
    for seed in range(24):
        ep = simulate_house(house, seed, scales)
        assert len(ep.rooms_visited) >= 1 and ep.frames.rgb.shape == (16, 120, 160, 3)
        seen |= {qa.question_type for qa in generate_all(ep, np.random.default_rng(seed))}
        if seen == set(REGISTRY):
            break
    assert seen == set(REGISTRY), sorted(set(REGISTRY) - seen)


def test_preview_of_the_fixture_house(tmp_path):
    import subprocess
    import sys

    path = fixture("procthor_train_1.json")
    exe = os.path.join(os.path.dirname(sys.executable), "simsv-stream")
    p = subprocess.run(
        [exe, "preview", "--house", str(path), "--out", str(tmp_path / "p"), "--frames", "8", "--size", "160x120"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("seed 0: 10 rooms")
    assert load_houses(path)[0]["_source"] == "procthor_train_1.json"


def test_fixture_house_streams_through_workers_and_loader(house):
    from test_procthor import check_counts_against, stream_layouts

    check_counts_against(house, stream_layouts(fixture("procthor_train_1.json"), 6), 6)


# ============================================================================ event.metadata
@pytest.fixture(scope="module")
def metadata():
    return json.loads(fixture("instance_segmentation_metadata.json").read_text())


def test_metadata_objects(metadata):
    house = scene_from_metadata(metadata)
    named = [o for o in metadata["objects"] if category_of(o["objectType"]) is not None]
    assert len(house.objects) == len(named) > 10
    by = {house.meta["thor_ids"][o.id]: o for o in house.objects}
    src = {o["objectId"]: o for o in named}
    assert set(by) == set(src)
    for oid, o in by.items():
        box = src[oid]["axisAlignedBoundingBox"]
        assert o.center == pytest.approx([box["center"][k] for k in "xyz"], abs=1e-3)
        assert o.size == pytest.approx([max(box["size"][k], 0.005) for k in "xyz"], abs=1e-3)
    skipped = {o["objectType"] for o in metadata["objects"]} - {o["objectType"] for o in named}
    assert {"Floor", "StoveBurner", "Drawer"} <= skipped
    # by hand, from the dump
    top = by["CounterTop|+00.93|+00.95|-00.21"]
    assert top.category == "counter"
    assert top.center == pytest.approx((0.9510999917984009, 0.9096499681472778, -0.198900043964386), abs=1e-4)
    assert top.size == pytest.approx((0.6977999210357666, 0.016300082206726074, 1.3978002071380615), abs=1e-4)
    chair = by["Chair|-01.85|+00.00|-00.96"]
    assert chair.category == "chair" and chair.parent is None and chair.yaw_deg == pytest.approx(67.886, abs=1e-3)
    assert chair.center == pytest.approx((-1.8554680347442627, 0.5211781859397888, -0.9579102993011475), abs=1e-4)
    assert chair.size == pytest.approx((0.6650748252868652, 1.04232656955719, 0.6193845272064209), abs=1e-4)
    assert by["Cabinet|+00.95|+02.16|-02.38"].category == "cabinet"
    assert by["Faucet|-00.95|+00.95|-00.65"].category == "faucet"
    visible = {house.meta["thor_ids"][i] for i in house.meta["visible"]}
    assert "CounterTop|+00.93|+00.95|-00.21" in visible and "Chair|-01.85|+00.00|-00.96" not in visible
    # one room: the Floor's box (5.9 x 6 m), a kitchen by the scene name
    (room,) = house.rooms
    assert room.type == "kitchen" and room.area_m2 == pytest.approx(5.9 * 6.0, abs=1e-2)


def test_instance_mask_keys_of_the_real_dump(metadata):
    """event.instance_masks is keyed by the names in metadata["colors"] that contain a "|" (ai2thor
    server.py): objectIds, parts ("...|SinkBasin") and structure named "<GameObject>|x|y|z"."""
    house = scene_from_metadata(metadata)
    id_of = house.meta["id_of"]
    keys = [c["name"] for c in metadata["colors"] if "|" in c["name"]]
    assert set(id_of) <= set(keys) and len(keys) > len(id_of)
    masks = {k: (np.arange(len(keys)) == i)[None] for i, k in enumerate(keys)}  # one pixel per key
    buf = instance_buffer_from_masks(masks, id_of, 1, len(keys), house.meta["thor_types"])
    got = dict(zip(keys, buf[0].tolist()))
    # by hand, from the dump: the structure Unity names by GameObject (test_thor's table, taken from this
    # dump, and its second window), and the sink's basin part
    by_hand = {k: (ID_NONE if v is None else v) for k, v in ITHOR_STRUCTURE_KEYS.items()}
    by_hand.update(
        {
            "Window|+00.02|+01.00|-02.64": ID_WALL,
            "Sink|-00.70|+00.93|-00.65|SinkBasin": id_of["Sink|-00.70|+00.93|-00.65"],
        }
    )
    assert set(by_hand) <= set(keys)
    for k in keys:  # everything else (light fixtures, knobs, drawers, burners) counts for nothing
        assert got[k] == id_of.get(k, by_hand.get(k, ID_NONE)), k


def test_metadata_agent_pose(metadata):
    pose = pose_from_metadata(metadata)
    assert pose.position == pytest.approx((0.0, 1.5759992599487305, -1.25))
    assert pose.yaw_deg == pytest.approx(90.0) and pose.pitch_deg == pytest.approx(0.0)
    assert pose.fov_deg == pytest.approx(90.0)  # fov 90 (vertical) on a 600 x 600 screen


# ======================================================================= metadata-schema.json
# Every metadata field the converters read (scene_from_metadata, pose_from_metadata), with the JSON
# type they treat it as. Two checks against the real files: with everything else stripped from the
# real dump the converters give the same result (so this list is complete), and ai2thor's own
# metadata schema declares each field with that type (so a real event carries them).
OBJECT_FIELDS = {
    "objectId": "string",
    "objectType": "string",
    "axisAlignedBoundingBox": "object",
    "rotation": "object",
    "parentReceptacles": "array|null",
    "visible": "boolean",
    "name": "string",
}
OPTIONAL_OBJECT_FIELDS = {"assetId"}  # newer than the schema; the asset name falls back to `name`
TOP_FIELDS = {
    "objects": "array",
    "agent": "object",
    "cameraPosition": "object",
    "fov": "number",
    "screenWidth": "integer",
    "screenHeight": "integer",
    "sceneName": "string",
    "sceneBounds": "object",
}
AGENT_FIELDS = {"position": "object", "rotation": "object", "cameraHorizon": "number"}
BOX_FIELDS = {"center": "object", "size": "object"}


def _stripped(metadata: dict, keep_optional: bool = True) -> dict:
    keep = set(OBJECT_FIELDS) | (OPTIONAL_OBJECT_FIELDS if keep_optional else set())
    objs = [
        {
            k: (dict((b, v[b]) for b in BOX_FIELDS) if k == "axisAlignedBoundingBox" else v)
            for k, v in o.items()
            if k in keep
        }
        for o in metadata["objects"]
    ]
    out = {k: metadata[k] for k in TOP_FIELDS if k in metadata}
    out.update(objects=objs, agent={k: metadata["agent"][k] for k in AGENT_FIELDS})
    return out


def _summary(house):
    return [(o.category, o.center, o.size, o.yaw_deg, o.room, o.parent, o.asset) for o in house.objects], house.meta[
        "visible"
    ]


def _schema_types(node: dict) -> set[str]:
    if "anyOf" in node:
        return set().union(*(_schema_types(n) for n in node["anyOf"]))
    t = node.get("type")
    return set(t) if isinstance(t, list) else {t}


def test_converters_read_only_the_listed_fields(metadata):
    full, stripped = scene_from_metadata(metadata), scene_from_metadata(_stripped(metadata))
    assert _summary(stripped) == _summary(full) and stripped.rooms == full.rooms
    assert pose_from_metadata(_stripped(metadata)) == pose_from_metadata(metadata)
    # without assetId the asset names fall back to the objects' names, nothing else changes
    bare = scene_from_metadata(_stripped(metadata, keep_optional=False))
    names = {o["objectId"]: o["name"] for o in metadata["objects"]}
    assert [o.asset for o in bare.objects] == [names[bare.meta["thor_ids"][o.id]] for o in bare.objects]
    assert [s[:-1] for s in _summary(bare)[0]] == [s[:-1] for s in _summary(full)[0]]


def test_fields_read_are_required_by_ai2thor_metadata_schema():
    schema = json.loads(fixture("metadata-schema.json").read_text())
    item = schema["properties"]["objects"]["items"]
    agent = schema["properties"]["agent"]
    box = item["properties"]["axisAlignedBoundingBox"]
    for fields, node in ((OBJECT_FIELDS, item), (TOP_FIELDS, schema), (AGENT_FIELDS, agent), (BOX_FIELDS, box)):
        for name, typ in fields.items():
            assert name in node["required"], name
            assert _schema_types(node["properties"][name]) == set(typ.split("|")), name
    assert not OPTIONAL_OBJECT_FIELDS & set(item["properties"])
    for xyz in (
        box["properties"]["center"],
        box["properties"]["size"],
        agent["properties"]["position"],
        agent["properties"]["rotation"],
        schema["properties"]["cameraPosition"],
    ):
        assert xyz["required"] == ["x", "y", "z"] and _schema_types(xyz["properties"]["y"]) == {"number"}
