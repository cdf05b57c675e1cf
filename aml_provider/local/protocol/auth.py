"""AWS Signature Version 4 verification (botocore's signing algorithm), answering as AWS JSON services do."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from hashlib import sha256
from urllib.parse import quote

from botocore.auth import SIGV4_TIMESTAMP
from botocore.utils import normalize_url_path

from aml_provider.local.errors import AmlError

SERVICE_NAME = "machinelearning"
ACCOUNT_ID = "000000000000"
DEFAULT_USER_NAME = "local"
DEFAULT_REGION = "us-east-1"
MAX_CLOCK_SKEW = timedelta(minutes=15)
_BASIC_TIME = re.compile(r"[0-9]{8}T[0-9]{6}Z")


class MissingAuthenticationTokenException(AmlError):
    code = "MissingAuthenticationTokenException"
    status = 403


class IncompleteSignatureException(AmlError):
    code = "IncompleteSignatureException"
    status = 400


class UnrecognizedClientException(AmlError):
    code = "UnrecognizedClientException"
    status = 400


class InvalidSignatureException(AmlError):
    code = "InvalidSignatureException"
    status = 400


SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


#: Headers that must be signed whenever the request has them: they say what the request does. (Content-Type
#: need not be: AWS accepts it unsigned, as the AWS SDK for JavaScript v2 sends it, and the body's hash is.)
SIGNED_WHEN_PRESENT = ("x-amz-target",)


class Authenticator:
    """Verifies SigV4-signed requests against the configured access keys; answers the caller's IAM ARN.

    Verification has two steps so that nothing of the body is read for a request that cannot be genuine:
    `check_headers` needs only the request line and headers, `SignedRequest.verify` then checks the
    signature over the (size-limited) body.
    """

    def __init__(
        self, access_keys: Mapping[str, str], user_name: str = DEFAULT_USER_NAME, region: str = DEFAULT_REGION
    ) -> None:
        self.access_keys = dict(access_keys)
        self.caller_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{user_name}"
        self.region = region

    def verify(
        self, method: str, path: str, query: str, headers: Mapping[str, list[str]], body: bytes, now: datetime
    ) -> str:
        """Check the request's signature; `headers` maps lower-case names to all their values."""
        return self.check_headers(method, path, query, headers, now).verify(body)

    def check_headers(
        self, method: str, path: str, query: str, headers: Mapping[str, list[str]], now: datetime
    ) -> SignedRequest:
        """Everything but the signature itself: key, credential scope, signed headers and clock."""
        authorization = _single(headers, "authorization")
        if not authorization:
            raise MissingAuthenticationTokenException("Missing Authentication Token")
        fields = _authorization_fields(authorization)
        access_key, scope = fields["Credential"].partition("/")[::2]
        scope_parts = scope.split("/")
        if len(scope_parts) != 4 or scope_parts[3] != "aws4_request":
            raise IncompleteSignatureException(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
                f"got '{fields['Credential']}'"
            )
        secret = self.access_keys.get(access_key)
        if secret is None:
            raise UnrecognizedClientException("The security token included in the request is invalid.")
        self._check_scope(region=scope_parts[1], service=scope_parts[2])
        signed_names = fields["SignedHeaders"].split(";")
        _check_signed_names(signed_names, headers)
        timestamp = _single(headers, "x-amz-date")
        _check_clock(timestamp, now)
        signed = {name: headers.get(name, []) for name in signed_names}
        return SignedRequest(
            self.caller_arn,
            method,
            path,
            query,
            signed,
            timestamp,
            fields["Signature"],
            secret,
            scope_parts[1],
        )

    def _check_scope(self, region: str, service: str) -> None:
        if service != SERVICE_NAME:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{SERVICE_NAME}'."
            )
        if region != self.region:
            raise InvalidSignatureException(
                f"Credential should be scoped to a valid region, not '{region}': this service is in "
                f"'{self.region}'; sign with region_name='{self.region}'."
            )


@dataclass(slots=True)
class SignedRequest:
    """A request whose headers passed `Authenticator.check_headers`; `verify(body)` checks its signature."""

    caller_arn: str
    method: str
    path: str
    query: str
    signed: dict[str, list[str]]
    timestamp: str
    signature: str
    secret_key: str = field(repr=False)
    region: str

    def verify(self, body: bytes) -> str:
        """The caller's ARN, or InvalidSignatureException when the signature does not cover this body."""
        _check_payload_hash(self.signed, body)
        expected = hmac.digest(
            _signing_key(self.secret_key, self.timestamp[:8], self.region),
            self._string_to_sign(body).encode(),
            "sha256",
        ).hex()
        if not hmac.compare_digest(expected.encode(), self.signature.encode()):
            raise InvalidSignatureException(SIGNATURE_MISMATCH)
        return self.caller_arn

    def _string_to_sign(self, body: bytes) -> str:
        """SigV4's string to sign, as botocore's SigV4Auth builds it for the headers the client signed."""
        names = sorted(self.signed)
        headers = "".join(
            f"{name}:{','.join(' '.join(value.split()) for value in self.signed[name])}\n" for name in names
        )
        claimed = self.signed.get("x-amz-content-sha256")
        payload = claimed[0] if claimed else sha256(body).hexdigest()
        canonical = "\n".join(
            [
                self.method.upper(),
                _canonical_path(self.path),
                _canonical_query(self.query),
                headers,
                ";".join(names),
                payload,
            ]
        )
        scope = f"{self.timestamp[:8]}/{self.region}/{SERVICE_NAME}/aws4_request"
        return f"AWS4-HMAC-SHA256\n{self.timestamp}\n{scope}\n{sha256(canonical.encode()).hexdigest()}"


@lru_cache(maxsize=64)
def _signing_key(secret: str, day: str, region: str) -> bytes:
    """SigV4's derived key of a secret for a day and region (the same all day, so derived once)."""
    key = ("AWS4" + secret).encode()
    for part in (day, region, SERVICE_NAME, "aws4_request"):
        key = hmac.new(key, part.encode(), sha256).digest()
    return key


@lru_cache(maxsize=256)
def _canonical_path(path: str) -> str:
    """The path as SigV4 signs it (a client sends the same few paths, so each is worked out once)."""
    return quote(normalize_url_path(path), safe="/~")


def _canonical_query(query: str) -> str:
    """The query's `key=value` pairs sorted, as sent (botocore's canonical query string of a URL)."""
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{key}={value}" for key, value in pairs)


def _check_signed_names(signed_names: list[str], headers: Mapping[str, list[str]]) -> None:
    """Host and X-Amz-Date must be signed, and X-Amz-Target whenever it is sent."""
    if "host" not in signed_names or "x-amz-date" not in signed_names:
        raise IncompleteSignatureException(
            "'Host' and 'X-Amz-Date' must be SignedHeaders in the AWS Authorization."
        )
    unsigned = [name for name in SIGNED_WHEN_PRESENT if name in headers and name not in signed_names]
    if unsigned:
        shown = " and ".join(f"'{name}'" for name in unsigned)
        raise IncompleteSignatureException(
            f"{shown} must be SignedHeaders in the AWS Authorization when the request has them: "
            "it names the operation."
        )


def _single(headers: Mapping[str, list[str]], name: str) -> str:
    values = headers.get(name) or [""]
    return values[0]


def _authorization_fields(authorization: str) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..` as a dict of its three fields."""
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise IncompleteSignatureException(
            f"Unsupported Authorization algorithm '{algorithm}': sign requests with AWS Signature Version 4 "
            "(AWS4-HMAC-SHA256)."
        )
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(required):
            raise IncompleteSignatureException(
                f"Authorization header requires '{required}' parameter. Authorization={authorization[:120]}"
            )
    return fields


def _check_clock(timestamp: str, now: datetime) -> None:
    """Reject a missing or malformed X-Amz-Date, or one more than 15 minutes from `now`."""
    try:
        signed_at = _basic_time(timestamp)
    except ValueError:
        raise IncompleteSignatureException(
            f"X-Amz-Date must be in ISO-8601 basic format (YYYYMMDDTHHMMSSZ); got '{timestamp}'."
        ) from None

    def basic(moment: datetime) -> str:
        return moment.strftime(SIGV4_TIMESTAMP)

    if abs(signed_at - now) <= MAX_CLOCK_SKEW:
        return
    if signed_at < now - MAX_CLOCK_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {timestamp} is now earlier than {basic(now - MAX_CLOCK_SKEW)} "
            f"({basic(now)} - 15 min.)"
        )
    if signed_at > now + MAX_CLOCK_SKEW:
        raise InvalidSignatureException(
            f"Signature not yet current: {timestamp} is still later than {basic(now + MAX_CLOCK_SKEW)} "
            f"({basic(now)} + 15 min.)"
        )


@lru_cache(maxsize=64)
def _basic_time(timestamp: str) -> datetime:
    """An ISO-8601 basic UTC time (`20261206T213000Z`, SIGV4_TIMESTAMP) without strptime's cost (and
    once per second of requests: they share their X-Amz-Date)."""
    if not _BASIC_TIME.fullmatch(timestamp):
        raise ValueError(timestamp)
    year, month, day = int(timestamp[0:4]), int(timestamp[4:6]), int(timestamp[6:8])
    hour, minute, second = int(timestamp[9:11]), int(timestamp[11:13]), int(timestamp[13:15])
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _check_payload_hash(signed: dict[str, list[str]], body: bytes) -> None:
    """A signed X-Amz-Content-SHA256 replaces the body in the signature, so it must really be the body's."""
    claimed = signed.get("x-amz-content-sha256")
    if claimed and claimed != [sha256(body).hexdigest()]:
        raise InvalidSignatureException(
            "The provided 'x-amz-content-sha256' header does not match the request body."
        )
