"""Polls that survive a restarting service, throttling and 5xx answers.

Error codes are handled by the waiters' data: every waiter in ``waiters/machinelearning.json`` has
``"state": "retry"`` acceptors for throttling and server errors, so such an answer costs one of the
waiter's attempts (``waiter_delay`` apart) instead of failing the wait. Connection errors never reach
botocore's acceptors (the client raises them), so :class:`PatientWaiter` turns them into the same kind of
retry. Both are logged at WARNING. Terminal states and client (4xx) errors still fail at once.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionError as BotocoreConnectionError,
    HTTPClientError,
    WaiterError,
)

log = logging.getLogger(__name__)

#: What a client raises when the service cannot be reached (refused, reset, timed out, DNS).
CONNECTION_ERRORS: tuple[type[Exception], ...] = (BotocoreConnectionError, HTTPClientError, ConnectionError)
#: Error codes that mean "ask again later": throttling and server-side failures (5xx).
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServerException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "500",
        "502",
        "503",
        "504",
    }
)


def is_transient(error: BaseException) -> bool:
    """True for errors a poll should outlast: connection errors, throttling and 5xx answers."""
    if isinstance(error, ClientError):
        response = error.response
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return response.get("Error", {}).get("Code") in TRANSIENT_CODES or status >= 500
    return isinstance(error, CONNECTION_ERRORS)


def _retried_code(error: WaiterError) -> str | None:
    """The error code a ``retry`` acceptor matched in this (one-attempt) wait, if any."""
    code = (error.last_response or {}).get("Error", {}).get("Code")
    return code if code in TRANSIENT_CODES else None


class PatientWaiter:
    """A botocore waiter (sync or async) whose failed polls become retries, logged at WARNING.

    Made for one-attempt waits (``WaiterConfig={"MaxAttempts": 1}``), as the amazon provider's
    ``wait`` and ``async_wait`` run them, so that every retry counts against their attempt limit.
    """

    def __init__(self, waiter: Any, *, deferrable: bool) -> None:
        self.waiter = waiter
        self.name = waiter.name
        self.deferrable = deferrable

    def wait(self, **kwargs: Any) -> Any:
        if self.deferrable:
            return self._wait_async(**kwargs)
        try:
            return self.waiter.wait(**kwargs)
        except CONNECTION_ERRORS as error:
            raise self._retry(error) from error
        except WaiterError as error:
            self._warn_if_retried(error)
            raise

    async def _wait_async(self, **kwargs: Any) -> None:
        try:
            await self.waiter.wait(**kwargs)
        except CONNECTION_ERRORS as error:
            raise self._retry(error) from error
        except WaiterError as error:
            self._warn_if_retried(error)
            raise

    def _retry(self, error: Exception) -> WaiterError:
        log.warning("%s: cannot reach the service (%s); polling again", self.name, error)
        last_response: Any = {"Message": str(error)}  # what the status line of the next log shows
        return WaiterError(
            name=self.name, reason=f"Max attempts exceeded: {error}", last_response=last_response
        )

    def _warn_if_retried(self, error: WaiterError) -> None:
        code = _retried_code(error)
        if code:
            message = (error.last_response or {}).get("Error", {}).get("Message", "")
            log.warning("%s: the service answered %s (%s); polling again", self.name, code, message)
