"""Small documents in the real AI2-THOR / ProcTHOR schemas, built by the tests themselves (no tests here;
the real files live in ../shared/fixtures/ai2thor/ and are tested in test_thor_fixtures.py when present).

`two_room_house()`: a ProcTHOR house dict (rooms with floorPolygon and roomType, per-room and
exterior walls with 4-corner polygons, an interior door with holePolygon measured along its wall0,
a closed front door, objects with assetId/position/rotation and nested children, metadata with
schema "1.0.0", the legacy `agent` pose and `agentPoses` per agent mode, as ai2thor's
tests/data/arm/procthor_train_1.json has them).
`kitchen_metadata()`: an `event.metadata` dict (objects with objectType, objectId,
axisAlignedBoundingBox {center, size, cornerPoints}, visible, parentReceptacles; agent position /
rotation / cameraHorizon; cameraPosition, fov, screen size).
`procthor_metadata()`: the `event.metadata` of `two_room_house()` with the objectIds AI2-THOR gives a
ProcTHOR house (ai2thor ProceduralTools.CreateHouse / spawnSimObjPrefab): the house JSON ids, "<id>___<n>"
for a spawned asset's child SimObjects, "room|<n>" (Floor) per room, the receptacle floor "Floor",
walls and doors under their JSON ids (Wall, Doorway).
"""

from __future__ import annotations

from itertools import product

WALL_H = 2.5

# room|1 (living room): 5 x 4 rectangle; room|2 (kitchen): an L, 4 x 2 plus 2 x 1.5
LIVING = [(0.0, 0.0), (5.0, 0.0), (5.0, 4.0), (0.0, 4.0)]
KITCHEN = [(5.0, 3.5), (5.0, 0.0), (9.0, 0.0), (9.0, 2.0), (7.0, 2.0), (7.0, 3.5)]


def _p(x, y, z):
    return {"x": x, "y": y, "z": z}


def _wall(room: str, a, b, empty: bool = False) -> dict:
    (x0, z0), (x1, z1) = a, b
    lo, hi = sorted([(x0, z0), (x1, z1)])
    w = {
        "id": f"wall|{room}|{lo[0]:.2f}|{lo[1]:.2f}|{hi[0]:.2f}|{hi[1]:.2f}",
        "roomId": f"room|{room}" if room != "exterior" else "exterior",
        "polygon": [_p(x0, 0, z0), _p(x1, 0, z1), _p(x0, WALL_H, z0), _p(x1, WALL_H, z1)],
        "material": {"name": "PureWhite"},
    }
    if room == "exterior":  # exterior faces list the top corners first, as ProcTHOR does
        w["polygon"] = [_p(x0, WALL_H, z0), _p(x1, WALL_H, z1), _p(x0, 0, z0), _p(x1, 0, z1)]
    if empty:
        w["empty"] = True
    return w


def _obj(oid, asset, pos, yaw=0.0, children=(), **extra) -> dict:
    o = {
        "assetId": asset,
        "id": oid,
        "kinematic": True,
        "position": _p(*pos),
        "rotation": _p(0, yaw, 0),
        "layer": "Procedural1",
        "material": None,
    }
    if children:
        o["children"] = list(children)
    o.update(extra)
    return o


AGENT_POSE = {"horizon": 30, "position": _p(2.5, 0.95, 2.5), "rotation": _p(0, 90, 0), "standing": True}


def two_room_house() -> dict:
    walls = []
    for room, poly in (("1", LIVING), ("2", KITCHEN)):
        for a, b in zip(poly, poly[1:] + poly[:1]):
            walls.append(_wall(room, a, b))
    # exterior faces of every edge not shared by the two rooms (x = 5, z 0..3.5 is shared)
    for poly in (LIVING, KITCHEN):
        for a, b in zip(poly, poly[1:] + poly[:1]):
            if a[0] == b[0] == 5.0:
                continue
            walls.append(_wall("exterior", b, a))
    walls.append(_wall("exterior", (5.0, 4.0), (5.0, 3.5)))
    objects = [
        _obj(
            "Sofa|1|0", "Sofa_221_1", (2.5, 0.45, 0.6), 0.0, [_obj("Pillow|surface|1|1", "pillow_24", (2.2, 0.95, 0.6))]
        ),
        _obj(
            "CoffeeTable|1|2",
            "Coffee_Table_1_1",
            (2.5, 0.22, 1.8),
            0.0,
            [
                _obj("Laptop|surface|1|3", "Laptop_11", (2.3, 0.55, 1.8), 90.0),
                _obj("Book|surface|1|4", "Book_7", (2.8, 0.465, 1.8)),
            ],
        ),
        _obj(
            "TVStand|1|5|0",
            "TV_Stand_220_1",
            (2.5, 0.25, 3.75),
            180.0,
            [_obj("Television|1|5|1", "Television_14", (2.5, 0.85, 3.75), 180.0)],
        ),
        _obj("FloorLamp|1|6", "Floor_Lamp_11", (0.4, 0.85, 3.6), 180.0, isOn=True),
        _obj("Painting|1|7", "Wall_Decor_Photo_6", (0.02, 1.6, 2.0), 90.0),
        _obj("HousePlant|1|8", "Houseplant_18", (4.5, 0.5, 0.4), 11.15),
        _obj("ArmChair|1|9", "Armchair_230_1", (0.8, 0.45, 1.8), 90.0),
        _obj(
            "Fridge|2|0",
            "Fridge_5",
            (8.6, 0.9, 0.5),
            270.0,
            [_obj("Apple|surface|2|1", "Apple_27", (8.6, 1.2, 0.5), 270.0)],
        ),
        _obj(
            "CounterTop|2|2",
            "Countertop_I_8x2",
            (6.6, 0.45, 0.33),
            0.0,
            [
                _obj("Microwave|surface|2|3", "Microwave_9", (6.2, 1.05, 0.33)),
                _obj("Kettle|surface|2|4", "Kettle_1", (6.9, 1.02, 0.33)),
                _obj("HousePlant|surface|2|5", "Houseplant_14", (7.4, 1.15, 0.33)),
            ],
        ),
        _obj("DiningTable|2|6|0", "RoboTHOR_dining_table_jokkmokk_v", (6.0, 0.37, 2.45), 90.0),
        {"assetId": "bin_30", "kinematic": False, "position": _p(8.7, 0.3, 1.7), "rotation": _p(0, 180, 0)},
    ]
    return {
        "doors": [
            {
                "assetId": "Doorway_10",
                "id": "door|1|2",
                "openable": True,
                "openness": 1,
                "room0": "room|1",
                "room1": "room|2",
                "wall0": "wall|2|5.00|0.00|5.00|3.50",
                "wall1": "wall|1|5.00|0.00|5.00|4.00",
                "holePolygon": [_p(1.0, 0, 0), _p(2.0, 2.1, 0)],
                "assetPosition": _p(1.5, 1.05, 0),
            },
            {
                "assetId": "Doorway_Double_1",
                "id": "door|0|1",
                "openable": False,
                "openness": 0,
                "room0": "room|1",
                "room1": "room|1",
                "wall0": "wall|1|0.00|0.00|5.00|0.00",
                "wall1": "wall|exterior|0.00|0.00|5.00|0.00",
                "holePolygon": [_p(3.2, 0, 0), _p(4.2, 2.1, 0)],
                "assetPosition": _p(3.7, 1.05, 0),
            },
        ],
        "metadata": {
            "agent": AGENT_POSE,
            "schema": "1.0.0",
            "agentPoses": {
                "arm": AGENT_POSE,
                "default": AGENT_POSE,
                "stretch": AGENT_POSE,
                "locobot": {k: v for k, v in AGENT_POSE.items() if k != "standing"},
            },
        },
        "objects": objects,
        "proceduralParameters": {
            "floorColliderThickness": 1.0,
            "lights": [],
            "receptacleHeight": 0.7,
            "reflections": [],
            "skyboxId": "SkyOakland",
        },
        "rooms": [
            {
                "ceilings": [],
                "children": [],
                "floorMaterial": {"name": "WoodGrains"},
                "id": "room|1",
                "floorPolygon": [_p(x, 0, z) for x, z in LIVING],
                "roomType": "LivingRoom",
                "layer": "Procedural1",
            },
            {
                "ceilings": [],
                "children": [],
                "floorMaterial": {"name": "GreyFloor 3"},
                "id": "room|2",
                "floorPolygon": [_p(x, 0, z) for x, z in KITCHEN],
                "roomType": "Kitchen",
                "layer": "Procedural2",
            },
        ],
        "walls": walls,
        "windows": [],
    }


# -------------------------------------------------------------------------------- metadata
def _aabb(center, size) -> dict:
    cx, cy, cz = center
    sx, sy, sz = size
    corners = [[cx + a * sx / 2, cy + b * sy / 2, cz + c * sz / 2] for a, b, c in product((1, -1), repeat=3)]
    return {"center": _p(*center), "cornerPoints": corners, "size": _p(*size)}


def _mobj(object_id, object_type, center, size, yaw=0.0, visible=False, parents=None, asset=""):
    return {
        "assetId": asset,
        "axisAlignedBoundingBox": _aabb(center, size),
        "objectId": object_id,
        "objectType": object_type,
        "name": f"{object_type}_0001",
        "position": _p(*center),
        "rotation": _p(0.0, yaw, 0.0),
        "visible": visible,
        "parentReceptacles": parents,
        "objectOrientedBoundingBox": None,
        "receptacle": False,
        "pickupable": False,
        "distance": 1.0,
    }


FLOOR_ID = "Floor|+00.00|+00.00|+00.00"


def kitchen_metadata() -> dict:
    objects = [
        _mobj(FLOOR_ID, "Floor", (0.0, -0.05, 0.5), (4.0, 0.1, 5.0), parents=None),
        _mobj(
            "DiningTable|+00.50|+00.00|+01.00",
            "DiningTable",
            (0.5, 0.38, 1.0),
            (1.6, 0.76, 0.9),
            visible=True,
            parents=[FLOOR_ID],
            asset="Dining_Table_223_1",
        ),
        _mobj(
            "Mug|+00.40|+00.81|+01.10",
            "Mug",
            (0.4, 0.81, 1.1),
            (0.12, 0.1, 0.09),
            yaw=30.0,
            visible=True,
            parents=["DiningTable|+00.50|+00.00|+01.00"],
        ),
        _mobj(
            "HousePlant|+00.90|+00.76|+00.90",
            "HousePlant",
            (0.9, 0.96, 0.9),
            (0.2, 0.4, 0.2),
            parents=["DiningTable|+00.50|+00.00|+01.00"],
        ),
        _mobj("HousePlant|-01.70|+00.00|+02.70", "HousePlant", (-1.7, 0.55, 2.7), (0.5, 1.1, 0.5), parents=[FLOOR_ID]),
        _mobj(
            "Fridge|+01.60|+00.00|-01.50",
            "Fridge",
            (1.6, 0.9, -1.5),
            (0.7, 1.8, 0.75),
            yaw=270.0,
            visible=True,
            parents=None,
        ),
        _mobj("Sink|-01.20|+00.90|-01.60", "Sink", (-1.2, 0.85, -1.6), (0.6, 0.2, 0.5), parents=None),
        _mobj("Drawer|-00.60|+00.70|-01.70", "Drawer", (-0.6, 0.7, -1.7), (0.4, 0.2, 0.4), parents=None),
        _mobj("StoveBurner|+00.20|+00.92|-01.70", "StoveBurner", (0.2, 0.93, -1.7), (0.2, 0.03, 0.2)),
        _mobj("Chair|+01.40|+00.00|+01.00", "Chair", (1.4, 0.5, 1.0), (0.5, 1.0, 0.55), yaw=270.0, parents=[FLOOR_ID]),
    ]
    return {
        "agent": {
            "cameraHorizon": 30.0,
            "isStanding": True,
            "name": "agent",
            "position": _p(-0.5, 0.9009992, 0.25),
            "rotation": _p(0.0, 135.0, 0.0),
        },
        "cameraPosition": _p(-0.5, 1.5759993, 0.25),
        "fov": 60.0,
        "screenWidth": 680,
        "screenHeight": 384,
        "objects": objects,
        "sceneBounds": _aabb((0.0, 1.4, 0.5), (4.2, 3.0, 5.2)),
        "sceneName": "FloorPlan5",
        "lastAction": "TeleportFull",
        "lastActionSuccess": True,
        "errorMessage": "",
    }


def procthor_metadata() -> dict:
    F = ["Floor"]
    objects = [
        _mobj("Floor", "Floor", (4.5, -0.5, 2.0), (9.0, 1.0, 4.0)),
        _mobj("room|1", "Floor", (2.5, 0.0, 2.0), (5.0, 0.0, 4.0)),
        _mobj("room|2", "Floor", (7.0, 0.0, 1.75), (4.0, 0.0, 3.5)),
        _mobj("wall|2|5.00|0.00|5.00|3.50", "Wall", (5.0, 1.25, 1.75), (0.0, 2.5, 3.5)),
        _mobj("door|1|2", "Doorway", (5.0, 1.05, 2.0), (0.1, 2.1, 1.0)),
        _mobj("Sofa|1|0", "Sofa", (2.5, 0.45, 0.6), (2.0, 0.9, 0.9), visible=True, parents=F, asset="Sofa_221_1"),
        _mobj("HousePlant|1|8", "HousePlant", (4.5, 0.5, 0.4), (0.4, 1.0, 0.4), parents=F),
        _mobj("Dresser|1|10", "Dresser", (0.4, 0.45, 1.0), (0.5, 0.9, 1.2), yaw=90.0, parents=F),
        _mobj("Dresser|1|10___0", "Drawer", (0.6, 0.3, 1.0), (0.1, 0.2, 1.0)),
        _mobj("CounterTop|2|2", "CounterTop", (6.6, 0.45, 0.33), (1.6, 0.9, 0.66), parents=F),
        _mobj("HousePlant|surface|2|5", "HousePlant", (7.4, 1.15, 0.33), (0.2, 0.5, 0.2), parents=["CounterTop|2|2"]),
    ]
    return {
        "agent": {
            "cameraHorizon": 30.0,
            "isStanding": True,
            "name": "agent",
            "position": _p(2.5, 0.9009992, 2.5),
            "rotation": _p(0.0, 90.0, 0.0),
        },
        "cameraPosition": _p(2.5, 1.5759992, 2.5),
        "fov": 60.0,
        "screenWidth": 8,
        "screenHeight": 6,
        "objects": objects,
        "sceneBounds": _aabb((4.5, 1.25, 2.0), (9.2, 2.7, 4.2)),
        "sceneName": "Procedural",
        "lastAction": "CreateHouse",
        "lastActionSuccess": True,
        "errorMessage": "",
    }
