"""What every benchmark shares: smoke mode, the settings it changed, peak memory, its exit status, and the
local service started in a process of its own with a client for it.

`AML_BENCH_SMOKE=1` (what `make bench-smoke` sets) or `--smoke` runs each benchmark at tiny sizes so its
code paths stay alive: the measurements are printed but the targets are not enforced; a crash still fails.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from tests.helpers import free_port

SMOKE = os.environ.get("AML_BENCH_SMOKE") == "1" or "--smoke" in sys.argv[1:]
if "--smoke" in sys.argv[1:]:
    sys.argv.remove("--smoke")  # so each script's own argument parsing never sees it


def size(full: int, smoke: int) -> int:
    """`full` for a real run, `smoke` in smoke mode."""
    return smoke if SMOKE else full


def settings(**changed: object) -> None:
    """Print the settings this run uses that differ from the service's or the benchmark's defaults."""
    shown = ", ".join(f"{name}={value}" for name, value in changed.items())
    print(f"settings that differ from the defaults: {shown or 'none'}" + (" (smoke run)" if SMOKE else ""))


def peak_rss(pid: int) -> int:
    """The peak resident memory (VmHWM) of process `pid` since it started or since `reset_peak_rss`."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM")


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM of `pid` again from its current resident memory (Linux `clear_refs` value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def own_peak_rss() -> int:
    """The peak resident memory of this process, in bytes (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def verdict(met: bool) -> int:
    """Print whether the targets were met; the exit status: 1 on a miss, except in smoke mode."""
    if SMOKE:
        print("smoke run: targets not enforced" + ("" if met else " (some would be missed at these sizes)"))
        return 0
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


def serve(data_dir: Path, key: str, secret: str, *flags: str) -> tuple[subprocess.Popen[bytes], str, str]:
    """`aml-local serve` with its own local S3, in its own process, accepting the key pair `key`/`secret`:
    the process, the service's URL and the S3 URL, once `/health` answers."""
    port, s3_port = free_port(), free_port()
    command = [sys.executable, "-m", "aml_provider.local.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--local-s3", str(s3_port), *flags]
    command += ["--access-key-id", key, "--secret-access-key", secret]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return process, url, f"http://127.0.0.1:{s3_port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the service did not start")


def client(service: str, endpoint: str, key: str, secret: str) -> Any:
    """A boto3 client of `service` at `endpoint`, signing with `key`/`secret` in us-east-1."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )
