"""The thor backend: metadata -> House / CameraPose / visible fractions converters on an
`event.metadata`-like document the test builds in the real schema, the objectType table, hubs from
reachable positions, and the fail-fast preflight (no controller is faked: where AI2-THOR cannot run,
constructing the simulator must raise our one-line error within seconds)."""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from test_thor_docs import AGENT_POSE, FLOOR_ID, kitchen_metadata, procthor_metadata, two_room_house

from simsv_stream.annotate import visible_fractions
from simsv_stream.camera import ID_CEILING, ID_DOOR_FRAME, ID_FLOOR, ID_NONE, ID_WALL, CameraPose
from simsv_stream.scene import thor
from simsv_stream.scene.procthor import house_from_procthor
from simsv_stream.scene.thor import (
    ThorActionFailed,
    ThorSimulator,
    ThorUnavailable,
    agent_pose,
    house_for_unity,
    hubs_from_reachable,
    instance_buffer_from_masks,
    pose_from_metadata,
    scene_from_metadata,
    teleport_action,
    visible_from_instance_masks,
)
from simsv_stream.scene.thor_types import (
    category_of,
    object_type_of,
    room_type_of,
    room_type_of_scene,
    structure_id_of_key,
    words,
)

TABLE = "DiningTable|+00.50|+00.00|+01.00"
MUG = "Mug|+00.40|+00.81|+01.10"
SINK = "Sink|-01.20|+00.90|-01.60"


# ------------------------------------------------------------------------------ the table
def test_object_type_table():
    assert category_of("Fridge") == "refrigerator" and category_of("GarbageCan") == "trash can"
    assert category_of("TVStand") == "tv stand" and category_of("Television") == "tv"
    assert category_of("HousePlant") == "plant" and category_of("HousePlant", on_surface=True) == "potted plant"
    assert category_of("TeddyBear") == "teddy bear" and category_of("CD") == "cd"  # not in the table: words
    for skipped in ("Floor", "Wall", "wall", "Ceiling", "Window", "Doorway", "Drawer", "StoveBurner", "SinkBasin"):
        assert category_of(skipped) is None, skipped
    assert words("PaperTowelRoll") == "paper towel roll"
    assert object_type_of("Chair|3|0|1", "RoboTHOR_office_chair_volmar") == "Chair"
    assert object_type_of("", "RoboTHOR_dining_table_jokkmokk_v") == "DiningTable"
    assert object_type_of("", "bin_30") == "GarbageCan" and object_type_of("", "Countertop_L_4x4") == "CounterTop"
    assert (
        object_type_of("", "Toilet_Paper_Used_Up") == "ToiletPaper"
        and object_type_of("", "Wall_Decor_Photo_6") == "Painting"
    )
    assert room_type_of("LivingRoom") == "living_room" and room_type_of("Kitchen") == "kitchen"
    assert room_type_of("GameRoom") == "game_room"
    assert room_type_of_scene("FloorPlan5") == "kitchen" and room_type_of_scene("FloorPlan312") == "bedroom"
    assert room_type_of_scene("iTHOR_Kitchen_Val_09") == "kitchen"


# ------------------------------------------------------------------------ metadata -> House
def test_scene_from_metadata_objects_and_boxes():
    md = kitchen_metadata()
    house = scene_from_metadata(md)
    by = {house.meta["thor_ids"][o.id]: o for o in house.objects}
    # floors are structure; drawers and stove burners are parts: left out
    assert set(by) == {
        TABLE,
        MUG,
        "HousePlant|+00.90|+00.76|+00.90",
        "HousePlant|-01.70|+00.00|+02.70",
        "Fridge|+01.60|+00.00|-01.50",
        SINK,
        "Chair|+01.40|+00.00|+01.00",
    }
    assert [o.id for o in house.objects] == list(range(1, 8))  # ids in objectId order
    assert [house.meta["thor_ids"][i] for i in range(1, 8)] == sorted(by)
    cats = {k: o.category for k, o in by.items()}
    assert (
        cats[TABLE] == "dining table" and cats[MUG] == "mug" and cats["Fridge|+01.60|+00.00|-01.50"] == "refrigerator"
    )
    assert (
        cats["HousePlant|+00.90|+00.76|+00.90"] == "potted plant" and cats["HousePlant|-01.70|+00.00|+02.70"] == "plant"
    )
    src = {o["objectId"]: o for o in md["objects"]}
    for oid, o in by.items():
        box = src[oid]["axisAlignedBoundingBox"]
        assert o.center == pytest.approx(tuple(box["center"][k] for k in "xyz"))
        assert o.size == pytest.approx(tuple(box["size"][k] for k in "xyz"))
        corners = np.array(box["cornerPoints"])
        assert o.min == pytest.approx(tuple(corners.min(axis=0))) and o.max == pytest.approx(tuple(corners.max(axis=0)))
    assert by[MUG].parent == by[TABLE].id and by[MUG].yaw_deg == 30.0
    assert by[TABLE].parent is None  # standing on the floor
    assert by["Fridge|+01.60|+00.00|-01.50"].yaw_deg == 270.0
    assert house.meta["visible"] == sorted(by[k].id for k in (TABLE, MUG, "Fridge|+01.60|+00.00|-01.50"))
    # one room: the Floor object's footprint, typed from the scene name (FloorPlan5: a kitchen)
    (room,) = house.rooms
    assert room.type == "kitchen" and room.area_m2 == pytest.approx(4.0 * 5.0) and room.floor_y == pytest.approx(0.0)
    assert {o.room for o in house.objects} == {room.id} and house.source == "thor"


def test_scene_from_metadata_with_a_procthor_layout():
    layout = house_from_procthor(two_room_house())
    md = kitchen_metadata()
    for o in md["objects"]:  # move the objects into the kitchen of the layout
        c = o["axisAlignedBoundingBox"]["center"]
        c["x"], c["z"] = 7.0 + c["x"] * 0.4, 1.0 + c["z"] * 0.3
    house = scene_from_metadata(md, layout=layout)
    assert house.rooms == layout.rooms and house.walls == layout.walls and house.doors == layout.doors
    assert house.meta["walk_hubs"] == layout.meta["walk_hubs"]
    assert {o.room for o in house.objects} == {"room|2"} and len(house.objects) == 7


def test_pose_from_metadata():
    md = kitchen_metadata()
    pose = pose_from_metadata(md)
    assert pose.position == pytest.approx((-0.5, 1.5759993, 0.25))  # cameraPosition, not the agent's centre
    assert pose.yaw_deg == pytest.approx(135.0) and pose.pitch_deg == pytest.approx(-30.0)  # horizon 30 looks down
    # metadata fov is vertical (60 deg at 680x384): horizontal = 2 atan(tan 30 * 680/384)
    assert pose.fov_deg == pytest.approx(math.degrees(2 * math.atan(math.tan(math.radians(30)) * 680 / 384)))
    assert pose_from_metadata(md, fov_deg=75.0, time_s=1.5).fov_deg == 75.0
    md["agent"]["rotation"]["y"] = 270.0
    del md["cameraPosition"]
    p2 = pose_from_metadata(md)
    assert p2.yaw_deg == pytest.approx(-90.0) and p2.position[1] == pytest.approx(0.9009992 + 0.675)
    fwd = p2.forward  # yaw -90 looks along -x, pitch -30 down
    assert fwd[0] < -0.8 and fwd[1] < -0.4 and abs(fwd[2]) < 1e-9


def test_instance_masks_to_ids_and_fractions():
    house = scene_from_metadata(kitchen_metadata())
    id_of = house.meta["id_of"]
    h, w = 40, 50
    masks = {}
    floor = np.zeros((h, w), bool)
    floor[30:, :] = True
    masks[FLOOR_ID] = floor
    wall = np.zeros((h, w), bool)
    wall[:10, :] = True
    masks["wall|2|8.77|0.00|8.77|5.26"] = wall  # ProcTHOR wall ids are lower case
    table = np.zeros((h, w), bool)
    table[20:35, 10:40] = True  # overlaps the floor: the object wins
    masks[TABLE] = table
    mug = np.zeros((h, w), bool)
    mug[18:20, 20:22] = True
    masks[MUG] = mug
    sink, basin = np.zeros((h, w), bool), np.zeros((h, w), bool)
    sink[12:16, 0:5] = True
    basin[16:18, 0:5] = True
    masks[SINK] = sink
    masks[SINK + "|SinkBasin"] = basin  # a part counts for its object
    drawer = np.zeros((h, w), bool)
    drawer[12:14, 45:50] = True
    masks["Drawer|-00.60|+00.70|-01.70"] = drawer  # not named: nothing
    buf = instance_buffer_from_masks(masks, id_of, h, w)
    assert buf.dtype == np.int32 and buf.shape == (h, w)
    assert buf[0, 0] == ID_WALL and buf[39, 0] == ID_FLOOR and buf[13, 47] == ID_NONE and buf[25, 5] == ID_NONE
    assert buf[25, 20] == id_of[TABLE] and buf[19, 21] == id_of[MUG] and buf[17, 2] == id_of[SINK]
    vis = visible_from_instance_masks(masks, id_of, h, w)
    assert vis == pytest.approx(
        {id_of[TABLE]: 15 * 30 / (h * w), id_of[MUG]: 4 / (h * w), id_of[SINK]: (20 + 10) / (h * w)}
    )
    assert vis == visible_fractions(buf[None])[0]
    with pytest.raises(ValueError, match="shape"):
        instance_buffer_from_masks({TABLE: np.zeros((3, 3), bool)}, id_of, h, w)


# ---------------------------------------------------------------- real key formats (ai2thor)
# Names as ai2thor's own dump of an iTHOR kitchen has them in metadata["colors"]
# (ai2thor tests/data/instance_segmentation_metadata.json): StructureObject renderers are keyed
# "<GameObject name>|<x>|<y>|<z>" (ai2thor ImageSynthesis.OnSceneChange), SimObjects by objectId.
ITHOR_STRUCTURE_KEYS = {
    "Floor|+00.00|+00.00|+00.00": ID_FLOOR,
    "Ceiling|0|2.92|0": ID_CEILING,
    "StandardWallSize|1|0|2": ID_WALL,
    "StandardWallTileHeight1|1.3|0|0.18": ID_WALL,
    "Window|-03.00|+01.00|-02.64": ID_WALL,
    "StandardDoorFrame1|-3|0|3.1": ID_DOOR_FRAME,
    "StandardDoor1|-3|0|3.1": ID_DOOR_FRAME,
    # not structure: kitchen island, light fixtures, stove doors, a door knob
    "StandardIslandHeight2|-1|0|-0.8": None,
    "LightFixture1 (2)|0.6315|2.8177|0.051": None,
    "StoveTopDoor1|-1.503001|0|-1.06545": None,
    "StandardKnob1|-3|0|3.1": None,
}
# ProcTHOR (ai2thor ProceduralTools.CreateHouse): walls, doors, windows keep their JSON ids, a room's floor
# is the SimObject "room|<n>", a room's ceiling the StructureObject "Ceiling_<room id>" at (0, y, 0).
PROCTHOR_STRUCTURE_KEYS = {
    "wall|2|5.00|0.00|5.00|3.50": ID_WALL,
    "wall|exterior|0.00|0.00|5.00|0.00": ID_WALL,
    "room|2": ID_FLOOR,
    "Ceiling_room|2|0|2.5|0": ID_CEILING,
    "door|1|2": ID_DOOR_FRAME,
    "window|3|1": ID_WALL,
}


def test_structure_names_of_real_keys():
    for key, want in {**ITHOR_STRUCTURE_KEYS, **PROCTHOR_STRUCTURE_KEYS}.items():
        assert structure_id_of_key(key) == want, key
    house = scene_from_metadata(kitchen_metadata())
    masks = {k: np.full((2, 2), True) for k in ITHOR_STRUCTURE_KEYS}
    for key, want in ITHOR_STRUCTURE_KEYS.items():
        buf = instance_buffer_from_masks({key: masks[key]}, house.meta["id_of"], 2, 2)
        assert int(buf[0, 0]) == (ID_NONE if want is None else want), key


def _event_with_masks(metadata: dict, regions: dict[str, tuple[slice, slice]]):
    """A real ai2thor.server.Event whose instance segmentation frame paints each name's region in its
    colour, as Unity sends it (RGBA32 bytes, bottom row first); metadata["colors"] lists every name
    with a colour, plus two bare class names as Unity adds them."""
    server = pytest.importorskip("ai2thor.server")
    h, w = metadata["screenHeight"], metadata["screenWidth"]
    names = list(regions) + ["Wall", "Floor"]
    colors = {n: [(37 * i + 11) % 256, (91 * i + 5) % 256, (53 * i + 200) % 256] for i, n in enumerate(names)}
    md = dict(metadata, colors=[{"name": n, "color": c} for n, c in colors.items()])
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 3] = 255
    for name, (rows, cols) in regions.items():
        rgba[rows, cols, :3] = colors[name]
    ev = server.Event(md)
    ev.add_image_ids(np.ascontiguousarray(rgba[::-1]).tobytes())
    return ev


def test_procthor_instance_masks_through_ai2thor_event():
    md = procthor_metadata()
    house = scene_from_metadata(md)
    id_of, types = house.meta["id_of"], house.meta["thor_types"]
    # structure, parts and the receptacle floor are not objects; the dresser's drawer is its part
    assert set(id_of) == {"Sofa|1|0", "HousePlant|1|8", "Dresser|1|10", "CounterTop|2|2", "HousePlant|surface|2|5"}
    assert types["room|2"] == "Floor" and types["Dresser|1|10___0"] == "Drawer" and types["door|1|2"] == "Doorway"
    cats = {house.meta["thor_ids"][o.id]: o.category for o in house.objects}
    assert cats["HousePlant|1|8"] == "plant" and cats["HousePlant|surface|2|5"] == "potted plant"
    regions = {
        "room|2": (slice(5, 6), slice(0, 8)),
        "wall|2|5.00|0.00|5.00|3.50": (slice(1, 2), slice(0, 8)),
        "Ceiling_room|2|0|2.5|0": (slice(0, 1), slice(0, 8)),
        "door|1|2": (slice(2, 3), slice(0, 2)),
        "Sofa|1|0": (slice(3, 5), slice(0, 3)),
        "Dresser|1|10": (slice(3, 4), slice(4, 6)),
        "Dresser|1|10___0": (slice(4, 5), slice(4, 6)),
    }
    ev = _event_with_masks(md, regions)
    # the keys are the names with a "|" whose colour is in the frame; bare class names are not keys
    assert set(ev.instance_masks) == set(regions)
    buf = instance_buffer_from_masks(ev.instance_masks, id_of, 6, 8, types)
    assert buf.dtype == np.int32 and buf.shape == (6, 8)
    assert buf[0, 3] == ID_CEILING and buf[1, 3] == ID_WALL and buf[5, 3] == ID_FLOOR and buf[2, 0] == ID_DOOR_FRAME
    assert buf[3, 0] == id_of["Sofa|1|0"] and buf[3, 4] == buf[4, 5] == id_of["Dresser|1|10"]
    assert buf[2, 5] == ID_NONE  # nothing painted there
    # without the type table the names alone give the same structure ids
    assert (instance_buffer_from_masks(ev.instance_masks, id_of, 6, 8) == buf).all()
    vis = visible_from_instance_masks(ev.instance_masks, id_of, 6, 8, types)
    assert vis == pytest.approx({id_of["Sofa|1|0"]: 6 / 48, id_of["Dresser|1|10"]: 4 / 48})


def test_floor_parent_is_told_by_its_type():
    md = procthor_metadata()
    for o in md["objects"]:  # a house with an `id`: its receptacle floor takes that id (CreateHouse)
        if o["objectId"] == "Floor":
            o["objectId"] = "house_17"
        if o.get("parentReceptacles") == ["Floor"]:
            o["parentReceptacles"] = ["house_17"]
    cats = {h.meta["thor_ids"][o.id]: o.category for h in [scene_from_metadata(md)] for o in h.objects}
    assert cats["HousePlant|1|8"] == "plant" and cats["HousePlant|surface|2|5"] == "potted plant"


# ------------------------------------------------------------------------ actions we send
def test_teleport_action_is_the_real_signature():
    pose = CameraPose((1.25, 1.5, -2.0), -90.0, -30.0, 75.0, 0.0)
    a = teleport_action(pose, agent_y=0.9009992)
    # PhysicsRemoteFPSAgentController.TeleportFull(Vector3 position, Vector3 rotation, float horizon,
    # bool standing, bool forceAction): the agent's own y, yaw as rotation.y, horizon = -pitch (down +)
    assert a == {
        "action": "TeleportFull",
        "position": {"x": 1.25, "y": 0.9009992, "z": -2.0},
        "rotation": {"x": 0.0, "y": 270.0, "z": 0.0},
        "horizon": 30.0,
        "standing": True,
        "forceAction": True,
    }
    assert teleport_action(pose, 0.9, xz=(0.5, 0.75))["position"] == {"x": 0.5, "y": 0.9, "z": 0.75}


def test_agent_pose_of_a_house():
    doc = two_room_house()
    assert agent_pose(doc) == {
        "position": {"x": 2.5, "y": 0.95, "z": 2.5},
        "rotation": {"x": 0.0, "y": 90.0, "z": 0.0},
        "horizon": 30.0,
        "standing": True,
    }
    doc["metadata"]["agentPoses"]["default"] = dict(AGENT_POSE, position={"x": 1.0, "y": 0.95, "z": 1.0})
    assert agent_pose(doc)["position"] == {"x": 1.0, "y": 0.95, "z": 1.0}  # agentPoses wins (CreateHouse uses it)
    legacy = two_room_house()
    del legacy["metadata"]["agentPoses"]
    legacy["metadata"]["agent"]["rotation"] = 180
    assert agent_pose(legacy)["rotation"] == {"x": 0.0, "y": 180.0, "z": 0.0}
    assert agent_pose({"metadata": {}}) is None and agent_pose({}) is None


def test_house_for_unity():
    doc = dict(two_room_house(), _source="h.jsonl:3")
    doc["doors"][0]["openness"] = 0
    out = house_for_unity(doc)
    assert "_source" not in out and doc["_source"] == "h.jsonl:3"
    assert {d["id"]: d["openness"] for d in out["doors"]} == {"door|1|2": 1, "door|0|1": 0}  # front door stays shut
    assert doc["doors"][0]["openness"] == 0  # the input is not changed


def test_failed_action_raises():
    server = pytest.importorskip("ai2thor.server")
    md = dict(procthor_metadata(), lastActionSuccess=False, errorMessage="House metadata schema not specified!")
    with pytest.raises(ThorActionFailed, match="CreateHouse.*schema not specified"):
        thor._checked(server.Event(md), "CreateHouse (house 0)")
    assert thor._checked(server.Event(procthor_metadata()), "x").metadata["lastAction"] == "CreateHouse"


def test_hubs_from_reachable_positions():
    layout = house_from_procthor(two_room_house())
    grid = 0.25
    # reachable: the living room's floor on a 0.25 m grid, minus a blocked square around (2.5, 2.0)
    pts = [
        {"x": x, "y": 0.9, "z": z}
        for x in np.arange(0.25, 4.8, grid)
        for z in np.arange(0.25, 3.8, grid)
        if not (1.5 <= x <= 3.5 and 1.0 <= z <= 3.0)
    ]
    hubs = hubs_from_reachable(layout, pts, grid)
    x, z, r = hubs["room|1"]
    reach = np.array([(p["x"], p["z"]) for p in pts])
    assert np.hypot(reach[:, 0] - x, reach[:, 1] - z).min() < 1e-6  # on a reachable point
    assert not (1.5 - r <= x <= 3.5 + r and 1.0 - r <= z <= 3.0 + r)  # the circle avoids the blocked block
    assert hubs["room|2"] == layout.meta["walk_hubs"]["room|2"]  # no reachable points there: layout's hub


# ------------------------------------------------------------------------------- preflight
def test_checks_are_ordered_and_say_what_to_do():
    checks = thor.thor_checks()
    assert [c.name for c in checks] == ["ai2thor", "vulkan", "gpu", "build"]
    for c in checks:
        assert "\n" not in c.detail and c.detail
    missing = thor.check_gpu(gpu_device=99)
    assert not missing.ok and ("99" in missing.detail or "no GPU" in missing.detail)


def test_gpu_per_worker_slot():
    assert thor.default_gpu_device({"SIMSV_THOR_GPU": "2", "SIMSV_WORKER_SLOT": "5"}) == 2  # explicit wins
    four = {"CUDA_VISIBLE_DEVICES": "4,5,6,7"}
    assert [thor.default_gpu_device(dict(four, SIMSV_WORKER_SLOT=str(i))) for i in range(6)] == [0, 1, 2, 3, 0, 1]
    assert thor.default_gpu_device({"CUDA_VISIBLE_DEVICES": "3", "SIMSV_WORKER_SLOT": "5"}) is None  # one GPU
    assert thor.default_gpu_device({"CUDA_VISIBLE_DEVICES": "0,1"}) is None  # not a fleet worker


def test_thor_simulator_fails_fast_here(tmp_path):
    if all(c.ok for c in thor.thor_checks()):
        pytest.skip("this machine can run AI2-THOR: the fail-fast path is not reachable (see the GPU test)")
    houses = tmp_path / "h.json"
    houses.write_text(__import__("json").dumps(two_room_house()))
    t0 = time.perf_counter()
    with pytest.raises(ThorUnavailable) as e:
        ThorSimulator(gpu_device=0, width=680, height=384, houses=str(houses))
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, elapsed
    msg = str(e.value)
    assert "\n" not in msg and e.value.check in ("ai2thor", "vulkan", "gpu", "build")
    assert msg.startswith(f"thor backend unavailable [{e.value.check}]: ")
    if importlib.util.find_spec("ai2thor") is not None:  # the dev install has the real package
        assert e.value.check != "ai2thor", msg
    # the stream worker's factory path fails the same way
    from simsv_stream.stream.backends import get_backend

    with pytest.raises(ThorUnavailable):
        get_backend("thor", {"houses": str(houses)})


def test_doctor_lists_backends():
    exe = os.path.join(os.path.dirname(sys.executable), "simsv-stream")
    p = subprocess.run([exe, "doctor"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    rows = {ln.split()[0]: ln.split()[1] for ln in lines[1:] if ln and not ln.startswith(" ")}
    assert rows["procedural"] == "yes" and rows["procthor-layout"] == "yes" and rows["thor"] in ("yes", "no")
    for name in ("ai2thor", "vulkan", "gpu", "build"):
        assert any(ln.split()[1:2] == [name] for ln in lines if ln.startswith(" ")), name
    req = subprocess.run([exe, "doctor", "--require", "thor"], capture_output=True, text=True, timeout=60)
    assert req.returncode == (0 if rows["thor"] == "yes" else 1)


# ------------------------------------------------------------------- the real controller
def test_real_controller_episode(tmp_path):
    """Runs only where AI2-THOR can run (GPU, Vulkan, Unity build): one short episode end to end."""
    checks = thor.thor_checks()
    bad = next((c for c in checks if not c.ok), None)
    if bad is not None:
        pytest.skip(f"AI2-THOR cannot run here: [{bad.name}] {bad.detail}")
    from simsv_stream.config import Scales
    from simsv_stream.questions import generate_all

    houses = tmp_path / "h.json"
    houses.write_text(__import__("json").dumps(two_room_house()))
    with ThorSimulator(width=320, height=240, houses=str(houses)) as sim:
        ep = sim.simulate(0, Scales(frames=8, width=320, height=240, rooms_min=2, rooms_max=2))
    assert ep.frames.rgb.shape == (8, 240, 320, 3) and ep.frames.rgb.std() > 5
    assert ep.salient_ids and {a.room for a in ep.annotations} <= {"room|1", "room|2"}
    assert generate_all(ep, np.random.default_rng(0))
    # the conventions nothing else here can check (docs/thor.md, "First run on a GPU"):
    # forced TeleportFull puts the camera 0.675 m above the standing agent, inside the house
    layout = house_from_procthor(two_room_house())
    for pose in ep.poses:
        assert pose.position[1] == pytest.approx(1.576, abs=0.05)
        assert any(r.contains((pose.position[0], pose.position[2])) for r in layout.rooms), pose
    # ProcTHOR's mask keys map: floors and walls are seen in every frame, few pixels map to nothing
    inst = ep.frames.instance
    assert all((f == ID_FLOOR).any() and (f == ID_WALL).any() for f in inst)
    assert (inst == ID_NONE).mean() < 0.3, (inst == ID_NONE).mean()
    finite = ep.frames.depth[np.isfinite(ep.frames.depth)]
    assert finite.size > 0.9 * ep.frames.depth.size and 0.3 < float(np.median(finite)) < 10.0
