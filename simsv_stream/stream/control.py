"""Live control of a running stream: JSON over REQ/REP (loopback by default).

Requests ``{"op": "mix.set", "mix": SPEC}``, ``{"op": "scale.set", "changes": {...}}``,
``{"op": "status"}``; replies ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "one line"}``.
:class:`StreamControl` is the client (the CLI's ``mix set`` / ``scale set`` / ``status`` use it);
in the trainer process, call the same methods on the :class:`~simsv_stream.stream.Dispatcher`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..errors import SimsvError

MAX_REQUEST_BYTES = 64 * 1024


class ControlError(SimsvError):
    """The control endpoint refused a request, or did not answer."""


def handle_request(dispatcher: Any, raw: bytes) -> bytes:
    try:
        if len(raw) > MAX_REQUEST_BYTES:
            raise ValueError(f"request is {len(raw)} bytes, over {MAX_REQUEST_BYTES}")
        req = json.loads(raw.decode("utf-8"))
        if not isinstance(req, dict) or not isinstance(req.get("op"), str):
            raise ValueError('expected a JSON object with an "op" field')
        op = req["op"]
        if op == "mix.set":
            result = dispatcher.set_mix(req.get("mix"))
        elif op == "scale.set":
            changes = req.get("changes")
            if not isinstance(changes, dict) or not changes:
                raise ValueError('scale.set needs a non-empty "changes" object')
            result = dispatcher.set_scales(changes)
        elif op == "status":
            result = dispatcher.status()
        else:
            raise ValueError(f"unknown op {op[:40]!r} (known: mix.set, scale.set, status)")
        return json.dumps({"ok": True, "result": result}, default=str).encode()
    except (SimsvError, ValueError, TypeError, UnicodeDecodeError) as e:
        return json.dumps({"ok": False, "error": " ".join(str(e).split())}).encode()
    except Exception as e:  # never leave a REQ peer hanging
        return json.dumps({"ok": False, "error": f"{type(e).__name__}: {' '.join(str(e).split())}"}).encode()


class StreamControl:
    """Client of a stream's control endpoint: ``set_mix``, ``set_scales``, ``set_workers``, ``status``."""

    def __init__(self, endpoint: str, timeout_s: float = 5.0, curve_keys: str | None = None):
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.curve_keys = curve_keys

    def request(self, req: Mapping[str, Any]) -> Any:
        import zmq

        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, int(self.timeout_s * 1000))
        s.setsockopt(zmq.SNDTIMEO, int(self.timeout_s * 1000))
        if self.curve_keys:
            from .security import CurveClient

            CurveClient.from_folder(self.curve_keys).apply(s)
        try:
            s.connect(self.endpoint)
            s.send(json.dumps(dict(req)).encode())
            try:
                raw = s.recv()
            except zmq.Again:
                raise ControlError(
                    f"no answer from {self.endpoint} in {self.timeout_s:g} s "
                    f"(is a stream running there? `simsv-stream stream` prints its control endpoint)"
                ) from None
        finally:
            s.close(0)
        rep = json.loads(raw)
        if not rep.get("ok"):
            raise ControlError(rep.get("error", "request refused"))
        return rep.get("result")

    def set_mix(self, mix: Any) -> dict:
        return self.request({"op": "mix.set", "mix": mix})

    def set_scales(self, changes: Mapping[str, Any] | None = None, **kw: Any) -> dict:
        return self.request({"op": "scale.set", "changes": dict(changes or {}, **kw)})

    def set_workers(self, n: int) -> dict:
        return self.set_scales(workers=n)

    def status(self) -> dict:
        return self.request({"op": "status"})


def parse_assignments(items: list[str]) -> dict[str, str]:
    """['frames=32', 'size=384x384'] -> {'frames': '32', 'size': '384x384'} (values stay text)."""
    out = {}
    for it in items:
        if "=" not in it:
            raise ControlError(f"expected KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def format_status(st: Mapping[str, Any]) -> str:
    lines = [
        f"stream rank {st['rank']}/{st['world_size']} at {st['endpoint']} (control {st['control_endpoint']})",
        f"  next id {st['next_id']}, written up to {st['next_write_id']}, in flight {st['in_flight']}, "
        f"waiting in order {st['waiting_in_order']}, credit {st['credit']}",
        f"  produced {st['produced']} ({st['produced_per_s']:.2f}/s), consumed {st['consumed']} "
        f"({st['consumed_per_s']:.2f}/s), re-issued {st['reissued']}, rejected {st['rejected']}, "
        f"duplicates {st['duplicates']}",
        f"  mix v{st['mix_version']}: " + ", ".join(f"{k}={v:.3g}" for k, v in st["mix"].items()),
        "  scales: " + ", ".join(f"{k}={v}" for k, v in st["scales"].items()),
        f"  workers: {len(st['workers'])} connected (local fleet {st['fleet_running']}/{st['fleet_target']})",
    ]
    for w in st["workers"]:
        rs = f"{w['render_s_mean']:.3f}s" if w["render_s_mean"] is not None else "-"
        lines.append(
            f"    {w['id']:<28} pid {w['pid']:<7} {w['rate_per_s']:7.2f}/s  render {rs:>8}  "
            f"outstanding {w['outstanding']}  done {w['done']}{'  draining' if w['draining'] else ''}"
        )
    return "\n".join(lines)
