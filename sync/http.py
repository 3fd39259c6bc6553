"""The one HTTP layer all adapters share: one httpx client per source (connections reused),
timeouts, retries with jittered exponential backoff (stamina), Retry-After, a request pace, and
errors that name the endpoint but never a credential.

Reads are retried on connection trouble, timeouts, 429 and 5xx. Writes (non-idempotent) are
retried only when the request certainly did not reach the platform (connect errors) or the
platform said so (429/503 with Retry-After); any other failure of a write is reported to the
pusher, which checks remote state before sending again.

A response is read as a stream and at most `RetryPolicy.max_response_bytes` of it (after
decompression) is kept: a broken or hostile server sending gigabytes (or a small gzip bomb) gets
ResponseTooLarge naming the endpoint, once its declared length or the bytes read pass the
limit, instead of the sync holding it all in memory. Nothing of such an answer is decoded, so
nothing of it is stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import stamina

from sync import logs
from sync.base import AuthFailed, BadPayload, HttpFailure, Offline

USER_AGENT = "peerdesk-sync/0.1 (+https://github.com/peerdesk)"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    total_timeout: float = 120.0  # seconds for one request including its retries
    max_retry_after: float = 120.0  # a longer Retry-After is not waited for: retry later
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # the most one answer may hold (decompressed): a Discourse page of topics or posts is some
    # hundreds of KB, a Stack Exchange page of 100 items with bodies a few MB
    max_response_bytes: int = 64 * 1024 * 1024


FAST_RETRIES = RetryPolicy(
    attempts=3,
    wait_initial=0.01,
    wait_max=0.05,
    wait_jitter=0.01,
    total_timeout=10.0,
    max_retry_after=2.0,
    connect_timeout=2.0,
    read_timeout=2.0,
)


class ResponseTooLarge(HttpFailure):
    """An answer larger than the policy's `max_response_bytes`: not read to its end, not kept."""


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.0f} MiB"
    return f"{count / 1024:.0f} KiB" if count >= 1024 else f"{count} bytes"


def read_capped(response: httpx.Response, endpoint: str, limit: int) -> httpx.Response:
    """`response` (sent with `stream=True`) read whole, decompressed, as a response of its own;
    ResponseTooLarge if it declares or holds more than `limit` bytes. Closes `response`."""
    too_large = ResponseTooLarge(
        endpoint,
        0,
        f"the answer is larger than {_size(limit)}, the most peerdesk reads from one "
        "response (a broken or hostile server?); nothing of it was kept",
    )
    try:
        declared = response.headers.get("Content-Length", "")
        # (a compressed answer declares its compressed length: checked again as it is read)
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise too_large
    finally:
        response.close()
    headers = [
        (key, value)
        for key, value in response.headers.multi_items()
        if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]  # the body is decompressed already, and its length is its own
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=bytes(body),
        request=response.request,
        extensions=response.extensions,
    )


class _Transient(Exception):
    """A response worth retrying (429, 5xx); carries the server's Retry-After if any."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def parsed(text: str | bytes) -> Any:
    """json.loads, with JSON nested too deeply for its recursive parser (valid, but a
    RecursionError) a ValueError like any other JSON that cannot be read."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _excerpt(response: httpx.Response) -> str:
    text = response.text[:300]
    return " ".join(text.split())


def _error_message(response: httpx.Response) -> str:
    """The platform's own words if it sent JSON errors, else a short description of the body."""
    ctype = response.headers.get("content-type", "")
    if "json" in ctype:
        try:
            data = parsed(response.content)
        except ValueError:
            return "an unreadable JSON error body"
        if isinstance(data, dict):
            checks = data.get("validation")  # RFC 7807 problem details (e.g. a spec validator)
            if isinstance(checks, list) and checks:
                parts = [
                    f"{'.'.join(str(x) for x in c.get('location', []))}: {c.get('message')}"
                    for c in checks
                    if isinstance(c, dict)
                ]
                return f"{data.get('title') or 'invalid request'}: " + "; ".join(parts)[:400]
            for key in (
                "errors",
                "error",
                "message",
                "error_message",
                "error_name",
                "detail",
                "title",
            ):
                value = data.get(key)
                if isinstance(value, list) and value:
                    return "; ".join(str(v) for v in value)[:500]
                if isinstance(value, str) and value:
                    return value[:500]
        return json.dumps(data)[:300]
    if "html" in ctype or response.text.lstrip().lower().startswith(("<!doctype", "<html")):
        return "an HTML error page instead of JSON"
    return _excerpt(response) or response.reason_phrase


def platform_message(response: httpx.Response) -> str:
    """The platform's own words for an error response (its JSON `errors`, or a description)."""
    return _error_message(response)


def is_auth_failure(response: httpx.Response) -> bool:
    """Wrong or missing credentials (not: allowed in general but refused this one item).

    Discourse answers a bad key with 403 and error_type "invalid_access"; Stack Exchange with
    400/401/403 and error_name "access_token_invalid" or "key_invalid".
    """
    if response.status_code == 401:
        return True
    if response.status_code not in (400, 403):
        return False
    try:
        data = parsed(response.content)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    kind = str(data.get("error_type") or data.get("error_name") or "")
    text = json.dumps(data.get("errors") or data.get("error_message") or "").lower()
    return kind in ("invalid_access", "access_token_invalid", "key_invalid", "access_denied") or (
        "key is invalid" in text
    )


class HttpSource:
    """A pooled client for one platform, with shared retry/pace/error handling."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        policy: RetryPolicy | None = None,
        min_interval: float = 0.0,
        name: str = "",
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.name = name
        self._secrets = [s for s in secrets if s]
        logs.register_secrets(self._secrets)  # library log lines never show them either
        self.min_interval = min_interval
        self._next_allowed = 0.0
        self._lock = threading.Lock()
        self.requests_made = 0
        timeout = httpx.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout)
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            timeout=timeout,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def pause_until(self, monotonic_deadline: float) -> None:
        """Do not send the next request before `monotonic_deadline` (platform back-off)."""
        with self._lock:
            self._next_allowed = max(self._next_allowed, monotonic_deadline)

    def _pace(self) -> None:
        with self._lock:
            wait = self._next_allowed - time.monotonic()
            self._next_allowed = max(self._next_allowed, time.monotonic()) + self.min_interval
        if wait > 0:
            time.sleep(wait)

    def _backoff_hook(self, error: Exception) -> bool | float:
        if isinstance(error, _Transient):
            if error.retry_after is not None:
                if error.retry_after > self.policy.max_retry_after:
                    return False
                return error.retry_after
            return True
        return isinstance(error, httpx.TransportError)

    def _write_backoff_hook(self, error: Exception) -> bool | float:
        # Only when the request certainly was not processed.
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        if isinstance(error, _Transient) and error.response.status_code in (429, 503):
            if error.retry_after is None:
                return error.response.status_code == 429
            return error.retry_after if error.retry_after <= self.policy.max_retry_after else False
        return False

    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str | None = None,
        params: Any = None,
        json_body: Any = None,
        data: Any = None,
        idempotent: bool | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; returns any final response below 500 except 429 (caller decides).

        Raises Offline when the platform cannot be reached, HttpFailure for a 429/5xx that
        outlived the retries.
        """
        endpoint = endpoint or path
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD")
        hook = self._backoff_hook if idempotent else self._write_backoff_hook
        try:
            for attempt in stamina.retry_context(
                on=hook,
                attempts=self.policy.attempts,
                timeout=self.policy.total_timeout,
                wait_initial=self.policy.wait_initial,
                wait_max=self.policy.wait_max,
                wait_jitter=self.policy.wait_jitter,
            ):
                with attempt:
                    self._pace()
                    self.requests_made += 1
                    sent = self.client.build_request(
                        method,
                        path,
                        params=params,
                        json=json_body,
                        data=data,
                        content=content,
                        headers=headers,
                    )
                    response = read_capped(
                        self.client.send(sent, stream=True),
                        endpoint,
                        self.policy.max_response_bytes,
                    )
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Transient(
                            response, retry_after_seconds(response.headers.get("Retry-After"))
                        )
                    return response
        except _Transient as error:
            status = error.response.status_code
            message = _error_message(error.response)
            if status == 429:
                message = f"rate limited ({message}); try again later"
            raise HttpFailure(endpoint, status, self.redact(message)) from None
        except (
            httpx.ReadTimeout,
            httpx.WriteTimeout,
            httpx.PoolTimeout,
            httpx.RemoteProtocolError,
            httpx.ReadError,
        ) as error:
            # The platform was reached but did not answer in time (or cut the answer off):
            # this request failed, the platform is not "offline".
            raise HttpFailure(
                endpoint, 0, self.redact(f"no complete answer ({type(error).__name__}); try later")
            ) from None
        except httpx.TransportError as error:
            kind = type(error).__name__
            raise Offline(
                self.redact(f"{self.name or 'platform'} unreachable at {endpoint}: {kind}: {error}")
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path: str, *, endpoint: str | None = None, params: Any = None) -> Any:
        """GET and decode JSON; errors become HttpFailure / AuthFailed / BadPayload."""
        endpoint = endpoint or path
        response = self.request("GET", path, endpoint=endpoint, params=params)
        return self.decode(response, endpoint)

    def decode(self, response: httpx.Response, endpoint: str) -> Any:
        status = response.status_code
        if is_auth_failure(response):
            raise AuthFailed(
                endpoint,
                401,
                self.redact(
                    f"the platform refused the credentials ({_error_message(response)}); "
                    "check the API key and username (environment or keyring)"
                ),
            )
        if status >= 400:
            raise HttpFailure(endpoint, status, self.redact(_error_message(response)))
        ctype = response.headers.get("content-type", "")
        body = response.text
        if "html" in ctype or body.lstrip().lower().startswith(("<!doctype", "<html")):
            raise BadPayload(
                endpoint, None, "an HTML page instead of JSON", self.redact(_excerpt(response))
            )
        try:
            return parsed(response.content)
        except ValueError as error:
            raise BadPayload(
                endpoint,
                None,
                f"malformed or truncated JSON ({error})",
                self.redact(_excerpt(response)),
            ) from None
