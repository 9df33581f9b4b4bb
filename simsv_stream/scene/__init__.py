from .model import Door, House, Room, SceneObject, Wall, point_in_polygon, polygon_area

__all__ = ["Door", "House", "Room", "SceneObject", "Wall", "polygon_area", "point_in_polygon"]
