"""CurveZMQ for dispatchers bound beyond loopback.

A key folder (``simsv-stream keys --out DIR``) holds::

    DIR/server.key, DIR/server.key_secret      the dispatcher's key pair (the secret stays on the trainer)
    DIR/clients/NAME.key, NAME.key_secret      one pair per worker host; every *.key there is authorized

The dispatcher encrypts with the server pair and runs a ZAP authenticator that admits only the
public keys in ``clients/``; a worker needs ``server.key`` plus its own pair. A worker without keys,
or with a key not in ``clients/``, never completes the handshake: its messages never arrive.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError


def generate_keys(folder: str | Path, clients: tuple[str, ...] = ("worker",)) -> Path:
    import zmq.auth

    folder = Path(folder)
    (folder / "clients").mkdir(parents=True, exist_ok=True)
    if not (folder / "server.key_secret").exists():
        zmq.auth.create_certificates(str(folder), "server")
    for name in clients:
        if not (folder / "clients" / f"{name}.key_secret").exists():
            zmq.auth.create_certificates(str(folder / "clients"), name)
    os.chmod(folder / "server.key_secret", 0o600)
    for p in (folder / "clients").glob("*.key_secret"):
        os.chmod(p, 0o600)
    return folder


def _load(path: Path) -> tuple[bytes, bytes | None]:
    import zmq.auth

    if not path.exists():
        raise ConfigError(
            "curve_keys", f"missing key file {path} (make a key folder with `simsv-stream keys --out DIR`)"
        )
    try:
        return zmq.auth.load_certificate(str(path))
    except (ValueError, OSError) as e:
        raise ConfigError("curve_keys", f"cannot read {path}: {e}") from None


@dataclass
class CurveServer:
    public: bytes
    secret: bytes
    clients_dir: Path

    @classmethod
    def from_folder(cls, folder: str | Path) -> "CurveServer":
        folder = Path(folder)
        pub, sec = _load(folder / "server.key_secret")
        if not sec:
            raise ConfigError("curve_keys", f"{folder}/server.key_secret has no secret key")
        clients = folder / "clients"
        if not clients.is_dir() or not any(clients.glob("*.key")):
            raise ConfigError("curve_keys", f"{clients} holds no authorized worker keys (*.key)")
        return cls(pub, sec, clients)

    def start_authenticator(self, ctx):
        """A ZAP handler admitting only the public keys in clients/ (call stop() on the result)."""
        from zmq.auth.thread import ThreadAuthenticator

        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve(domain="*", location=str(self.clients_dir))
        return auth

    def apply(self, sock) -> None:
        import zmq

        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SERVER, 1)


@dataclass
class CurveClient:
    server_public: bytes
    public: bytes
    secret: bytes

    @classmethod
    def from_folder(cls, folder: str | Path, name: str | None = None) -> "CurveClient":
        folder = Path(folder)
        server_pub, _ = _load(folder / "server.key")
        clients = folder / "clients"
        if name is None:
            found = sorted(clients.glob("*.key_secret"))
            if not found:
                raise ConfigError("curve_keys", f"{clients} holds no worker secret key (*.key_secret)")
            path = found[0]
        else:
            path = clients / f"{name}.key_secret"
        pub, sec = _load(path)
        if not sec:
            raise ConfigError("curve_keys", f"{path} has no secret key")
        return cls(server_pub, pub, sec)

    def apply(self, sock) -> None:
        import zmq

        sock.setsockopt(zmq.CURVE_SERVERKEY, self.server_public)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)
