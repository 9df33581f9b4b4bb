"""Scales: the knobs that set how big/expensive one episode is. Validated at construction so a bad
value fails with one line naming the field, before any process starts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from .errors import ConfigError

MAX_FRAMES = 256
MAX_SIDE = 4096
MAX_ROOMS = 12


def parse_int(value: Any, field: str, lo: int, hi: int) -> int:
    """A CLI/config integer in lo..hi; anything else is one ConfigError naming the field and range."""
    try:
        v = int(str(value).strip())
    except ValueError:
        raise ConfigError(field, f"expected an integer in {lo}..{hi}, got {value!r}") from None
    if not lo <= v <= hi:
        raise ConfigError(field, f"must be an integer in {lo}..{hi}, got {v}")
    return v


def parse_size(text: str | tuple[int, int] | list[int], field: str = "size") -> tuple[int, int]:
    """'224x224' / '680x384' / (w, h) -> (w, h), both positive."""
    if isinstance(text, str):
        parts = text.lower().replace("×", "x").split("x")
        if len(parts) != 2:
            raise ConfigError(field, f"expected WIDTHxHEIGHT such as 224x224, got {text!r}")
        try:
            w, h = int(parts[0]), int(parts[1])
        except ValueError:
            raise ConfigError(field, f"expected WIDTHxHEIGHT of integers, got {text!r}") from None
    else:
        try:
            w, h = (int(v) for v in text)
        except (TypeError, ValueError):
            raise ConfigError(field, f"expected a (width, height) pair, got {text!r}") from None
    if not (8 <= w <= MAX_SIDE and 8 <= h <= MAX_SIDE):
        raise ConfigError(field, f"width and height must be in 8..{MAX_SIDE}, got {w}x{h}")
    return w, h


@dataclass(frozen=True)
class Scales:
    """Per-episode data scales. A sample is a pure function of (seed, sample id, Scales)."""

    frames: int = 16  # frames per video
    width: int = 224
    height: int = 224
    fps: float = 2.0  # sampling rate of the walkthrough video (frames per second of walking)
    rooms_min: int = 1
    rooms_max: int = 3
    fov_deg: float = 75.0  # horizontal field of view
    questions_per_episode: int = 1  # orders of one seed served from one rendered episode

    def __post_init__(self) -> None:
        def _int_in(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ConfigError(name, f"must be an integer in {lo}..{hi}, got {v!r}")

        _int_in("frames", 1, MAX_FRAMES)
        _int_in("width", 8, MAX_SIDE)
        _int_in("height", 8, MAX_SIDE)
        _int_in("rooms_min", 1, MAX_ROOMS)
        _int_in("rooms_max", 1, MAX_ROOMS)
        _int_in("questions_per_episode", 1, 64)
        if self.rooms_max < self.rooms_min:
            raise ConfigError("rooms_max", f"must be >= rooms_min ({self.rooms_min}), got {self.rooms_max}")
        if not (isinstance(self.fps, (int, float)) and 0.1 <= self.fps <= 30):
            raise ConfigError("fps", f"must be a number in 0.1..30, got {self.fps!r}")
        if not (isinstance(self.fov_deg, (int, float)) and 20 <= self.fov_deg <= 120):
            raise ConfigError("fov_deg", f"must be a number in 20..120, got {self.fov_deg!r}")

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Scales":
        return cls().updated(d)

    def updated(self, changes: Mapping[str, Any]) -> "Scales":
        """Apply user-facing changes: accepts `size=WxH` and `rooms=R` (or 'A-B') besides the fields."""
        known = {f.name for f in fields(self)}
        kw: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "size":
                kw["width"], kw["height"] = parse_size(value)
            elif key == "rooms":
                lo, hi = _parse_range(value, "rooms")
                kw["rooms_min"], kw["rooms_max"] = lo, hi
            elif key in known:
                kw[key] = _coerce(key, value, type(getattr(self, key)))
            else:
                raise ConfigError(key, f"unknown scale; known: {', '.join(sorted(known | {'size', 'rooms'}))}")
        return replace(self, **kw)

    def config_hash(self) -> str:
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def _coerce(name: str, value: Any, typ: type) -> Any:
    if isinstance(value, str):
        try:
            return typ(float(value)) if typ is int and "." in value else typ(value)
        except ValueError:
            raise ConfigError(name, f"expected {typ.__name__}, got {value!r}") from None
    return value


def _parse_range(value: Any, field: str) -> tuple[int, int]:
    try:
        if isinstance(value, int):
            return value, value
        text = str(value)
        if "-" in text:
            a, b = text.split("-", 1)
            return int(a), int(b)
        return int(text), int(text)
    except ValueError:
        raise ConfigError(field, f"expected N or A-B, got {value!r}") from None
