"""A naive numpy ray caster: one ray per pixel against every box and floor/ceiling polygon.

It is the peer the render benchmark compares `PybulletRenderer` with (the issue measured about
5 frames/s at 224x224 for this approach), and an independent check of the renderer in the tests:
it shares only the scene geometry (`render.geometry`, `scene.model`), not the camera, projection, depth or
segmentation code, so agreement of the instance and depth buffers validates those.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..camera import ID_CEILING, ID_FLOOR, ID_NONE, CameraPose, Frames
from ..render import geometry as geo
from ..render.pybullet_renderer import RenderSettings
from ..scene.model import House, points_in_polygon


class _Scene:
    def __init__(self, house: House, settings: RenderSettings) -> None:
        boxes: list[geo.Box] = []
        for obj in house.objects:
            for center, size, rgb in geo.object_parts(obj):
                boxes.append(geo.Box(center, size, int(obj.id), rgb))
        boxes += geo.wall_boxes(house, frames=settings.door_frames)
        self.center = np.array([b.center for b in boxes], dtype=np.float64).reshape(-1, 3)
        self.half = np.array([b.size for b in boxes], dtype=np.float64).reshape(-1, 3) / 2
        yaw = np.radians(np.array([b.yaw_deg for b in boxes], dtype=np.float64))
        # rows: local x, y, z axes in world coordinates
        self.axes = np.stack(
            [
                np.stack([np.cos(yaw), np.zeros_like(yaw), -np.sin(yaw)], -1),
                np.tile(np.array([0.0, 1.0, 0.0]), (len(boxes), 1)),
                np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], -1),
            ],
            axis=1,
        )  # (M, 3, 3)
        self.inst = np.array([b.inst for b in boxes], dtype=np.int32)
        self.rgb = np.array([b.rgb for b in boxes], dtype=np.float64).reshape(-1, 3)
        self.planes = []  # (y, facing_up, polygon (P, 2), inst, rgb, checker)
        for room in house.rooms:
            poly = np.array(room.polygon, dtype=np.float64)
            self.planes.append((room.floor_y, True, poly, ID_FLOOR, geo.floor_color(room.type), True))
            if settings.ceiling:
                self.planes.append((room.floor_y + house.wall_height, False, poly, ID_CEILING, geo.CEILING_RGB, False))


class NumpyRaycaster:
    """`render(house, poses, width, height) -> Frames` with the same conventions as
    PybulletRenderer (instance ids, depth along the view axis, inf where nothing is hit)."""

    def __init__(
        self,
        settings: RenderSettings | None = None,
        chunk_rays: int = 8192,
        pixel_offset: tuple[float, float] = (0.5, 0.5),
    ) -> None:
        self.settings = settings or RenderSettings()
        self.pixel_offset = pixel_offset  # where in a pixel its ray goes through (0.5 = centre)
        self.chunk_rays = chunk_rays
        self._house = None
        self._scene = None

    def close(self) -> None:
        self._house = self._scene = None

    def render(self, house: House, poses: Sequence[CameraPose], width: int, height: int) -> Frames:
        if house is not self._house:
            self._scene, self._house = _Scene(house, self.settings), house
        T = len(poses)
        rgb = np.empty((T, height, width, 3), dtype=np.uint8)
        depth = np.empty((T, height, width), dtype=np.float32)
        inst = np.empty((T, height, width), dtype=np.int32)
        for t, pose in enumerate(poses):
            rgb[t], depth[t], inst[t] = self._frame(pose, width, height)
        return Frames(rgb=rgb, depth=depth, instance=inst)

    def _frame(self, pose: CameraPose, W: int, H: int):
        s, sc = self.settings, self._scene
        assert sc is not None
        right, up, fwd = geo.camera_basis(pose)
        f = geo.focal_px(W, pose.fov_deg)
        ox, oy = self.pixel_offset
        xs = (np.arange(W) + ox - W / 2) / f
        ys = (H / 2 - np.arange(H) - oy) / f
        # ray directions with unit component along the view axis, so the ray parameter = view depth
        d = fwd[None, None] + xs[None, :, None] * right[None, None] + ys[:, None, None] * up[None, None]
        d = d.reshape(-1, 3)
        o = np.asarray(pose.position, dtype=np.float64)
        N = d.shape[0]
        best_t = np.full(N, np.inf)
        best_id = np.full(N, ID_NONE, dtype=np.int32)
        best_rgb = np.ones((N, 3))
        best_n = np.zeros((N, 3))
        light = np.asarray(s.light_direction, dtype=np.float64)
        light = light / np.linalg.norm(light)

        M = len(sc.inst)
        if M:
            o_local = np.einsum("mjk,mk->mj", sc.axes, o[None] - sc.center)  # (M, 3)
            chunk = max(1, self.chunk_rays)
            for a in range(0, N, chunk):
                dd = d[a : a + chunk]
                d_local = np.einsum("mjk,nk->nmj", sc.axes, dd)  # (n, M, 3)
                with np.errstate(divide="ignore", invalid="ignore"):
                    inv = 1.0 / np.where(np.abs(d_local) < 1e-12, 1e-12, d_local)
                    t1 = (-sc.half[None] - o_local[None]) * inv
                    t2 = (sc.half[None] - o_local[None]) * inv
                tlo, thi = np.minimum(t1, t2), np.maximum(t1, t2)
                tmin, tmax = tlo.max(-1), thi.min(-1)
                hit = (tmax >= tmin) & (tmin >= s.near) & (tmin <= s.far)
                tm = np.where(hit, tmin, np.inf)
                k = tm.argmin(1)
                rows = np.arange(len(dd))
                tk = tm[rows, k]
                closer = tk < best_t[a : a + chunk]
                if closer.any():
                    idx = np.flatnonzero(closer)
                    kk = k[idx]
                    axis = tlo[idx, kk].argmax(-1)
                    sign = -np.sign(d_local[idx, kk, axis])
                    n_world = sc.axes[kk, axis] * sign[:, None]
                    best_t[a + idx] = tk[idx]
                    best_id[a + idx] = sc.inst[kk]
                    best_rgb[a + idx] = sc.rgb[kk]
                    best_n[a + idx] = n_world
        for y, facing_up, poly, iid, col, checker in sc.planes:
            dy = d[:, 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                tp = (y - o[1]) / dy
            ok = (dy < 0) if facing_up else (dy > 0)
            ok &= (tp >= s.near) & (tp < best_t)
            if not ok.any():
                continue
            idx = np.flatnonzero(ok)
            px = o[0] + tp[idx] * d[idx, 0]
            pz = o[2] + tp[idx] * d[idx, 2]
            inside = points_in_polygon(px, pz, poly)
            idx, px, pz = idx[inside], px[inside], pz[inside]
            best_t[idx] = tp[idx]
            best_id[idx] = iid
            c = np.tile(np.asarray(col, dtype=np.float64), (len(idx), 1))
            if checker:
                tile = s.floor_tile_m
                odd = ((np.floor(px / tile) + np.floor(pz / tile)) % 2).astype(bool)
                c[odd] *= 226.0 / 255.0
            best_rgb[idx] = c
            best_n[idx] = (0.0, 1.0 if facing_up else -1.0, 0.0)
        shade = s.ambient + s.diffuse * np.clip(best_n @ light, 0.0, None)
        color = np.clip(best_rgb * shade[:, None] * 255.0, 0, 255).astype(np.uint8)
        color[best_id == ID_NONE] = 255
        depth = best_t.astype(np.float32)
        return color.reshape(H, W, 3), depth.reshape(H, W), best_id.reshape(H, W)


__all__ = ["NumpyRaycaster"]
