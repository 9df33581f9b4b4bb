from .model import Door, House, Room, SceneObject, Wall, polygon_area, point_in_polygon

__all__ = ["Door", "House", "Room", "SceneObject", "Wall", "polygon_area", "point_in_polygon"]
