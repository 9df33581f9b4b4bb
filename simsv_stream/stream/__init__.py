"""The stream: simulator worker processes -> ZeroMQ -> dispatcher -> torchdata.nodes.

Public API (imported lazily, so a worker process never pays for torch)::

    from simsv_stream.stream import StreamConfig, build_loader
    loader = build_loader(StreamConfig(workers=4, mix="3q"), map_fn=processor, collate_fn=collate, batch_size=8)
    for batch in loader: ...
    loader.dispatcher.set_mix("appearance_order")        # live, exact from change["first_id"]
    state = loader.state_dict(); loader.load_state_dict(state)   # resume: no id repeated or skipped

    StreamControl("tcp://127.0.0.1:5556").status()        # from another process
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "StreamConfig": ".config",
    "Dispatcher": ".dispatcher",
    "StreamError": ".dispatcher",
    "Fleet": ".fleet",
    "StreamControl": ".control",
    "ControlError": ".control",
    "ZmqSource": ".source",
    "StreamLoader": ".source",
    "build_loader": ".source",
    "decode_sample": ".source",
    "get_backend": ".backends",
    "generate_keys": ".security",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'simsv_stream.stream' has no attribute {name!r}")
    return getattr(importlib.import_module(mod, __name__), name)
