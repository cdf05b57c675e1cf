"""`make demo`, as a user runs it: the six-day story ends with a history a data scientist can read."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_demo_tells_its_story(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "AML_"))}
    env["AML_DEMO_DIR"] = str(tmp_path / "demo")
    done = subprocess.run(  # the README's command itself (its install step is done by then)
        ["make", "--no-print-directory", "demo"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    history = done.stdout.split("== aml-family history customer-churn ==")[1].split("== Scoring")[0]
    rows = history.strip().splitlines()[1:]
    assert len(rows) == 6
    expected = [
        "promote: first model",
        "keep: champion kept",
        "",  # day 6, the first of the new world: either decision is honest
        "promote: challenger promoted",
        "reject: data check failed: schema",
        "skip: no new partition",
    ]
    for row, decision in zip(rows, expected, strict=True):
        assert decision in row
    serving = [re.search(r"ml-\S+", row).group(0) for row in rows]  # type: ignore[union-attr]
    assert serving[3] != serving[0]  # the day-7 challenger serves from then on
    assert serving[3:] == [serving[3]] * 3
    assert (tmp_path / "demo" / "last-decision.html").read_text().count("<svg") >= 2
    assert "[error" not in done.stdout + done.stderr
