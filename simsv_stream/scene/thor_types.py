"""AI2-THOR / ProcTHOR object types and room types -> our category and room-type names (one table).

AI2-THOR names objects by `objectType` (CamelCase: "DiningTable", "GarbageCan", "TVStand"); ProcTHOR
house JSONs carry the type as the first field of each object's `id` ("DiningTable|3|0|0") and an
`assetId` ("RoboTHOR_dining_table_jokkmokk_v"). Question text uses lower-case category names, the
catalog's where the thing is the same ("Fridge" -> "refrigerator", "GarbageCan" -> "trash can"),
else the type split into words ("TeddyBear" -> "teddy bear").

* `category_of(object_type, on_surface)` -> category, or None for structure and object parts that
  are never named in a question (floors, walls, windows, drawers, stove burners, sink basins...).
* `structure_id(object_type)` -> the render id convention (camera.ID_*) of structural types.
* `structure_id_of_key(key)` -> the same for an `event.instance_masks` key that is not a named
  object: structure Unity keys by GameObject name (see the function).
* `object_type_of(id, asset_id)` -> the AI2-THOR object type of a ProcTHOR object.
* `typical_size(category)` -> (width, height, depth) in metres: the catalog's range midpoints for
  catalog categories, else this table (ProcTHOR JSON has no asset dimensions).
* `room_type_of(room_type)` -> "living_room", "kitchen", ... from ProcTHOR's "LivingRoom", ...
"""

from __future__ import annotations

import re
from typing import Optional

from ..camera import ID_CEILING, ID_DOOR_FRAME, ID_FLOOR, ID_WALL
from .catalog import CATALOG

# ------------------------------------------------------------------------------ object types
# AI2-THOR objectType -> our category. Types not listed (and not skipped) become their words in
# lower case: "TeddyBear" -> "teddy bear".
TYPE_TO_CATEGORY: dict[str, str] = {
    "AlarmClock": "alarm clock",
    "ArmChair": "armchair",
    "Bathtub": "bathtub",
    "Bed": "bed",
    "Book": "book",
    "Bottle": "bottle",
    "Bowl": "bowl",
    "Cabinet": "cabinet",
    "Chair": "chair",
    "CoffeeTable": "coffee table",
    "CounterTop": "counter",
    "Cup": "cup",
    "Desk": "desk",
    "DeskLamp": "table lamp",
    "Desktop": "desktop computer",
    "DiningTable": "dining table",
    "Dishwasher": "dishwasher",
    "DishWasher": "dishwasher",
    "Dresser": "dresser",
    "FloorLamp": "floor lamp",
    "Fridge": "refrigerator",
    "GarbageCan": "trash can",
    "HousePlant": "plant",  # "potted plant" when it stands on a surface, see category_of
    "Kettle": "kettle",
    "Laptop": "laptop",
    "Microwave": "microwave",
    "Plate": "plate",
    "ShelvingUnit": "shelving unit",
    "SideTable": "side table",
    "Sink": "sink",
    "Sofa": "sofa",
    "Stool": "stool",
    "Stove": "stove",
    "TVStand": "tv stand",
    "Television": "tv",
    "Toaster": "toaster",
    "Toilet": "toilet",
    "Vase": "vase",
    "WashingMachine": "washer",
    "CellPhone": "cell phone",
    "CD": "cd",
}

# Types that are building structure: never objects; their pixels get these render ids.
STRUCTURE: dict[str, int] = {
    "Floor": ID_FLOOR,
    "Wall": ID_WALL,
    "Ceiling": ID_CEILING,
    "Window": ID_WALL,
    "Door": ID_DOOR_FRAME,
    "Doorway": ID_DOOR_FRAME,
    "Doorframe": ID_DOOR_FRAME,
    "DoorFrame": ID_DOOR_FRAME,
}

# Parts of other objects and fixtures that SIMS-V-style questions do not name.
SKIPPED: frozenset[str] = frozenset(
    {
        "Drawer",
        "Shelf",
        "StoveBurner",
        "StoveKnob",
        "SinkBasin",
        "BathtubBasin",
        "LightSwitch",
        "ShowerHead",
        "ShowerDoor",
        "ShowerGlass",
        "ShowerCurtain",
        "Blinds",
        "Curtains",
        "TargetCircle",
    }
)

# ProcTHOR assetId words -> object type, where the words are not the type itself (matched on the
# longest prefix of the asset's words, lower case, "_" removed; see object_type_of).
ASSET_ALIASES: dict[str, str] = {
    "bin": "GarbageCan",
    "countertop": "CounterTop",
    "tvstand": "TVStand",
    "walldecorphoto": "Painting",
    "walldecorpainting": "Painting",
    "tennisracquet": "TennisRacket",
    "washingmachine": "WashingMachine",
    "remote": "RemoteControl",
    "houseplant": "HousePlant",
    "keychain": "KeyChain",
    "cellphone": "CellPhone",
    "bathroomfaucet": "Faucet",
    "kitchenfaucet": "Faucet",
    "toiletpaperusedup": "ToiletPaper",
    "fertilitystatue": "Statue",
    "handstatue": "Statue",
    "towelstatue": "Statue",
    "papertowel": "PaperTowelRoll",
    "dogbed": "DogBed",
    "garbagebag": "GarbageBag",
    "armchair": "ArmChair",
    "officechair": "Chair",
    "mug": "Mug",
    "sidetable": "SideTable",
    "coffeetable": "CoffeeTable",
    "deskLamp": "DeskLamp",
}

_KNOWN_TYPES = sorted(
    set(TYPE_TO_CATEGORY)
    | set(STRUCTURE)
    | set(SKIPPED)
    | {
        "AluminumFoil",
        "Apple",
        "BaseballBat",
        "BasketBall",
        "Boots",
        "Box",
        "Bread",
        "ButterKnife",
        "Candle",
        "Cloth",
        "ClothesDryer",
        "CoffeeMachine",
        "CreditCard",
        "DishSponge",
        "DogBed",
        "Dumbbell",
        "Egg",
        "Faucet",
        "Footstool",
        "Fork",
        "GarbageBag",
        "HandTowel",
        "HandTowelHolder",
        "KeyChain",
        "Knife",
        "Ladle",
        "LaundryHamper",
        "Lettuce",
        "Mirror",
        "Mug",
        "Newspaper",
        "Ottoman",
        "Painting",
        "Pan",
        "PaperTowelRoll",
        "Pen",
        "Pencil",
        "PepperShaker",
        "Pillow",
        "Plunger",
        "Poster",
        "Pot",
        "Potato",
        "RemoteControl",
        "RoomDecor",
        "Safe",
        "SaltShaker",
        "ScrubBrush",
        "SoapBar",
        "SoapBottle",
        "Spatula",
        "Spoon",
        "SprayBottle",
        "Statue",
        "TableTopDecor",
        "TeddyBear",
        "TennisRacket",
        "TissueBox",
        "ToiletPaper",
        "ToiletPaperHanger",
        "Tomato",
        "Towel",
        "TowelHolder",
        "VacuumCleaner",
        "Watch",
        "WateringCan",
        "WineBottle",
    }
)
_TYPE_BY_KEY: dict[str, str] = {t.lower(): t for t in _KNOWN_TYPES}
_TYPE_BY_KEY.update({k.lower(): v for k, v in ASSET_ALIASES.items()})

_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")


def words(object_type: str) -> str:
    """'TeddyBear' -> 'teddy bear', 'TVStand' -> 'tv stand', 'CD' -> 'cd'."""
    s = _CAMEL_2.sub(r"\1 \2", object_type)
    s = _CAMEL_1.sub(r"\1 \2", s)
    return " ".join(s.replace("_", " ").lower().split())


def structure_id(object_type: str) -> Optional[int]:
    """Render id (camera.ID_FLOOR, ...) of a structural type, case-insensitive; None otherwise."""
    key = object_type.lower()
    for t, v in STRUCTURE.items():
        if t.lower() == key:
            return v
    return None


def structure_id_of_key(key: str) -> Optional[int]:
    """Render id of the structure an instance-mask key names, from its first "|" field; None when
    it names no structure. The keys are what Unity puts in metadata["colors"] (ai2thor
    ImageSynthesis.OnSceneChange): a SimObject's objectId, else, for a renderer under a
    StructureObject, "<GameObject name>|<x>|<y>|<z>". So:

    * ProcTHOR houses (ai2thor ProceduralTools.CreateHouse): walls are SimObjects "wall|<room>|...",
      doors "door|<a>|<b>", windows "window|...", each room's floor the SimObject "room|<n>" (type
      Floor), each room's ceiling the StructureObject "Ceiling_room|<n>" -> "Ceiling_room|<n>|0|<y>|0";
    * iTHOR scenes: "Floor|+00.00|+00.00|+00.00", "Ceiling|0|2.92|0", "StandardWallSize|1|0|2",
      "StandardDoorFrame1|-3|0|3.1", "Window|-03.00|+01.00|-02.64" (ai2thor
      tests/data/instance_segmentation_metadata.json)."""
    head = str(key).split("|", 1)[0]
    sid = structure_id(head)
    if sid is not None:
        return sid
    low = head.lower()
    if low == "room":
        return ID_FLOOR
    if low.startswith("ceiling"):
        return ID_CEILING
    if low.startswith(("wall", "standardwall", "window")):
        return ID_WALL
    if low.startswith(("doorframe", "doorway", "standarddoor")):
        return ID_DOOR_FRAME
    return None


def category_of(object_type: str, on_surface: bool = False) -> Optional[str]:
    """Our category for an AI2-THOR objectType; None for structure and skipped parts. A house
    plant standing on a piece of furniture is a "potted plant", on the floor a "plant"."""
    if not object_type or structure_id(object_type) is not None or object_type in SKIPPED:
        return None
    if object_type == "HousePlant" and on_surface:
        return "potted plant"
    return TYPE_TO_CATEGORY.get(object_type) or words(object_type)


def object_type_of(obj_id: str = "", asset_id: str = "") -> str:
    """AI2-THOR objectType of a ProcTHOR object: the first field of its id ("Chair|3|0|1" ->
    "Chair"), else the longest leading run of its assetId's words that names a type
    ("RoboTHOR_dining_table_jokkmokk_v" -> "DiningTable", "bin_30" -> "GarbageCan"), else the
    assetId's first word capitalised."""
    if obj_id and "|" in obj_id:
        head = obj_id.split("|", 1)[0]
        if head:
            return head
    toks = [t for t in re.split(r"[_\s]+", asset_id or "") if t]
    if toks and toks[0].lower() == "robothor":
        toks = toks[1:]
    for n in range(len(toks), 0, -1):
        key = "".join(toks[:n]).lower()
        if key in _TYPE_BY_KEY:
            return _TYPE_BY_KEY[key]
    if toks:
        return toks[0][:1].upper() + toks[0][1:]
    return obj_id.split("|", 1)[0] if obj_id else ""


# ---------------------------------------------------------------------------------- sizes
# (width along local x, height, depth along local z), metres; typical household values.
_SIZES: dict[str, tuple[float, float, float]] = {
    "painting": (0.8, 0.6, 0.04),
    "mirror": (0.6, 0.9, 0.04),
    "poster": (0.6, 0.9, 0.01),
    "pillow": (0.5, 0.15, 0.35),
    "cell phone": (0.07, 0.01, 0.15),
    "remote control": (0.05, 0.03, 0.18),
    "credit card": (0.085, 0.005, 0.054),
    "pen": (0.015, 0.015, 0.14),
    "pencil": (0.01, 0.01, 0.18),
    "watch": (0.04, 0.012, 0.05),
    "key chain": (0.05, 0.02, 0.08),
    "candle": (0.08, 0.12, 0.08),
    "tissue box": (0.24, 0.1, 0.12),
    "statue": (0.15, 0.3, 0.15),
    "newspaper": (0.3, 0.01, 0.4),
    "cd": (0.12, 0.005, 0.12),
    "box": (0.4, 0.3, 0.3),
    "teddy bear": (0.3, 0.35, 0.25),
    "baseball bat": (0.07, 0.07, 0.85),
    "tennis racket": (0.28, 0.03, 0.68),
    "basket ball": (0.24, 0.24, 0.24),
    "dumbbell": (0.3, 0.1, 0.1),
    "boots": (0.3, 0.4, 0.3),
    "dog bed": (0.9, 0.15, 0.7),
    "garbage bag": (0.4, 0.5, 0.4),
    "laundry hamper": (0.45, 0.6, 0.35),
    "vacuum cleaner": (0.3, 1.1, 0.3),
    "shelving unit": (0.9, 1.5, 0.4),
    "ottoman": (0.6, 0.42, 0.6),
    "footstool": (0.45, 0.4, 0.35),
    "safe": (0.4, 0.4, 0.4),
    "faucet": (0.1, 0.25, 0.2),
    "soap bar": (0.09, 0.03, 0.06),
    "soap bottle": (0.07, 0.18, 0.07),
    "spray bottle": (0.1, 0.25, 0.07),
    "toilet paper": (0.11, 0.11, 0.11),
    "plunger": (0.15, 0.5, 0.15),
    "scrub brush": (0.1, 0.4, 0.1),
    "towel": (0.5, 0.02, 0.8),
    "hand towel": (0.3, 0.5, 0.03),
    "towel holder": (0.6, 0.05, 0.1),
    "toilet paper hanger": (0.15, 0.05, 0.1),
    "hand towel holder": (0.25, 0.3, 0.1),
    "dish sponge": (0.1, 0.03, 0.07),
    "apple": (0.08, 0.08, 0.08),
    "tomato": (0.07, 0.06, 0.07),
    "potato": (0.09, 0.06, 0.06),
    "lettuce": (0.18, 0.16, 0.18),
    "bread": (0.3, 0.12, 0.12),
    "egg": (0.045, 0.06, 0.045),
    "pan": (0.3, 0.06, 0.5),
    "pot": (0.3, 0.18, 0.3),
    "ladle": (0.08, 0.05, 0.33),
    "spatula": (0.08, 0.03, 0.33),
    "spoon": (0.04, 0.02, 0.18),
    "fork": (0.03, 0.02, 0.19),
    "knife": (0.03, 0.02, 0.3),
    "butter knife": (0.02, 0.01, 0.22),
    "mug": (0.12, 0.1, 0.09),
    "wine bottle": (0.08, 0.32, 0.08),
    "pepper shaker": (0.04, 0.09, 0.04),
    "salt shaker": (0.04, 0.09, 0.04),
    "paper towel roll": (0.12, 0.28, 0.12),
    "coffee machine": (0.25, 0.38, 0.3),
    "aluminum foil": (0.3, 0.05, 0.05),
    "watering can": (0.4, 0.3, 0.15),
    "cloth": (0.3, 0.02, 0.3),
    "clothes dryer": (0.6, 0.85, 0.6),
    "desktop computer": (0.55, 0.45, 0.25),
    "room decor": (0.3, 0.4, 0.3),
    "table top decor": (0.15, 0.2, 0.15),
    "shelving": (0.9, 1.5, 0.4),
}
DEFAULT_SIZE = (0.3, 0.3, 0.3)


def typical_size(category: str) -> tuple[float, float, float]:
    """(width, height, depth) in metres: the catalog's range midpoints, else this module's table,
    else DEFAULT_SIZE."""
    spec = CATALOG.get(category)
    if spec is not None:
        return (sum(spec.width) / 2, sum(spec.height) / 2, sum(spec.depth) / 2)
    return _SIZES.get(category, DEFAULT_SIZE)


# ---------------------------------------------------------------------------------- rooms
ROOM_TYPES: dict[str, str] = {
    "Kitchen": "kitchen",
    "LivingRoom": "living_room",
    "Bedroom": "bedroom",
    "Bathroom": "bathroom",
    "Office": "office",
    "DiningRoom": "dining_room",
}


def room_type_of(room_type: str) -> str:
    """ProcTHOR roomType -> ours ("LivingRoom" -> "living_room"); others snake_case."""
    if room_type in ROOM_TYPES:
        return ROOM_TYPES[room_type]
    return words(room_type or "room").replace(" ", "_") or "room"


def room_type_of_scene(scene_name: str) -> str:
    """Room type of a single-room AI2-THOR scene from its name: iTHOR FloorPlan1-30 kitchens,
    201-230 living rooms, 301-330 bedrooms, 401-430 bathrooms; names that say it ("iTHOR_Kitchen_...")."""
    low = (scene_name or "").lower()
    for key, rt in (
        ("kitchen", "kitchen"),
        ("living", "living_room"),
        ("bedroom", "bedroom"),
        ("bathroom", "bathroom"),
    ):
        if key in low:
            return rt
    m = re.match(r"floorplan(\d+)", low)
    if m:
        n = int(m.group(1))
        return {0: "kitchen", 2: "living_room", 3: "bedroom", 4: "bathroom"}.get(n // 100, "room")
    return "room"


__all__ = [
    "TYPE_TO_CATEGORY",
    "STRUCTURE",
    "SKIPPED",
    "ASSET_ALIASES",
    "ROOM_TYPES",
    "category_of",
    "structure_id",
    "structure_id_of_key",
    "object_type_of",
    "typical_size",
    "room_type_of",
    "room_type_of_scene",
    "words",
]
