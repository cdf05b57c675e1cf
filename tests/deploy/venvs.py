"""The package as users get it: a built wheel installed into fresh virtualenvs (uv, its cache reused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
LOCK = REPOSITORY / "requirements.lock"
UV = Path(sys.executable).parent / "uv"


def build_wheel(out_dir: Path) -> Path:
    """Build the project's wheel into `out_dir`; answer its path."""
    run([str(UV), "build", "--quiet", "--wheel", "--out-dir", str(out_dir), str(REPOSITORY)])
    return next(out_dir.glob("aml_provider-*.whl"))


def make_venv(path: Path, wheel: Path, extras: str = "") -> Path:
    """A fresh virtualenv at `path` with `wheel` (and `extras`, e.g. "local") at the lock's versions."""
    run([str(UV), "venv", "--quiet", "--python", sys.executable, str(path)])
    requirement = f"aml-provider{f'[{extras}]' if extras else ''} @ {wheel.resolve().as_uri()}"
    run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(path / "bin" / "python"),
            "-c",
            str(LOCK),
            requirement,
        ]
    )
    return path / "bin"


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without virtualenv, Airflow, AWS or service settings, plus `variables`.

    Bytecode is written on first import, so each venv compiles its modules once instead of every time.
    """
    dropped = ("AIRFLOW", "AWS_", "AML_", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    return env | variables


def run(
    argv: list[str], env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `argv`; on failure with `check`, raise with its output."""
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result
