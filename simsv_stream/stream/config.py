"""StreamConfig: the typed `stream:` section of a run config."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from ..config import Scales
from ..errors import ConfigError

CODECS = ("raw", "jpeg")
BACKENDS = ("procedural", "noise", "thor", "procthor-layout")


@dataclass(frozen=True)
class StreamConfig:
    """Where the dispatcher listens, how many workers it runs and how it feeds them.

    ``endpoint`` is the dispatcher's ROUTER bind address (``tcp://127.0.0.1:*`` picks a free port);
    ``control_endpoint`` the REQ/REP control address (``None``: loopback, the data port + 1, or a
    free port when ``endpoint`` uses ``*``; ``"off"``: no control socket). ``workers`` is the size of the local
    fleet the dispatcher spawns itself (0: only external ``simsv-stream workers`` processes).
    ``credit`` is the number of orders outstanding per worker, and also bounds the ids written but not
    yet consumed to ``credit x workers``: that is the most samples of an old mix the consumer can
    see after a change. ``rank``/``world_size`` default to the ``RANK``/``WORLD_SIZE`` environment;
    with several ranks, fixed ports are offset by 2 x rank (see :meth:`bind_endpoint`).
    """

    endpoint: str = "tcp://127.0.0.1:5555"
    control_endpoint: str | None = None
    workers: int = 4
    backend: str = "procedural"
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    credit: int = 2
    codec: str = "raw"
    jpeg_quality: int = 90
    seed: int = 0
    rank: int | None = None
    world_size: int | None = None
    heartbeat_s: float = 1.0
    timeout_s: float = 120.0
    mix: Any = "3q"
    scales: Scales = field(default_factory=Scales)
    curve_keys: str | None = None  # folder made by `simsv-stream keys` (server + authorized clients)
    max_attempts: int = 3  # an order failing on this many workers fails the stream
    max_sample_bytes: int = 1 << 30
    tune_malloc: bool = True  # glibc: reuse MB-sized buffers (see dispatcher.tune_malloc)

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, str) or "://" not in self.endpoint:
            raise ConfigError(
                "endpoint", f"expected a ZeroMQ address such as tcp://127.0.0.1:5555, got {self.endpoint!r}"
            )
        for name, lo, hi in (
            ("workers", 0, 512),
            ("credit", 1, 1024),
            ("jpeg_quality", 1, 100),
            ("max_attempts", 1, 100),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ConfigError(name, f"must be an integer in {lo}..{hi}, got {v!r}")
        if self.codec not in CODECS:
            raise ConfigError("codec", f"must be one of {', '.join(CODECS)}, got {self.codec!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", f"must be a non-negative integer, got {self.seed!r}")
        for name in ("heartbeat_s", "timeout_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(name, f"must be a positive number of seconds, got {v!r}")
        if not isinstance(self.backend, str) or not (self.backend in BACKENDS or ":" in self.backend):
            raise ConfigError(
                "backend", f"must be one of {', '.join(BACKENDS)} or module:function, got {self.backend!r}"
            )
        from .orders import load_mix

        load_mix(self.mix)  # ConfigError naming the bad type/weight, before any process starts
        if not isinstance(self.scales, Scales):
            raise ConfigError("scales", f"must be a Scales, got {type(self.scales).__name__}")
        rank, world = self.rank_world()
        if not 0 <= rank < world:
            raise ConfigError("rank", f"must be in 0..{world - 1} for world_size {world}, got {rank}")

    # ------------------------------------------------------------------------------------------
    def rank_world(self) -> tuple[int, int]:
        """(rank, world_size): explicit values, else RANK/WORLD_SIZE from the environment, else (0, 1)."""
        world = self.world_size if self.world_size is not None else int(os.environ.get("WORLD_SIZE", "1"))
        rank = self.rank if self.rank is not None else int(os.environ.get("RANK", "0"))
        if isinstance(world, bool) or not isinstance(world, int) or world < 1:
            raise ConfigError("world_size", f"must be a positive integer, got {world!r}")
        return rank, world

    def bind_endpoint(self) -> str:
        """The data endpoint this rank binds: with several ranks and a fixed TCP port, rank r adds 2r to
        the port (rank 0: 5555 + control 5556, rank 1: 5557 + 5558, ...), so the ranks of one node never
        collide; ``*`` ports and ipc/inproc addresses are used as given (ipc gets a ``-rN`` suffix)."""
        return _rank_offset(self.endpoint, *self.rank_world())

    def resolved_control_endpoint(self, bound_data_endpoint: str | None = None) -> str | None:
        """The control endpoint this rank binds (``None`` when ``"off"``): explicit, or loopback at the
        data port + 1 (a free port when the data port is ``*``). Explicit fixed ports get the rank offset."""
        if self.control_endpoint == "off":
            return None
        if self.control_endpoint:
            return _rank_offset(self.control_endpoint, *self.rank_world())
        data = self.bind_endpoint()
        scheme, _, rest = data.partition("://")
        if scheme != "tcp":
            return f"{data}-control"
        host, _, port = rest.rpartition(":")
        if not is_loopback_endpoint(data):
            host = "127.0.0.1"  # control stays on this machine unless asked otherwise
        if port == "*" or not port.isdigit():
            return f"tcp://{host}:*"
        return f"tcp://{host}:{int(port) + 1}"

    def updated(self, **changes: Any) -> "StreamConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scales"] = self.scales.to_dict()
        d["backend_options"] = dict(self.backend_options)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, scales: Any = None, mix: Any = None) -> "StreamConfig":
        """Build from a mapping (a YAML `stream:` section). ``scales``/``mix`` given here (e.g. from the
        top level of the run config) are used when the section has none."""
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"stream.{unknown[0]}", f"unknown key; known: {', '.join(sorted(known))}")
        sc = d.pop("scales", None) if d.get("scales") is not None else scales
        if sc is None:
            sc = Scales()
        elif not isinstance(sc, Scales):
            sc = Scales().updated(dict(sc))
        if d.get("mix") is None and mix is not None:
            d["mix"] = mix
        d.pop("scales", None)
        return cls(scales=sc, **d)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "StreamConfig":
        """Read the `stream:` section of a YAML file (with `scales:`/`mix:` there or at the top level)."""
        import yaml

        try:
            doc = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError("config", f"no such file: {path}") from None
        except yaml.YAMLError as e:
            raise ConfigError("config", f"{path} is not valid YAML: {' '.join(str(e).split())}") from None
        if not isinstance(doc, dict):
            raise ConfigError("config", f"{path}: expected a mapping at the top level")
        section = doc.get("stream", {}) or {}
        if not isinstance(section, dict):
            raise ConfigError("stream", "expected a mapping")
        return cls.from_dict(section, scales=doc.get("scales"), mix=doc.get("mix"))


def _rank_offset(endpoint: str, rank: int, world: int) -> str:
    if world <= 1 or rank == 0:
        return endpoint
    scheme, _, rest = endpoint.partition("://")
    if scheme == "tcp":
        host, _, port = rest.rpartition(":")
        return f"tcp://{host}:{int(port) + 2 * rank}" if port.isdigit() else endpoint
    if scheme == "ipc":
        return f"{endpoint}-r{rank}"
    return endpoint


def is_loopback_endpoint(endpoint: str) -> bool:
    """True when a bind address only listens on this machine (ipc/inproc, or tcp on 127.x/::1/localhost)."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host = rest.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # '*', interface names, host names: not provably loopback
