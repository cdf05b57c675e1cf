"""Running the service: its access keys, the app over the real backend, and uvicorn in a background thread."""

from __future__ import annotations

import json
import os
import secrets
import socket
import string
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from aml_provider.local.backend import Backend
from aml_provider.local.config import ServiceConfig
from aml_provider.local.protocol import Authenticator, create_app

CREDENTIALS_FILE = "credentials.json"


def build_app(config: ServiceConfig) -> ASGIApp:
    """The service's ASGI app over a new backend, accepting `config.access_keys`."""
    authenticator = Authenticator(config.access_keys, region=config.region_name)
    return create_app(Backend(config), authenticator, config)


def with_access_keys(config: ServiceConfig) -> tuple[ServiceConfig, Path | None]:
    """`config`, given the key pair of `<data_dir>/credentials.json` (created once) when it has no keys.

    Also answers the credentials file used, or None when the keys came with the config.
    """
    if config.access_keys:
        return config, None
    path = config.data_dir / CREDENTIALS_FILE
    if not path.exists():
        _write_new_key_pair(path)
    pair = json.loads(path.read_text())
    return replace(config, access_keys={pair["access_key_id"]: pair["secret_access_key"]}), path


def _write_new_key_pair(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    alphabet = string.ascii_uppercase + string.digits
    pair = {
        "access_key_id": "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        "secret_access_key": secrets.token_urlsafe(30),
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(pair, file, indent=2)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free port."""
    sock = socket.create_server((host, port), reuse_port=False)
    sock.set_inheritable(True)
    return sock


class BackgroundServer:
    """uvicorn serving an app from a daemon thread, on a socket bound beforehand."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.sock = sock
        self.server = uvicorn.Server(
            uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start serving and wait until /health answers (ready or not: readiness is the caller's to check)."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not _answers(f"{self.url}/health"):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The local Amazon ML service did not start at {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Finish open requests, stop the backend (app lifespan) and close the socket."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join()
        self.sock.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # 503: serving, though not ready (e.g. S3 unreachable)
    except OSError:
        return False
