"""Real-time endpoints: mount a model's predictor, answer Predict, throttle per endpoint.

Like Amazon ML's other Create operations, CreateRealtimeEndpoint accepts a model still PENDING or
INPROGRESS: the endpoint stays UPDATING until the model is COMPLETED (then READY) or FAILED (then FAILED).
Mounted predictors live in memory. After a restart a READY endpoint loads its predictor on the first
Predict; an endpoint left UPDATING is mounted again.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aml_provider.local.config import ServiceConfig
from aml_provider.local.errors import (
    InvalidInputException,
    LimitExceededException,
    PredictorNotMountedException,
    ResourceNotFoundException,
)
from aml_provider.local.jobs.context import artifacts_dir
from aml_provider.local.store import EntityStore, StoredEntity, now

logger = logging.getLogger(__name__)
MAX_RECORD_BYTES = 100 * 1024
#: EndpointInfo of a model without a real-time endpoint.
NO_ENDPOINT = {"EndpointStatus": "NONE", "PeakRequestsPerSecond": 0}
#: Records larger than this (bytes of names and values) are predicted in a worker process: tokenising long
#: text holds the GIL for milliseconds, which would delay every other request of the service.
HEAVY_RECORD_BYTES = 4096
#: Worker processes for heavy records.
HEAVY_PREDICT_WORKERS = 1
#: Model statuses that can have an endpoint (one created before training ends waits for it).
MOUNTABLE = ("PENDING", "INPROGRESS", "COMPLETED")
#: How often a mounting endpoint looks whether its model has finished training.
TRAINING_POLL_SECONDS = 0.2


class TokenBucket:
    """Allows `rate` requests per second, with bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.refilled = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            moment = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (moment - self.refilled) * self.rate)
            self.refilled = moment
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


@dataclass
class Mounted:
    predictor: Any
    score_threshold: float
    bucket: TokenBucket = field(repr=False)
    artifacts: Path


class Endpoints:
    """The endpoints of this process: every endpoint state change goes through here, under one lock."""

    def __init__(self, config: ServiceConfig, store: EntityStore) -> None:
        self.config = config
        self.store = store
        self._mounted: dict[str, Mounted] = {}
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._workers: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Mount again the endpoints a previous process left UPDATING."""
        for model in self.store.with_endpoint_status("UPDATING"):
            self._start_mounting(model.id)

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._workers is not None:
                self._workers.shutdown(wait=False, cancel_futures=True)

    def create(self, model_id: str) -> dict[str, Any]:
        """Start mounting (UPDATING, then READY) unless the endpoint is already UPDATING or READY."""
        info = {
            "PeakRequestsPerSecond": self.config.predict_requests_per_second,
            "CreatedAt": now(),
            "EndpointUrl": self.config.base_url,
            "EndpointStatus": "UPDATING",
        }
        with self._lock:
            document = self.store.update(
                "MLModel", model_id, {"EndpointInfo": info}, when=_can_start_mounting
            )
            if document is None:
                current = self.store.get("MLModel", model_id)
                if current is None or current.status not in MOUNTABLE:
                    raise InvalidInputException(
                        f"MLModel '{model_id}' is not usable; a real-time endpoint needs a model that is "
                        "COMPLETED or still training."
                    )
                return dict(current.document["EndpointInfo"])
        self._start_mounting(model_id)
        return info

    def delete(self, model_id: str) -> dict[str, Any]:
        with self._lock:
            self.store.update("MLModel", model_id, {"EndpointInfo": NO_ENDPOINT})
            self.unmount(model_id)
        return dict(NO_ENDPOINT)

    def unmount(self, model_id: str) -> None:
        with self._lock:
            self._mounted.pop(model_id, None)

    def set_threshold(self, model_id: str, score_threshold: float) -> None:
        mounted = self._mounted.get(model_id)
        if mounted is not None:
            mounted.score_threshold = score_threshold

    def predict(self, model_id: str, record: dict[str, str], size: int) -> dict[str, Any]:
        """The Prediction of `record` (`size` bytes); heavy records are predicted in a worker process."""
        mounted = self._mounted.get(model_id) or self._mount_ready(model_id)
        if not mounted.bucket.take():
            raise LimitExceededException(
                f"The endpoint of MLModel '{model_id}' allows {self.config.predict_requests_per_second} "
                "requests per second; slow down and retry."
            )
        if size <= HEAVY_RECORD_BYTES:
            return {"Prediction": mounted.predictor.predict(record, mounted.score_threshold)}
        return {"Prediction": self._in_worker(mounted, record)}

    def _in_worker(self, mounted: Mounted, record: dict[str, str]) -> dict[str, Any]:
        from aml_provider.local.jobs.predict import predict_in_worker

        try:
            return (
                self._pool()
                .submit(predict_in_worker, mounted.artifacts, record, mounted.score_threshold)
                .result()
            )
        except BrokenProcessPool:  # the worker died (killed, out of memory): start a new one next time
            with self._lock:
                self._workers = None
            raise

    def _pool(self) -> ProcessPoolExecutor:
        from aml_provider.local.jobs.predict import start_worker
        from aml_provider.local.jobs.worker import forkserver

        with self._lock:
            if self._workers is None:
                self._workers = ProcessPoolExecutor(HEAVY_PREDICT_WORKERS, forkserver(), start_worker)
            return self._workers

    def _mount_ready(self, model_id: str) -> Mounted:
        """The predictor of a READY endpoint not loaded in this process yet (after a restart)."""
        with self._lock:
            if model_id in self._mounted:
                return self._mounted[model_id]
            model = self.store.get("MLModel", model_id)
            if model is None or model.status == "DELETED":
                raise ResourceNotFoundException(f"No MLModel with MLModelId '{model_id}' exists.")
            status = model.document["EndpointInfo"]["EndpointStatus"]
            if status != "READY":
                raise PredictorNotMountedException(
                    f"MLModel '{model_id}' has no READY real-time endpoint (it is {status}); call "
                    "CreateRealtimeEndpoint and wait until EndpointInfo.EndpointStatus is READY."
                )
            return self._load(model)

    def _load(self, model: StoredEntity) -> Mounted:
        from aml_provider.local.jobs.predict import load_predictor

        artifacts = artifacts_dir(self.config, "MLModel", model.id)
        mounted = Mounted(
            load_predictor(artifacts),
            float(model.document.get("ScoreThreshold", 0.5)),
            TokenBucket(self.config.predict_requests_per_second),
            artifacts,
        )
        self._mounted[model.id] = mounted
        return mounted

    def _trained(self, model_id: str) -> bool:
        """Wait while the model is still training; False when mounting is no longer wanted."""
        while not self._stopped.is_set():
            model = self.store.get("MLModel", model_id)
            if model is None or not _still_mounting(model.document):
                return False
            if model.status not in ("PENDING", "INPROGRESS"):
                return True
            self._stopped.wait(TRAINING_POLL_SECONDS)
        return False

    def _start_mounting(self, model_id: str) -> None:
        threading.Thread(
            target=self._mount, args=(model_id,), name=f"aml-mount-{model_id}", daemon=True
        ).start()

    def _mount(self, model_id: str) -> None:
        """Wait the configured mount time and the end of training, load the predictor, then go READY
        (or FAILED, when the model failed or its predictor cannot be loaded)."""
        if self._stopped.wait(self.config.endpoint_mount_seconds) or not self._trained(model_id):
            return
        with self._lock:
            model = self.store.get("MLModel", model_id)
            if model is None or not _still_mounting(model.document):
                return
            status = "FAILED"
            try:
                if model.status == "COMPLETED":
                    self._load(model)
                    status = "READY"
            except Exception:
                logger.exception("Cannot load the predictor of MLModel %s", model_id)
            if self._stopped.is_set():
                return
            info = {**model.document["EndpointInfo"], "EndpointStatus": status}
            if self.store.update("MLModel", model_id, {"EndpointInfo": info}, when=_still_mounting) is None:
                self._mounted.pop(model_id, None)


def _can_start_mounting(document: dict[str, Any]) -> bool:
    return document["Status"] in MOUNTABLE and document["EndpointInfo"]["EndpointStatus"] in (
        "NONE",
        "FAILED",
    )


def _still_mounting(document: dict[str, Any]) -> bool:
    return document["Status"] != "DELETED" and document["EndpointInfo"]["EndpointStatus"] == "UPDATING"
