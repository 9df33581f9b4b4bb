"""Renderers: `PybulletRenderer` (CPU, pybullet TinyRenderer) and shared scene geometry."""

from .geometry import camera_basis, focal_px, vertical_fov_deg
from .pybullet_renderer import PybulletRenderer, RenderSettings

__all__ = ["PybulletRenderer", "RenderSettings", "camera_basis", "focal_px", "vertical_fov_deg"]
