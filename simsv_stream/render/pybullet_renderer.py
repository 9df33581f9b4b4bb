"""CPU renderer on pybullet's TinyRenderer (software rasteriser; no display, no GPU).

Each `PybulletRenderer` owns its own pybullet physics client (`p.connect(p.DIRECT)`) and passes
that client id to every call, so several renderers (threads or processes) coexist. The house is
built once as bodies and reused while the same `House` object is rendered again (a new house
resets the client and rebuilds, ~10 ms):

* per room a floor (box slabs with a checker texture of 0.5 m squares tinted by room type, id -1)
  and, unless `ceiling=False`, a ceiling (id -3);
* walls: box segments around each door opening plus a lintel above it (id -2), one body per set
  of rooms a wall bounds; door frames: jambs + header (id -4);
* one body per object, composed of its catalog parts (fixed links of one multi-body, so the
  segmentation buffer gives one body id per object), coloured per category; id = obj.id.

Everything is a GEOM_BOX primitive: pybullet 3.2.7 leaks the normals/uvs passed for a GEOM_MESH
visual (~1 MB per house, freed neither by resetSimulation nor by disconnect).

Speed. TinyRenderer's cost is per pixel: it walks each triangle's screen bounding box (about half
its time) and shades the pixels that pass the depth test (a third). So long boxes are split into
pieces of at most 2 m (`max_edge_m`), bodies are created likely occluders first (objects, door
frames, walls, floors, ceilings: TinyRenderer draws in creation order and depth-tests before
shading), and rooms that cannot show in a frame are moved behind the camera (`cull_rooms`, exact).

Camera: yaw 0 looks along +z, yaw 90 along +x, pitch positive up, y up, horizontal fov; the image's
right is the camera's right (cos yaw, 0, -sin yaw) (AI2-THOR / Unity handedness). pybullet's camera
is right-handed (its image right is the other way), so frames are mirrored left-right after
rendering; see `geometry.camera_basis`. Pixel (row i, col j) is the ray through (j + 0.5, i + 0.5).

Output: `Frames(rgb uint8 (T,H,W,3), depth float32 (T,H,W) metres along the view axis (inf where
nothing was hit), instance int32 (T,H,W))`. Same inputs give identical bytes.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..camera import ID_CEILING, ID_DOOR_FRAME, ID_FLOOR, ID_NONE, ID_WALL, CameraPose, Frames
from ..scene.model import House
from . import geometry as geo

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class RenderSettings:
    near: float = 0.05  # m
    far: float = 60.0  # m
    light_direction: Vec3 = (0.35, 1.0, -0.55)  # towards the light (world); from above, slightly to +x/-z
    ambient: float = 0.58
    diffuse: float = 0.48
    specular: float = 0.0
    ceiling: bool = True
    door_frames: bool = True
    floor_tile_m: float = 0.5  # checker square size of floors
    max_edge_m: float = 2.0  # boxes longer than this are split (speed, see module doc)
    draw_order: tuple[str, ...] = ("objects", "frames", "walls", "floors", "ceilings")
    cull_rooms: bool = True  # skip rooms hidden behind walls (exact; see _cull)


# ------------------------------------------------------------------------------------ meshes
class _Mesh:
    """Triangle soup with per-vertex normals/uvs, CCW front faces (normal = (b-a) x (c-a)); only
    for floors/ceilings of non-rectilinear rooms (see PybulletRenderer._box_visual)."""

    def __init__(self) -> None:
        self.vertices: list[list[float]] = []
        self.normals: list[list[float]] = []
        self.uvs: list[list[float]] = []
        self.indices: list[int] = []

    def polygon(
        self,
        poly: Sequence[tuple[float, float]],
        y: float,
        up: bool,
        max_edge: float,
        uv_period: Optional[float] = None,
        normal: Optional[Sequence[float]] = None,
    ) -> None:
        tris = geo.triangulate_polygon(poly)  # CCW in (x, z) -> normal -y
        pts = [(float(x), float(z)) for x, z in poly]
        stack = []
        for i0, i1, i2 in tris:
            a, b, c = pts[i0], pts[i1], pts[i2]
            stack.append((a, c, b) if up else (a, b, c))
        out = []
        while stack:  # split the longest edge until every edge <= max_edge
            a, b, c = stack.pop()
            edges = [(math.dist(a, b), 0), (math.dist(b, c), 1), (math.dist(c, a), 2)]
            longest, k = max(edges)
            if longest <= max_edge:
                out.append((a, b, c))
                continue
            if k == 0:
                m = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                stack += [(a, m, c), (m, b, c)]
            elif k == 1:
                m = ((b[0] + c[0]) / 2, (b[1] + c[1]) / 2)
                stack += [(a, b, m), (a, m, c)]
            else:
                m = ((c[0] + a[0]) / 2, (c[1] + a[1]) / 2)
                stack += [(a, b, m), (m, b, c)]
        n = list(normal) if normal is not None else [0.0, 1.0 if up else -1.0, 0.0]
        if uv_period:
            # keep uvs positive (texture lookup wraps for positive coordinates) but world-aligned
            ox = math.floor(min(p[0] for p in pts) / uv_period) * uv_period
            oz = math.floor(min(p[1] for p in pts) / uv_period) * uv_period
        for tri in out:
            for x, z in tri:
                self.indices.append(len(self.vertices))
                self.vertices.append([x, float(y), z])
                self.normals.append(n)
                self.uvs.append([(x - ox) / uv_period, (z - oz) / uv_period] if uv_period else [0.0, 0.0])


def _checker_png(path: str) -> None:
    """2x2 grey checker (tinted by each floor's colour), written deterministically."""
    from PIL import Image

    img = np.array([[[255, 255, 255], [226, 226, 226]], [[226, 226, 226], [255, 255, 255]]], dtype=np.uint8)
    Image.fromarray(img).save(path)


def import_pybullet():
    """`import pybullet` without its "pybullet build time: ..." banner, which the C module prints
    on first import (to the process's stderr) and would end up in CLI output."""
    import sys

    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        import pybullet

        return pybullet
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        import pybullet

        try:  # flush C stdio while the fds still point to /dev/null
            import ctypes

            ctypes.CDLL(None).fflush(None)
        except Exception:
            pass
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
    return pybullet


# ---------------------------------------------------------------------------------- renderer
class PybulletRenderer:
    """`render(house, poses, width, height) -> Frames`; bodies are cached for the last house."""

    def __init__(self, settings: RenderSettings | None = None) -> None:
        p = import_pybullet()
        self._p = p
        self.settings = settings or RenderSettings()
        self._client: int = p.connect(p.DIRECT)
        if self._client < 0:
            raise RuntimeError("pybullet: could not open a DIRECT client")
        self._house: Optional[House] = None
        self._lut: np.ndarray = np.zeros(1, dtype=np.int32)
        self._tmpdir: Optional[str] = None
        self._textures: dict[tuple[int, int], int] = {}
        self._base_pose: dict[int, tuple[list[float], list[float]]] = {}
        self._body_rooms: list[tuple[int, frozenset]] = []
        self._hidden: set[int] = set()
        self._portals: dict = {}
        self._sealed = False
        self.build_seconds = 0.0

    # -- lifecycle
    def close(self) -> None:
        if self._client is not None and self._client >= 0:
            try:
                self._p.disconnect(physicsClientId=self._client)
            except Exception:
                pass
        self._client = -1
        self._house = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "PybulletRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    # -- scene building
    # Everything is built from GEOM_BOX primitives: pybullet 3.2.7 leaks the normals/uvs it is
    # given for a GEOM_MESH visual (about 1 MB per house here, never freed, not even by
    # resetSimulation or disconnect), which a worker rendering houses forever cannot afford.
    # Boxes carry their own normals and uvs. Only a non-rectilinear floor/ceiling polygon (none
    # in procedural houses) falls back to a mesh.
    def _box_visual(self, half: Sequence[float], rgb: Sequence[float]) -> int:
        p, cid = self._p, self._client
        vs = p.createVisualShape(
            p.GEOM_BOX,
            halfExtents=[float(h) for h in half],
            rgbaColor=[float(rgb[0]), float(rgb[1]), float(rgb[2]), 1.0],
            physicsClientId=cid,
        )
        if vs < 0:
            raise RuntimeError("pybullet: createVisualShape failed")
        return vs

    def _mesh_visual(self, mesh: _Mesh, rgb: Sequence[float]) -> int:
        p, cid = self._p, self._client
        vs = p.createVisualShape(
            p.GEOM_MESH,
            vertices=mesh.vertices,
            indices=mesh.indices,
            normals=mesh.normals,
            uvs=mesh.uvs,
            rgbaColor=[float(rgb[0]), float(rgb[1]), float(rgb[2]), 1.0],
            physicsClientId=cid,
        )
        if vs < 0:
            raise RuntimeError("pybullet: createVisualShape failed")
        return vs

    def _multibody(self, parts: Sequence[tuple[int, Sequence[float], Sequence[float]]]) -> int:
        """One body from (visual shape, world position, world orientation quaternion) parts:
        the first is the base, the others fixed links (so the whole body has one id)."""
        p, cid = self._p, self._client
        (v0, pos0, q0), rest = parts[0], parts[1:]
        n = len(rest)
        kw = {}
        if n:
            inv = p.invertTransform(pos0, q0)
            rel = [p.multiplyTransforms(inv[0], inv[1], pos, q) for _, pos, q in rest]
            kw = dict(
                linkMasses=[0.0] * n,
                linkCollisionShapeIndices=[-1] * n,
                linkVisualShapeIndices=[v for v, _, _ in rest],
                linkPositions=[list(r[0]) for r in rel],
                linkOrientations=[list(r[1]) for r in rel],
                linkInertialFramePositions=[[0.0, 0.0, 0.0]] * n,
                linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]] * n,
                linkParentIndices=[0] * n,
                linkJointTypes=[p.JOINT_FIXED] * n,
                linkJointAxis=[[0.0, 0.0, 1.0]] * n,
            )
        body = p.createMultiBody(
            0, -1, v0, basePosition=list(pos0), baseOrientation=list(q0), physicsClientId=cid, **kw
        )
        if body < 0:
            raise RuntimeError("pybullet: createMultiBody failed")
        self._base_pose[body] = ([float(v) for v in pos0], [float(v) for v in q0])
        return body

    def _checker_texture(self, nx: int, nz: int) -> int:
        """Texture for the top face of a box floor slab with nx x nz checker squares: a box's top
        face samples the texture's [0, 1/4] x [0, 1/4] corner (pybullet's cube uv layout), so the
        image is 4nx x 4nz texels of one texel per square."""
        key = (nx, nz)
        if key not in self._textures:
            path = os.path.join(self._tmpdir, f"checker_{nx}x{nz}.png")
            if not os.path.exists(path):
                from PIL import Image

                r = np.arange(4 * nz)[:, None]
                c = np.arange(4 * nx)[None, :]
                img = np.where((r + c) % 2 == 0, 255, 226).astype(np.uint8)
                Image.fromarray(np.repeat(img[:, :, None], 3, axis=2)).save(path)
            self._textures[key] = self._p.loadTexture(path, physicsClientId=self._client)
        return self._textures[key]

    def _build(self, house: House) -> None:
        import time

        t0 = time.perf_counter()
        p, cid, s = self._p, self._client, self.settings
        p.resetSimulation(physicsClientId=cid)
        self._textures = {}
        self._base_pose = {}
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="simsv-render-")

        ids: list[int] = []  # instance id per body, in body-id order
        bodies: list[int] = []
        room_ids = {r.id for r in house.rooms}
        body_rooms: list[tuple[int, frozenset]] = []
        ident = [0.0, 0.0, 0.0, 1.0]

        def add(body: int, inst: int, rooms: Sequence[str] = ()) -> None:
            bodies.append(body)
            ids.append(inst)
            rs = frozenset(rooms)
            if rs and rs <= room_ids:
                body_rooms.append((body, rs))

        wh = float(house.wall_height)
        slab = 0.01

        def plane(room, y: float, up: bool, rgb, textured: bool, inst: int) -> None:
            rects = geo.polygon_rectangles(room.polygon)
            if rects is None:  # rare: non-rectilinear polygon -> mesh
                m = _Mesh()
                m.polygon(
                    room.polygon, y, up=up, max_edge=s.max_edge_m, uv_period=2 * s.floor_tile_m if textured else None
                )
                body = self._multibody([(self._mesh_visual(m, rgb), [0.0, 0.0, 0.0], ident)])
                if textured:
                    p.changeVisualShape(body, -1, textureUniqueId=self._checker_texture_mesh(), physicsClientId=cid)
                add(body, inst, (room.id,))
                return
            for x0, z0, x1, z1 in rects:
                # pieces of at most max_edge (TinyRenderer walks each triangle's bounding box)
                nxp = max(1, math.ceil((x1 - x0) / s.max_edge_m - 1e-9))
                nzp = max(1, math.ceil((z1 - z0) / s.max_edge_m - 1e-9))
                dx, dz = (x1 - x0) / nxp, (z1 - z0) / nzp
                tiles_x = max(1, round(dx / s.floor_tile_m))
                tiles_z = max(1, round(dz / s.floor_tile_m))
                vis = self._box_visual([dx / 2, slab / 2, dz / 2], rgb)
                cy = y - slab / 2 if up else y + slab / 2
                parts = [
                    (vis, [x0 + (i + 0.5) * dx, cy, z0 + (j + 0.5) * dz], ident) for j in range(nzp) for i in range(nxp)
                ]
                body = self._multibody(parts)
                if textured:
                    tex = self._checker_texture(tiles_x, tiles_z)
                    for link in range(-1, len(parts) - 1):
                        p.changeVisualShape(body, link, textureUniqueId=tex, physicsClientId=cid)
                add(body, inst, (room.id,))

        def floors() -> None:
            for room in house.rooms:
                plane(room, room.floor_y, True, geo.floor_color(room.type), True, ID_FLOOR)

        def ceilings() -> None:
            if s.ceiling:
                for room in house.rooms:
                    plane(room, room.floor_y + wh, False, geo.CEILING_RGB, False, ID_CEILING)

        def walls(kind: int) -> None:
            # one body per wall piece kind (wall / door frame) and set of rooms it bounds
            groups: dict[tuple[str, ...], list] = {}
            for box in geo.wall_boxes(house, frames=s.door_frames):
                if box.inst != kind:
                    continue
                t = math.radians(box.yaw_deg)
                q = [0.0, math.sin(t / 2), 0.0, math.cos(t / 2)]
                ux, uz = math.sin(t), math.cos(t)
                # split along the wall into pieces of at most max_edge
                n = max(1, math.ceil(box.size[2] / s.max_edge_m - 1e-9))
                L = box.size[2] / n
                vis = self._box_visual([box.size[0] / 2, box.size[1] / 2, L / 2], box.rgb)
                for k in range(n):
                    off = (k + 0.5) * L - box.size[2] / 2
                    pos = [box.center[0] + ux * off, box.center[1], box.center[2] + uz * off]
                    groups.setdefault(box.rooms, []).append((vis, pos, q))
            for rooms, parts in groups.items():
                for a in range(0, len(parts), 60):  # keep bodies well under pybullet's link limit
                    add(self._multibody(parts[a : a + 60]), kind, rooms)

        def objects() -> None:
            # one multi-body each: a box per catalog part, fixed links of one body
            for obj in house.objects:
                parts = [
                    (self._box_visual([v / 2 for v in size], rgb), list(center), ident)
                    for center, size, rgb in geo.object_parts(obj)
                ]
                add(self._multibody(parts), int(obj.id), (obj.room,))

        # TinyRenderer draws bodies in creation order and depth-tests before shading, so likely
        # occluders go first: objects, door frames, walls, then floors and ceilings.
        steps = {
            "objects": objects,
            "frames": lambda: walls(ID_DOOR_FRAME),
            "walls": lambda: walls(ID_WALL),
            "floors": floors,
            "ceilings": ceilings,
        }
        for name in s.draw_order:
            steps[name]()

        n = max(bodies) + 2 if bodies else 1
        lut = np.full(n, ID_NONE, dtype=np.int32)  # index = body id + 1 (seg -1 = nothing)
        for body, inst in zip(bodies, ids):
            lut[body + 1] = inst
        self._lut = lut
        self._house = house
        self._body_rooms = body_rooms
        self._hidden: set[int] = set()
        self._portals = geo.portal_map(house)
        self._sealed = bool(body_rooms) and len(house.rooms) > 1 and geo.rooms_sealed(house)
        self.build_seconds = time.perf_counter() - t0

    def _checker_texture_mesh(self) -> int:
        """2x2 checker for meshes whose uvs are world coordinates / (2 * tile)."""
        path = os.path.join(self._tmpdir, "checker.png")
        if not os.path.exists(path):
            _checker_png(path)
        return self._p.loadTexture(path, physicsClientId=self._client)

    # -- camera
    def _matrices(self, pose: CameraPose, width: int, height: int) -> tuple[list[float], list[float]]:
        p, cid, s = self._p, self._client, self.settings
        pitch = max(-89.0, min(89.0, float(pose.pitch_deg)))
        yaw = math.radians(float(pose.yaw_deg))
        pr = math.radians(pitch)
        eye = [float(v) for v in pose.position]
        fwd = [math.sin(yaw) * math.cos(pr), math.sin(pr), math.cos(yaw) * math.cos(pr)]
        target = [eye[0] + fwd[0], eye[1] + fwd[1], eye[2] + fwd[2]]
        view = p.computeViewMatrix(eye, target, [0.0, 1.0, 0.0], physicsClientId=cid)
        vfov = geo.vertical_fov_deg(width, height, float(pose.fov_deg))
        proj = list(p.computeProjectionMatrixFOV(vfov, width / height, s.near, s.far, physicsClientId=cid))
        # TinyRenderer samples each pixel at its corner; shift the principal point by half a pixel so
        # pixel (row i, col j) sees the ray through its centre (j + 0.5, i + 0.5) of the ideal pinhole
        # (checked against the numpy ray caster: depth agrees to ~1e-6 relative).
        proj[8] += 1.0 / width
        proj[9] += 1.0 / height
        return view, proj

    # -- room culling
    def _cull(self, pose: CameraPose, width: int, height: int) -> None:
        """Move the bodies of rooms that cannot show in this frame behind the camera (where
        TinyRenderer drops their triangles before rasterising). Rooms only see each other through
        door openings when every polygon edge is walled (`geometry.rooms_sealed`), so a room is
        kept when the camera is in or near it or a chain of door openings from the camera's room
        to it meets the view frustum; the frame is then identical to drawing everything."""
        p, cid = self._p, self._client
        visible = (
            geo.visible_rooms(self._house, pose, width, height, self.settings.near, self._portals)
            if self._sealed and self.settings.cull_rooms
            else None
        )
        hide = set() if visible is None else {b for b, rs in self._body_rooms if not (rs & visible)}
        if hide:
            yaw, pitch = math.radians(pose.yaw_deg), math.radians(pose.pitch_deg)
            back = (
                -1e4 * math.sin(yaw) * math.cos(pitch),
                -1e4 * math.sin(pitch),
                -1e4 * math.cos(yaw) * math.cos(pitch),
            )
            for b in sorted(hide):
                pos, orn = self._base_pose[b]
                p.resetBasePositionAndOrientation(
                    b, [pos[0] + back[0], pos[1] + back[1], pos[2] + back[2]], orn, physicsClientId=cid
                )
        for b in sorted(self._hidden - hide):
            pos, orn = self._base_pose[b]
            p.resetBasePositionAndOrientation(b, pos, orn, physicsClientId=cid)
        self._hidden = hide

    # -- rendering
    def prepare(self, house: House) -> None:
        """Build the house's bodies now (render() does it on first use)."""
        if self._client is None or self._client < 0:
            raise RuntimeError("renderer is closed")
        if house is not self._house:
            self._build(house)

    def render(self, house: House, poses: Sequence[CameraPose], width: int, height: int) -> Frames:
        self.prepare(house)
        p, cid, s = self._p, self._client, self.settings
        width, height = int(width), int(height)
        T = len(poses)
        rgb = np.empty((T, height, width, 3), dtype=np.uint8)
        zbuf = np.empty((T, height, width), dtype=np.float32)
        seg = np.empty((T, height, width), dtype=np.int32)
        ld = np.asarray(s.light_direction, dtype=np.float64)
        ld = (ld / np.linalg.norm(ld)).tolist()
        for t, pose in enumerate(poses):
            self._cull(pose, width, height)
            view, proj = self._matrices(pose, width, height)
            _, _, img, depth, mask = p.getCameraImage(
                width,
                height,
                view,
                proj,
                renderer=p.ER_TINY_RENDERER,
                shadow=0,
                lightDirection=ld,
                lightColor=[1.0, 1.0, 1.0],
                lightAmbientCoeff=s.ambient,
                lightDiffuseCoeff=s.diffuse,
                lightSpecularCoeff=s.specular,
                physicsClientId=cid,
            )
            img = np.asarray(img, dtype=np.uint8).reshape(height, width, 4)
            # mirror left-right: pybullet's camera is right-handed, ours has +x on the right at yaw 0
            rgb[t] = img[:, ::-1, :3]
            zbuf[t] = np.asarray(depth, dtype=np.float32).reshape(height, width)[:, ::-1]
            seg[t] = np.asarray(mask, dtype=np.int32).reshape(height, width)[:, ::-1]
        # linearise the z-buffer (OpenGL convention, [0, 1]) to metres along the view axis
        n, f = s.near, s.far
        with np.errstate(divide="ignore"):
            depth_m = (f * n / (f - (f - n) * zbuf.astype(np.float64))).astype(np.float32)
        nothing = seg < 0
        depth_m[nothing] = np.inf
        lut = self._lut
        idx = seg + 1
        np.clip(idx, 0, len(lut) - 1, out=idx)
        instance = lut[idx]
        return Frames(rgb=rgb, depth=depth_m, instance=instance)


__all__ = ["PybulletRenderer", "RenderSettings"]
