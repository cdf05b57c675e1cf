"""The batch prediction page: record counts, where the results are, and the first scored rows beside their inputs."""

from __future__ import annotations

from html import escape
from typing import Any

from aml_provider.local.protocol.console import entity
from aml_provider.pages.layout import cards, entity_crumbs, link, page, pairs
from aml_provider.pages.svg import number


def batch_prediction_page(batch: dict[str, Any], preview: dict[str, Any] | None) -> str:
    """The page of one batch prediction; `preview` is its preview.json (None until it has scored rows)."""
    batch_id = batch.get("BatchPredictionId", "")
    total, invalid = batch.get("TotalRecordCount"), batch.get("InvalidRecordCount")
    body = entity.header("BatchPrediction", batch)
    body.append(
        cards(
            [
                (escape(number(total)), "records"),
                (
                    f'<span class="{"bad" if invalid else ""}">{escape(number(invalid))}</span>',
                    "invalid records",
                ),
                (escape(f"{(total - (invalid or 0)) / total:.1%}" if total else "—"), "scored"),
            ]
        )
    )
    body.append(_links(batch))
    body.append(_preview(preview, batch.get("Status")))
    body.extend(["<h2>Details</h2>", *entity.details("BatchPrediction", batch)])
    return page(f"BatchPrediction {batch_id}", body, entity_crumbs("BatchPrediction", batch_id))


def _links(batch: dict[str, Any]) -> str:
    output = batch.get("OutputUri", "")
    prefix = output.rstrip("/") + "/batch-prediction/"
    data = link("DataSource", batch.get("BatchPredictionDataSourceId", ""))
    if batch.get("InputDataLocationS3"):
        data += f" ({escape(batch['InputDataLocationS3'])})"
    rows = [
        ("model", link("MLModel", batch.get("MLModelId", ""))),
        ("data", data),
        ("output", escape(output)),
        ("manifest", escape(f"{prefix}{batch.get('BatchPredictionId', '')}.manifest")),
        ("result files", escape(f"{prefix}result/{batch.get('BatchPredictionId', '')}-<input file name>.gz")),
    ]
    return f'<h2>Where</h2><div id="links">{pairs(rows)}</div>'


def _preview(preview: dict[str, Any] | None, state: str | None) -> str:
    if not preview:
        reason = "no row could be scored" if state == "COMPLETED" else "no rows scored yet"
        return f"<h2>First scored rows</h2><p class=muted>None: {reason}.</p>"
    inputs, results = preview.get("inputColumns", []), preview.get("resultColumns", [])
    head = "".join(f'<th class="result">{escape(name)}</th>' for name in results)
    head += "".join(f"<th>{escape(name)}</th>" for name in inputs)
    rows = "".join(
        f'<tr><td class="num">{row["line"]}</td>'
        + "".join(f'<td class="result">{escape(value)}</td>' for value in row["results"])
        + "".join(f"<td>{escape(value)}</td>" for value in row["inputs"])
        + "</tr>"
        for row in preview.get("rows", [])
    )
    return (
        f"<h2>First scored rows</h2><p>Results (shaded) beside the input rows of {escape(preview.get('file', ''))}; "
        'line is the data line in that file.</p><div class="panel" id="preview">'
        f'<table class="wide"><tr><th>line</th>{head}</tr>{rows}</table></div>'
    )
