"""Errors of the Amazon ML API, raised anywhere in the local service and sent by the protocol layer."""

from __future__ import annotations


class AmlError(Exception):
    """An Amazon ML API error: its `code` is the wire `__type`, `status` the HTTP status."""

    code = "InternalServerException"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputException(AmlError):
    code = "InvalidInputException"
    status = 400


class ResourceNotFoundException(AmlError):
    code = "ResourceNotFoundException"
    status = 404


class IdempotentParameterMismatchException(AmlError):
    code = "IdempotentParameterMismatchException"
    status = 400


class LimitExceededException(AmlError):
    code = "LimitExceededException"
    status = 417


class PredictorNotMountedException(AmlError):
    code = "PredictorNotMountedException"
    status = 400


class InvalidTagException(AmlError):
    code = "InvalidTagException"
    status = 400


class TagLimitExceededException(AmlError):
    code = "TagLimitExceededException"
    status = 400


class InternalServerException(AmlError):
    code = "InternalServerException"
    status = 500


class JobFailed(Exception):
    """Raised by a job to end its entity FAILED; the message becomes the entity's `Message`."""
