"""A real ``airflow api-server`` in a subprocess, on a free port, in a home of its own.

It starts in a background thread (database migration, then the server), so a test can prepare its data
meanwhile and wait for the server only when it needs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from aml_provider.local.server import bind_socket

AIRFLOW = Path(sys.executable).with_name("airflow")


def airflow_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of an Airflow process in `home`: no examples, all users admins (a test stack)."""
    (home / "dags").mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        **extra,
    }


class ApiServer:
    """``airflow db migrate`` and ``airflow api-server`` on a free port; `wait()` answers its URL once healthy."""

    def __init__(self, home: Path, extra: dict[str, str], timeout: float = 120) -> None:
        sock = bind_socket("127.0.0.1", 0)
        port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{port}"
        self.command = [
            str(AIRFLOW),
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ]
        self.env = airflow_env(home, {"AIRFLOW__API__BASE_URL": self.url, **extra})
        self.log_path = home / "api-server.log"
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._start, daemon=True)

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join()
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def wait(self) -> str:
        self._thread.join()
        if self.failure is not None:
            raise RuntimeError(f"airflow api-server did not start: {self.failure}") from self.failure
        return self.url

    def _start(self) -> None:
        try:
            subprocess.run(
                [str(AIRFLOW), "db", "migrate"], env=self.env, check=True, capture_output=True, timeout=180
            )
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(
                    self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            self._wait_healthy(self.process)
        except BaseException as error:  # reported by wait(), in the test's thread
            self.failure = error

    def _wait_healthy(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"exited ({process.returncode}):\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2) as response:
                    if json.load(response).get("metadatabase", {}).get("status") == "healthy":
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"not healthy after {self.timeout} s:\n{self.log_path.read_text()[-3000:]}")
