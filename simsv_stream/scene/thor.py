"""The `thor` backend: real AI2-THOR renders of ProcTHOR houses (what SIMS-V used), converted into
the same `Episode` as the procedural backend, so question generation never knows which ran.

    sim = ThorSimulator(gpu_device=0, width=680, height=384, houses="houses.jsonl.gz")
    episode = sim.simulate(seed, scales)          # or backend(houses=...) for a stream worker

Pipeline per episode: house `seed % len(houses)` -> `controller.reset(scene=house_dict)` (ai2thor
controller.py: a dict scene is Reset("Procedural") + Initialize + CreateHouse(house=...); interior
doors opened, see procthor.open_interior_doors; keys starting with "_" dropped, see house_for_unity;
a failed CreateHouse raises here, ai2thor does not) -> the agent placed at the house's own pose
(`metadata.agentPoses.default`, else the legacy `metadata.agent`; see agent_pose) with an unforced
`TeleportFull` -> House from the house JSON (rooms, walls, doors) with objects from `event.metadata`
(real boxes) -> walk hubs from `GetReachablePositions` (`metadata["actionReturn"]`) ->
`trajectory.walkthrough` of `procthor.walk_rooms` (scales.rooms_min..rooms_max connected rooms; the
same walk as the procedural backend: eye height, smooth yaw, frame rate)
-> one forced `TeleportFull` per pose (teleport_action) -> frames (`event.frame`,
`event.depth_frame`) and instance ids from `event.instance_masks` -> `annotate`.

The converters are pure functions, tested on real metadata without a GPU:
`scene_from_metadata(metadata, layout=None) -> House`, `pose_from_metadata(metadata, fov_deg=None)
-> CameraPose`, `instance_buffer_from_masks(masks, id_map, h, w, types=None)`,
`visible_from_instance_masks(masks, id_map, h, w, types=None) -> {object id: fraction of the image}`,
`teleport_action(pose, agent_y)`, `agent_pose(house_dict)` and `house_for_unity(house_dict)`.

Where AI2-THOR cannot run, `preflight()` says why in one line before anything slow starts: in
order, ai2thor importable, a Vulkan loader, a GPU, the Unity build in ~/.ai2thor (or network to
fetch it). `ThorSimulator` calls it first, so a worker fails at start, not after a 5-minute
Unity start-up timeout. `simsv-stream doctor` prints every check.

Conventions: AI2-THOR (Unity) is y-up and left-handed with yaw 0 = +z and yaw 90 = +x, which is
exactly our CameraPose convention, so positions and yaws carry over unchanged; AI2-THOR's
`cameraHorizon` is positive looking down (our pitch = -horizon) and its `fieldOfView` is vertical
(ours is horizontal: converted with the frame's aspect ratio).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import math
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..errors import SimsvError

# --------------------------------------------------------------------------------------------
# preflight


class ThorUnavailable(SimsvError, RuntimeError):
    """AI2-THOR cannot run here. `check` names the failed check ("ai2thor", "vulkan", "gpu",
    "build"); the message is one line that says what is missing and what to do."""

    def __init__(self, check: str, message: str):
        self.check = check
        super().__init__(f"thor backend unavailable [{check}]: {message}")


@dataclass(frozen=True)
class Check:
    name: str  # "ai2thor", "vulkan", "gpu", "build"
    ok: bool
    detail: str  # what was found, or what is missing and what to do


BUILD_HOST = "s3-us-west-2.amazonaws.com"  # where ai2thor downloads its Unity builds from


def check_ai2thor() -> Check:
    try:
        import ai2thor  # noqa: F401
        from ai2thor import build  # noqa: F401
    except Exception as e:  # ImportError, or a broken install
        return Check(
            "ai2thor",
            False,
            f"cannot import ai2thor ({type(e).__name__}: {e}); "
            "install it: pip install 'simsv-stream[thor]' (ai2thor>=5.0)",
        )
    version = getattr(__import__("ai2thor"), "__version__", "?")
    return Check("ai2thor", True, f"ai2thor {version}")


def check_vulkan() -> Check:
    """A Vulkan loader that loads (CloudRendering renders through Vulkan, headless)."""
    name = ctypes.util.find_library("vulkan")
    tried = [n for n in (name, "libvulkan.so.1", "libvulkan.so") if n]
    for lib in dict.fromkeys(tried):
        try:
            ctypes.CDLL(lib)
            return Check("vulkan", True, f"Vulkan loader {lib}")
        except OSError:
            continue
    return Check(
        "vulkan",
        False,
        "no Vulkan loader (libvulkan.so.1 not found): install it "
        "(Debian/Ubuntu: apt-get install libvulkan1; it needs the NVIDIA driver's "
        "Vulkan ICD, nvidia_icd.json, which the driver package provides)",
    )


def _run(cmd: Sequence[str], timeout: float) -> Optional[str]:
    try:
        p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout if p.returncode == 0 else None


def find_gpus(timeout: float = 3.0) -> list[str]:
    """The GPUs the Vulkan driver can use: what nvidia-smi lists, else /dev/nvidia<N>, else the
    non-CPU devices vulkaninfo shows."""
    gpus: list[str] = []
    if shutil.which("nvidia-smi"):
        out = _run(["nvidia-smi", "-L"], timeout)
        if out:
            gpus = [line.strip() for line in out.splitlines() if line.strip().startswith("GPU ")]
    if not gpus:
        gpus = sorted(p for p in glob.glob("/dev/nvidia[0-9]*"))
    if not gpus and shutil.which("vulkaninfo"):
        out = _run(["vulkaninfo", "--summary"], timeout) or ""
        gpus = [
            line.split("=", 1)[1].strip()
            for line in out.splitlines()
            if "deviceName" in line and "llvmpipe" not in line.lower() and "=" in line
        ]
    return gpus


def _visible_count(visible: Optional[str], found: int) -> int:
    """GPUs a `gpu_device` index may name: ai2thor indexes into CUDA_VISIBLE_DEVICES when it is set."""
    return len([v for v in visible.split(",") if v.strip() not in ("", "-1")]) if visible is not None else found


def check_gpu(gpu_device: Optional[int] = None, timeout: float = 3.0) -> Check:
    """A GPU the Vulkan driver can use (find_gpus); `gpu_device` must be among the visible ones."""
    gpus = find_gpus(timeout)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not gpus:
        return Check(
            "gpu",
            False,
            "no GPU found (nvidia-smi lists none, no /dev/nvidia*, no Vulkan GPU): run on a "
            "machine with an NVIDIA GPU and driver; in a container give it the GPU with "
            "graphics capability (docker --gpus all -e NVIDIA_DRIVER_CAPABILITIES=all)",
        )
    if visible is not None and visible.strip() in ("", "-1"):
        return Check("gpu", False, f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU: unset it or name a GPU")
    n = _visible_count(visible, len(gpus))
    if gpu_device is not None and not 0 <= int(gpu_device) < n:
        return Check(
            "gpu",
            False,
            f"gpu_device {gpu_device} does not exist here ({n} GPU(s) visible: "
            f"0..{n - 1}); set backend_options.gpu_device accordingly",
        )
    return Check("gpu", True, f"{len(gpus)} GPU(s): {gpus[0]}" + (f" (+{len(gpus) - 1})" if len(gpus) > 1 else ""))


def build_dir(commit_id: Optional[str] = None) -> tuple[str, str]:
    """(name, directory) of the CloudRendering Unity build ai2thor will use: ~/.ai2thor/releases/
    thor-CloudRendering-<commit>, the commit being ai2thor's pinned build unless given."""
    if commit_id is None:
        try:
            from ai2thor.build import COMMIT_ID as commit_id  # type: ignore[no-redef]
        except Exception:
            commit_id = None
    name = f"thor-CloudRendering-{commit_id or '<unknown>'}"
    return name, os.path.join(os.path.expanduser("~"), ".ai2thor", "releases", name)


def _tcp_reachable(host: str, port: int, timeout: float) -> bool:
    """TCP connect (DNS included) within `timeout` seconds, in a thread so a hung resolver cannot stall us."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def check_build(commit_id: Optional[str] = None, network_timeout: float = 2.5) -> Check:
    """The Unity build is unpacked in ~/.ai2thor/releases, or its download host is reachable
    (ai2thor then downloads it, ~1 GB, on the first Controller start)."""
    name, path = build_dir(commit_id)
    exe = os.path.join(path, name)
    try:
        import ai2thor.build
        from ai2thor.platform import CloudRendering

        b = ai2thor.build.Build(
            CloudRendering, commit_id or ai2thor.build.COMMIT_ID, False, releases_dir=os.path.dirname(path)
        )
        exe = b.executable_path
    except Exception:
        pass
    if os.path.isfile(exe):
        return Check("build", True, f"Unity build {path}")
    if _tcp_reachable(BUILD_HOST, 443, network_timeout) or _tcp_reachable(BUILD_HOST, 80, network_timeout / 2):
        return Check(
            "build",
            True,
            f"Unity build {name} not downloaded yet; {BUILD_HOST} is reachable, "
            "ai2thor downloads it on first start (~1 GB, minutes)",
        )
    return Check(
        "build",
        False,
        f"the Unity build {name} is not in ~/.ai2thor/releases and {BUILD_HOST} is "
        "unreachable: run `simsv-stream doctor --fetch-thor-build` on a machine with network "
        f"and copy ~/.ai2thor/releases/{name} to this machine's ~/.ai2thor/releases/",
    )


def thor_checks(
    gpu_device: Optional[int] = None, commit_id: Optional[str] = None, stop_at_first: bool = False
) -> list[Check]:
    """Every check, in order (ai2thor, vulkan, gpu, build); with stop_at_first, up to the first failure."""
    out: list[Check] = []
    for fn in (check_ai2thor, check_vulkan, lambda: check_gpu(gpu_device), lambda: check_build(commit_id)):
        c = fn()
        out.append(c)
        if stop_at_first and not c.ok:
            break
    return out


def preflight(gpu_device: Optional[int] = None, commit_id: Optional[str] = None) -> list[Check]:
    """Raise ThorUnavailable at the first check that fails (ai2thor, vulkan, gpu, build), within
    a few seconds; return the passed checks otherwise."""
    checks = thor_checks(gpu_device, commit_id, stop_at_first=True)
    bad = next((c for c in checks if not c.ok), None)
    if bad is not None:
        raise ThorUnavailable(bad.name, bad.detail)
    return checks


def fetch_build(commit_id: Optional[str] = None) -> str:
    """Download and unpack the CloudRendering Unity build into ~/.ai2thor/releases (needs network,
    not a GPU); returns its directory."""
    c = check_ai2thor()
    if not c.ok:
        raise ThorUnavailable("ai2thor", c.detail)
    import ai2thor.build
    from ai2thor.platform import CloudRendering

    build = ai2thor.build.Build(
        CloudRendering,
        commit_id or ai2thor.build.COMMIT_ID,
        False,
        releases_dir=os.path.join(os.path.expanduser("~"), ".ai2thor", "releases"),
    )
    build.download()
    return build.base_dir


# --------------------------------------------------------------------------------------------
# pure converters: AI2-THOR metadata -> our types


def _v3(d: Mapping[str, Any]) -> tuple[float, float, float]:
    return (float(d["x"]), float(d["y"]), float(d["z"]))


def _parent_of(o: Mapping[str, Any], kept: Mapping[str, int]) -> Optional[str]:
    for pid in o.get("parentReceptacles") or ():
        if pid in kept:
            return pid
    return None


def _is_floor(object_id: Any, types: Optional[Mapping[str, str]]) -> bool:
    """A parentReceptacles entry that is a floor: its metadata objectType is Floor (iTHOR's
    "Floor|+00.00|+00.00|+00.00"; ProcTHOR's receptacle floor is the house root "Floor", or the
    house's `id` when it has one, ai2thor ProceduralTools.CreateHouse), else an id starting "Floor"."""
    t = (types or {}).get(str(object_id))
    if t is not None:
        return t == "Floor"
    return str(object_id).startswith("Floor")


def object_category(o: Mapping[str, Any], types: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Our category of one metadata object (None: structure or a skipped part). `types`
    (objectId -> objectType of the event's objects) tells floors among its parentReceptacles."""
    from .thor_types import category_of

    parents = [p for p in (o.get("parentReceptacles") or ()) if not _is_floor(p, types)]
    return category_of(str(o.get("objectType", "")), on_surface=bool(parents))


def scene_from_metadata(metadata: Mapping[str, Any], layout: Optional[Any] = None) -> Any:
    """A House from an AI2-THOR `event.metadata`: one SceneObject per named object (objectType
    mapped by thor_types; structure such as floors, walls, windows and parts such as drawers
    are left out) with its `axisAlignedBoundingBox` centre/size, yaw from `rotation.y` and the
    first kept `parentReceptacles` entry as parent. Object ids are 1.. in `objectId` order;
    house.meta["thor_ids"] maps them back and house.meta["id_of"] maps objectIds to them;
    house.meta["thor_types"] maps every objectId of the event (structure and parts included) to
    its objectType (for instance_buffer_from_masks); house.meta["visible"] lists the ids AI2-THOR
    flagged `visible` in this event (within its visibilityDistance, 1.5 m by default).

    Rooms, walls and doors come from `layout` (the House of the same ProcTHOR house, from
    procthor.house_from_procthor) when given; otherwise the scene is one room (the `Floor`
    object's box, else `sceneBounds`) typed from the scene name (iTHOR FloorPlan numbers)."""
    from .model import House, Room, SceneObject
    from .thor_types import room_type_of_scene

    objs = list(metadata.get("objects") or [])
    types = {str(o["objectId"]): str(o.get("objectType", "")) for o in objs if o.get("objectId")}
    if layout is not None:
        rooms = tuple(layout.rooms)
    else:
        floor = next((o for o in objs if o.get("objectType") == "Floor" and o.get("axisAlignedBoundingBox")), None)
        box = (floor or {}).get("axisAlignedBoundingBox") or metadata.get("sceneBounds")
        if not box:
            raise ValueError("metadata has no Floor object and no sceneBounds: cannot tell the room")
        (cx, cy, cz), (sx, sy, sz) = _v3(box["center"]), _v3(box["size"])
        y0 = cy + sy / 2 if floor is not None else cy - sy / 2
        poly = (
            (cx - sx / 2, cz - sz / 2),
            (cx + sx / 2, cz - sz / 2),
            (cx + sx / 2, cz + sz / 2),
            (cx - sx / 2, cz + sz / 2),
        )
        rooms = (
            Room(
                "room|0",
                room_type_of_scene(str(metadata.get("sceneName", ""))),
                tuple((round(x, 4), round(z, 4)) for x, z in poly),
                round(y0, 4),
            ),
        )
    named = [
        (str(o["objectId"]), o, cat)
        for o in objs
        if o.get("objectId") and o.get("axisAlignedBoundingBox")
        for cat in [object_category(o, types)]
        if cat is not None
    ]
    named.sort(key=lambda t: t[0])
    id_of = {oid: i + 1 for i, (oid, _, _) in enumerate(named)}
    tmp = House(seed=0, rooms=rooms, walls=(), doors=(), objects=())
    from ..annotate import room_of

    out = []
    for oid, o, cat in named:
        box = o["axisAlignedBoundingBox"]
        center = tuple(round(v, 4) for v in _v3(box["center"]))
        size = tuple(round(max(v, 0.005), 4) for v in _v3(box["size"]))
        pid = _parent_of(o, id_of)
        room = (
            room_of(tmp, center)
            or min(
                rooms,
                key=lambda r: math.dist((center[0], center[2]), tuple(map(lambda c: sum(c) / len(c), zip(*r.polygon)))),
            ).id
        )
        yaw = float((o.get("rotation") or {}).get("y", 0.0)) % 360.0
        out.append(
            SceneObject(
                id_of[oid],
                cat,
                center,
                size,
                round(yaw, 3),
                room,  # type: ignore[arg-type]
                id_of[pid] if pid else None,
                str(o.get("assetId") or o.get("name") or ""),
            )
        )
    meta = {
        "thor_ids": {i: oid for oid, i in id_of.items()},
        "id_of": id_of,
        "thor_types": types,
        "visible": sorted(id_of[oid] for oid, o, _ in named if o.get("visible")),
        "scene_name": metadata.get("sceneName"),
    }
    if layout is not None:
        meta.update({k: v for k, v in layout.meta.items() if k not in meta and k not in ("thor_ids", "thor_types")})
        return House(
            seed=layout.seed,
            rooms=layout.rooms,
            walls=layout.walls,
            doors=layout.doors,
            objects=tuple(out),
            wall_height=layout.wall_height,
            source="thor",
            meta=meta,
        )
    return House(seed=0, rooms=rooms, walls=(), doors=(), objects=tuple(out), source="thor", meta=meta)


def horizontal_fov(vertical_fov_deg: float, width: int, height: int) -> float:
    """Horizontal field of view of a camera with the given vertical one and aspect."""
    return math.degrees(2 * math.atan(math.tan(math.radians(vertical_fov_deg) / 2) * width / height))


def vertical_fov(horizontal_fov_deg: float, width: int, height: int) -> float:
    return math.degrees(2 * math.atan(math.tan(math.radians(horizontal_fov_deg) / 2) * height / width))


def pose_from_metadata(metadata: Mapping[str, Any], fov_deg: Optional[float] = None, time_s: float = 0.0) -> Any:
    """The camera of an AI2-THOR event as our CameraPose: position `cameraPosition` (else the
    agent's position raised by the default agent's 0.675 m eye offset), yaw `agent.rotation.y`
    (same convention as ours, wrapped to [-180, 180)), pitch = -`agent.cameraHorizon`, and the
    horizontal field of view `fov_deg`, or one computed from metadata `fov` (vertical) and
    `screenWidth`/`screenHeight`."""
    from ..camera import CameraPose

    agent = metadata["agent"]
    if metadata.get("cameraPosition"):
        pos = _v3(metadata["cameraPosition"])
    else:
        x, y, z = _v3(agent["position"])
        pos = (x, y + 0.675, z)
    yaw = (float(agent["rotation"]["y"]) + 180.0) % 360.0 - 180.0
    horizon = float(agent.get("cameraHorizon", agent.get("horizon", 0.0)))
    if fov_deg is None:
        v = float(metadata.get("fov", 90.0))
        w, h = int(metadata.get("screenWidth", 1) or 1), int(metadata.get("screenHeight", 1) or 1)
        fov_deg = horizontal_fov(v, w, h)
    return CameraPose(
        tuple(round(c, 5) for c in pos),
        round(yaw, 5),
        round(-horizon + 0.0, 5),  # type: ignore[arg-type]
        float(fov_deg),
        float(time_s),
    )


def _resolve_id(key: str, id_map: Mapping[str, int], types: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """Our id for an instance-mask key: the object itself; else the object it is a part of, in
    ProcTHOR houses "<id>___<n>" (ai2thor ProceduralTools.spawnSimObjPrefab names a spawned
    asset's child SimObjects so: a dresser's drawers) and in iTHOR scenes "<id>|<Type>"
    ("Sink|-00.70|+00.93|-00.65|SinkBasin", PhysicsSceneManager.Generate_ObjectID); else, when
    `types` (objectId -> objectType) knows the key, the structure id of its type (Floor, Wall,
    Doorway, Window, ...) or None for an object we do not name; else the structure its name says
    (thor_types.structure_id_of_key: ProcTHOR "room|3" floors and "Ceiling_room|3|..." ceilings,
    iTHOR "StandardWallSize|..." walls, ...)."""
    if key in id_map:
        return id_map[key]
    base = key.split("___", 1)[0]
    if base in id_map:
        return id_map[base]
    parts = base.split("|")
    for n in range(len(parts) - 1, 0, -1):
        head = "|".join(parts[:n])
        if head in id_map:
            return id_map[head]
    from .thor_types import structure_id, structure_id_of_key

    if types is not None:
        t = types.get(key) or types.get(base)
        if t is not None:
            return structure_id(t)
    return structure_id_of_key(base)


def instance_buffer_from_masks(
    masks: Mapping[str, Any], id_map: Mapping[str, int], h: int, w: int, types: Optional[Mapping[str, str]] = None
):
    """(h, w) int32 instance ids from AI2-THOR `event.instance_masks`: our object ids (>= 1, parts
    count for their object), structure ids (< 0) for floors, walls, ceilings and door frames, 0
    elsewhere (masks of objects we do not name, sky). `types`: house.meta["thor_types"].

    `event.instance_masks` (ai2thor server.py LazyInstanceSegmentationMasks) is a Mapping from
    the names in metadata["colors"] that contain a "|" and whose colour occurs in the frame to
    (h, w) bool masks; the names are objectIds for SimObjects (objects, their parts, ProcTHOR
    walls/floors/doors/windows) and "<GameObject name>|<x>|<y>|<z>" for other structure (see
    thor_types.structure_id_of_key); bare class names ("Wall", "Floor") are class colours, not keys."""
    import numpy as np

    from ..camera import ID_NONE

    buf = np.full((int(h), int(w)), ID_NONE, dtype=np.int32)
    items = sorted(((k, _resolve_id(str(k), id_map, types)) for k in masks), key=lambda kv: (kv[1] or 0) > 0)
    for key, oid in items:  # structure first, objects on top
        if oid is None:
            continue
        m = np.asarray(masks[key], dtype=bool)
        if m.shape != buf.shape:
            raise ValueError(f"mask {key!r} has shape {m.shape}, expected {(h, w)}")
        buf[m] = oid
    return buf


def visible_from_instance_masks(
    masks: Mapping[str, Any], id_map: Mapping[str, int], h: int, w: int, types: Optional[Mapping[str, str]] = None
) -> dict[int, float]:
    """{object id: fraction of the h x w image its masks cover} (> 0 only, ids >= 1), the same
    numbers `annotate.visible_fractions` gives for our renderer's instance buffers."""
    from ..annotate import visible_fractions

    return visible_fractions(instance_buffer_from_masks(masks, id_map, h, w, types)[None])[0]


def teleport_action(pose: Any, agent_y: float, xz: Optional[tuple[float, float]] = None) -> dict[str, Any]:
    """`controller.step` arguments putting the camera at our CameraPose: PhysicsRemoteFPSAgentController
    TeleportFull(position, rotation, horizon, standing, forceAction) (ai2thor; horizon and standing
    have no defaults). The position is the agent's (its capsule centre), so y is `agent_y`, the
    agent's own standing y (metadata agent.position.y, ~0.90 above a floor at 0), not the eye
    height: with forceAction Unity (BaseFPSAgentController.teleportFull) skips the scene-bounds,
    grid, horizon-range and collision checks and TeleportFull skips the snap to the ground, so
    the agent is put exactly there, and the camera 0.675 m above it. Yaw as rotation.y (same
    convention as ours), horizon = -pitch (positive looks down). `xz` overrides the position."""
    x, _, z = pose.position
    if xz is not None:
        x, z = xz
    return dict(
        action="TeleportFull",
        position=dict(x=float(x), y=float(agent_y), z=float(z)),
        rotation=dict(x=0.0, y=float(pose.yaw_deg) % 360.0, z=0.0),
        horizon=-float(pose.pitch_deg) + 0.0,
        standing=True,
        forceAction=True,
    )


def agent_pose(doc: Mapping[str, Any], agent_mode: str = "default") -> Optional[dict[str, Any]]:
    """The agent pose a ProcTHOR house carries: metadata.agentPoses[agent_mode] (what CreateHouse
    applies itself, ai2thor ProceduralTools.setAgentPose), else the legacy metadata.agent (which
    CreateHouse ignores; ProcTHOR code teleports to it); None when it has neither. As
    TeleportFull arguments: position, rotation, horizon, standing."""
    md = doc.get("metadata") or {}
    pose = (md.get("agentPoses") or {}).get(agent_mode) or md.get("agent")
    if not pose or not pose.get("position"):
        return None
    rot = pose.get("rotation") or {}
    if not isinstance(rot, Mapping):
        rot = {"y": float(rot)}
    return dict(
        position={k: float(pose["position"][k]) for k in "xyz"},
        rotation={k: float(rot.get(k, 0.0)) for k in "xyz"},
        horizon=float(pose.get("horizon", 0.0)),
        standing=bool(pose.get("standing", True)),
    )


def house_for_unity(doc: Mapping[str, Any]) -> dict:
    """The house dict to send as `scene=`: interior doors open (procthor.open_interior_doors) and
    our own bookkeeping keys (starting with "_", such as "_source") dropped."""
    from .procthor import open_interior_doors

    return {k: v for k, v in open_interior_doors(doc).items() if not str(k).startswith("_")}


class ThorActionFailed(SimsvError, RuntimeError):
    """An AI2-THOR action reported lastActionSuccess False where the backend cannot go on."""


def _checked(event: Any, what: str) -> Any:
    md = event.metadata
    if not md.get("lastActionSuccess", False):
        raise ThorActionFailed(f"AI2-THOR {what} failed ({md.get('lastAction')}): {md.get('errorMessage') or '?'}")
    return event


def hubs_from_reachable(
    house: Any, positions: Iterable[Mapping[str, Any]], grid_size: float = 0.25
) -> dict[str, tuple[float, float, float]]:
    """Walk hubs (house.meta["walk_hubs"] format) from AI2-THOR `GetReachablePositions`: per room,
    the reachable point farthest from unreachable floor and walls (procthor.choose_hub), so the
    walk circles where the agent can stand. Rooms without reachable points keep the layout's hub."""
    import numpy as np

    from .model import points_in_polygon
    from .procthor import choose_hub, room_approaches, room_grid

    pts = np.array([(float(p["x"]), float(p["z"])) for p in positions], dtype=float).reshape(-1, 2)
    hubs = dict(house.meta.get("walk_hubs") or {})
    for room in house.rooms:
        mine = pts[points_in_polygon(pts[:, 0], pts[:, 1], room.polygon)] if len(pts) else pts
        if len(mine) == 0:
            continue
        lattice = room_grid(room, grid_size)
        if len(lattice):
            d = np.hypot(lattice[:, None, 0] - mine[None, :, 0], lattice[:, None, 1] - mine[None, :, 1]).min(axis=1)
            holes = lattice[d > grid_size * 0.75]
        else:
            holes = lattice

        def obstacle_distance(q: "np.ndarray", holes=holes) -> "np.ndarray":
            if len(holes) == 0:
                return np.full(len(q), np.inf)
            return (
                np.hypot(q[:, None, 0] - holes[None, :, 0], q[:, None, 1] - holes[None, :, 1]).min(axis=1)
                - grid_size / 2
            )

        hubs[room.id] = choose_hub(room, mine, obstacle_distance, room_approaches(house, room))
    return hubs


# --------------------------------------------------------------------------------------------
# the simulator


class ThorSimulator:
    """One AI2-THOR controller (one GPU slot) rendering ProcTHOR houses into Episodes.

    `preflight()` runs first (unless check=False) so a machine that cannot run AI2-THOR fails here
    in seconds with one line saying why. Then `Controller(platform=CloudRendering, gpu_device,
    width, height, renderInstanceSegmentation=True, renderDepthImage=True, gridSize, snapToGrid=False,
    fieldOfView=<vertical>, scene=<first house>)` (ai2thor 5.0.0 controller.py: platform, gpu_device,
    width, height, scene and commit_id are Controller arguments; the others go to Unity's
    Initialize). `simulate(seed, scales)` renders house `seed % len(houses)`; a changed frame size or
    field of view resets the controller with the new one."""

    def __init__(
        self,
        gpu_device: Optional[int] = None,
        width: int = 680,
        height: int = 384,
        houses: Any = None,
        fov_deg: float = 75.0,
        grid_size: float = 0.25,
        commit_id: Optional[str] = None,
        check: bool = True,
        limit: Optional[int] = None,
        **controller_kwargs: Any,
    ):
        if check:
            preflight(gpu_device, commit_id)
        from .procthor import HouseSource

        if houses is None:
            raise SimsvError(
                "thor backend: backend_options.houses must name ProcTHOR houses (.json, a folder, "
                "a glob such as houses/*.json, or .jsonl[.gz])"
            )
        self.docs = HouseSource(houses, limit) if isinstance(houses, (str, os.PathLike)) else list(houses)
        self.grid_size = float(grid_size)
        self.size = (int(width), int(height))
        self.fov_deg = float(fov_deg)
        self._doc_index: Optional[int] = None
        self._layouts: dict[int, Any] = {}
        self._reachable: dict[int, tuple[list, dict]] = {}  # house index -> (positions, hubs), last house only
        from ai2thor.controller import Controller
        from ai2thor.platform import CloudRendering

        kwargs = dict(
            platform=CloudRendering,
            gpu_device=gpu_device,
            width=int(width),
            height=int(height),
            renderInstanceSegmentation=True,
            renderDepthImage=True,
            gridSize=self.grid_size,
            snapToGrid=False,
            fieldOfView=vertical_fov(self.fov_deg, int(width), int(height)),
            scene=house_for_unity(self.docs[0]),
        )
        if commit_id:
            kwargs["commit_id"] = commit_id
        kwargs.update(controller_kwargs)
        self.controller = Controller(**kwargs)
        try:
            _checked(self.controller.last_event, "CreateHouse (house 0)")
            self._place_agent(0)
        except Exception:
            self.close()
            raise
        self._doc_index = 0
        from ..questions import generate

        self.generate = generate

    def close(self) -> None:
        c = getattr(self, "controller", None)
        if c is not None:
            c.stop()
            self.controller = None

    def __enter__(self) -> "ThorSimulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _place_agent(self, index: int) -> Any:
        """Put the agent at the house's own pose with an unforced TeleportFull (Unity then drops it
        onto the floor and checks it fits: the pose's y 0.95 becomes the standing y ~0.90), so that
        GetReachablePositions starts inside the house and metadata agent.position.y is the standing
        y the forced per-frame teleports need. CreateHouse applies metadata.agentPoses itself; a
        house with only the legacy metadata.agent would otherwise leave the agent where it was."""
        pose = agent_pose(self.docs[index])
        if pose is None:
            return self.controller.last_event
        return _checked(
            self.controller.step(action="TeleportFull", forceAction=False, **pose),
            f"TeleportFull to the agent pose of house {index}",
        )

    def _load(self, index: int, scales: Any) -> Any:
        size, fov = (scales.width, scales.height), float(scales.fov_deg)
        if index != self._doc_index or size != self.size or fov != self.fov_deg:
            self._doc_index = None
            ev = self.controller.reset(
                scene=house_for_unity(self.docs[index]),
                width=size[0],
                height=size[1],
                fieldOfView=vertical_fov(fov, *size),
            )
            _checked(ev, f"CreateHouse (house {index})")  # ai2thor's reset() does not raise on it
            self._place_agent(index)
            self._doc_index, self.size, self.fov_deg = index, size, fov
        return self.controller.last_event

    def layout(self, index: int) -> Any:
        from .procthor import house_from_procthor

        if index not in self._layouts:
            self._layouts = {index: house_from_procthor(self.docs[index], seed=index)}
        return self._layouts[index]

    def simulate(self, seed: int, scales: Any) -> Any:
        import numpy as np

        from ..annotate import annotate
        from ..camera import Frames
        from ..episode import Episode
        from ..trajectory import walkthrough
        from .procthor import walk_rooms

        t0 = time.perf_counter()
        index = int(seed) % len(self.docs)
        event = self._load(index, scales)
        layout = self.layout(index)
        house = scene_from_metadata(event.metadata, layout=layout)
        if index not in self._reachable:
            # a list of {x, y, z} on a gridSize lattice from the agent's position, y the agent's
            # own y (BaseFPSAgentController.getReachablePositions); [] when the action failed
            reach = self.controller.step(action="GetReachablePositions").metadata.get("actionReturn") or []
            self._reachable = {index: (reach, hubs_from_reachable(house, reach, self.grid_size))}
        reach, hubs = self._reachable[index]
        house.meta["walk_hubs"] = dict(hubs)
        house.meta["reachable_positions"] = len(reach)
        agent_y = float(event.metadata["agent"]["position"]["y"])
        t1 = time.perf_counter()
        planned = walkthrough(walk_rooms(house, seed, scales.rooms_min, scales.rooms_max), scales, seed)
        t2 = time.perf_counter()
        W, H = scales.width, scales.height
        T = len(planned)
        rgb = np.empty((T, H, W, 3), dtype=np.uint8)
        depth = np.empty((T, H, W), dtype=np.float32)
        inst = np.empty((T, H, W), dtype=np.int32)
        poses = []
        id_of, types = house.meta["id_of"], house.meta["thor_types"]
        for i, pose in enumerate(planned):
            ev = self._teleport(pose, agent_y, reach)
            rgb[i] = ev.frame[:H, :W, :3]
            depth[i] = ev.depth_frame[:H, :W] if ev.depth_frame is not None else np.inf
            inst[i] = instance_buffer_from_masks(ev.instance_masks, id_of, H, W, types)
            poses.append(pose_from_metadata(ev.metadata, scales.fov_deg, pose.time_s))
        frames = Frames(rgb=rgb, depth=depth, instance=inst)
        t3 = time.perf_counter()
        annotations = annotate(house, poses, frames)
        t4 = time.perf_counter()
        return Episode(
            seed=seed,
            scales=scales,
            house=house,
            poses=poses,
            frames=frames,
            annotations=annotations,
            timings={"house": t1 - t0, "walkthrough": t2 - t1, "render": t3 - t2, "annotate": t4 - t3},
        )

    def _teleport(self, pose: Any, agent_y: float, reachable: Sequence[Mapping[str, Any]]) -> Any:
        """Forced TeleportFull to the pose (teleport_action: the walk may brush furniture and need
        not be on the grid or reachable; a forced teleport does not check either). Should Unity
        still report a failure, the nearest reachable position with the same view direction.
        (Bad arguments make controller.step raise ValueError instead: errorCode InvalidArgument.)"""
        x, _, z = pose.position
        ev = self.controller.step(**teleport_action(pose, agent_y))
        if ev.metadata.get("lastActionSuccess", True) or not reachable:
            return ev
        near = min(reachable, key=lambda p: (p["x"] - x) ** 2 + (p["z"] - z) ** 2)
        return self.controller.step(**teleport_action(pose, agent_y, (float(near["x"]), float(near["z"]))))


def default_gpu_device(env: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """The GPU a worker's controller uses when backend_options name none: $SIMSV_THOR_GPU; else,
    with several GPUs visible, the worker's fleet slot ($SIMSV_WORKER_SLOT, which the local fleet
    sets: 0..N-1, a restarted worker takes its predecessor's) modulo their number, so a fleet of N
    workers spreads round-robin over the node's GPUs, one Unity process per slot; else None
    (ai2thor's choice)."""
    env = os.environ if env is None else env
    if env.get("SIMSV_THOR_GPU", "").strip().isdigit():
        return int(env["SIMSV_THOR_GPU"])
    slot = env.get("SIMSV_WORKER_SLOT", "").strip()
    if slot.isdigit():
        visible = env.get("CUDA_VISIBLE_DEVICES")
        n = _visible_count(visible, 0 if visible is not None else len(find_gpus()))
        if n > 1:
            return int(slot) % n
    return None


def backend(houses: Any = None, gpu_device: Optional[int] = None, **kwargs: Any) -> ThorSimulator:
    """Stream-worker factory (`backend: thor`, see stream.backends.NAMED_FACTORIES):
    constructs the simulator at worker start, so preflight failures surface there. Without a
    `gpu_device` option, default_gpu_device() picks one."""
    if gpu_device is None:
        gpu_device = default_gpu_device()
    return ThorSimulator(gpu_device=gpu_device, houses=houses, **kwargs)


__all__ = [
    "ThorSimulator",
    "ThorUnavailable",
    "ThorActionFailed",
    "teleport_action",
    "agent_pose",
    "house_for_unity",
    "Check",
    "preflight",
    "thor_checks",
    "check_ai2thor",
    "check_vulkan",
    "check_gpu",
    "find_gpus",
    "default_gpu_device",
    "check_build",
    "build_dir",
    "fetch_build",
    "scene_from_metadata",
    "pose_from_metadata",
    "instance_buffer_from_masks",
    "visible_from_instance_masks",
    "hubs_from_reachable",
    "horizontal_fov",
    "vertical_fov",
    "backend",
    "object_category",
]
