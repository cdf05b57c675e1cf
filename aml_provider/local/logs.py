"""Logging of the local service: plain text or one JSON object per line, each with its request's ID."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime

#: The ID of the API request being answered (also sent as x-amzn-RequestId), for every line logged meanwhile.
REQUEST_ID: ContextVar[str | None] = ContextVar("aml_request_id", default=None)
#: `extra` fields a JSON line carries when a log call gives them.
EXTRA_FIELDS = ("method", "path", "operation", "status", "error", "duration_ms", "kind", "entity_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """A JSON object per record: time, level, logger, message, request_id and the known `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        line.update({name: getattr(record, name) for name in EXTRA_FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, then `request_id=...` on lines logged while answering a request."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """`logging.Formatter.formatTime`, with the seconds part formatted once a second."""
        if datefmt:
            return super().formatTime(record, datefmt)
        second, text = self._second
        if second != int(record.created):
            second = int(record.created)
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second, text
        return f"{text},{int(record.msecs):03d}"  # logging's default_msec_format

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        return f"{line} request_id={request_id}" if request_id else line


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send every log line (the service's and uvicorn's) to stderr as `log_format` ("text" or "json")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the local S3 (moto) logs every request
    logging.getLogger("botocore").setLevel(logging.WARNING)
