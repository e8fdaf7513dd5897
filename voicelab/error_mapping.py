"""Third-party exceptions as voicelab's own classes, so every row says if a retry could help.

The OpenAI client, httpx, websockets and asyncio each have their own exceptions; a failed turn's
row holds one of a small, closed set of voicelab classes instead (README, "Failed turns"):
429 is ``RateLimitedError``, 5xx ``ServerSideError``, other 4xx ``RequestRejectedError``, a
client timeout ``RemoteTimeoutError``, a refused or dropped connection ``ConnectionFailedError``
or ``ConnectionDroppedError``, the client's own setup error ``ConfigError``, anything unknown
(a bug) ``UnexpectedError``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Any, cast

from voicelab.errors import (
    ConfigError,
    ConnectionDroppedError,
    ConnectionFailedError,
    PipelineTimeoutError,
    RateLimitedError,
    RemoteTimeoutError,
    RequestRejectedError,
    ServerSideError,
    ServiceError,
    UnexpectedError,
    VoicelabError,
)
from voicelab.redact import redact_text

_EVENT_ERROR_TYPES: dict[str, type[ServiceError]] = {
    "rate_limit_error": RateLimitedError,
    "rate_limit_exceeded": RateLimitedError,
    "server_error": ServerSideError,
}  # the ``type`` (or ``code``) of a Realtime ``error`` event; any other is the request's fault


def service_error_class(
    status: int | None = None, error_type: str | None = None, code: str | None = None
) -> type[ServiceError]:
    """The class of a service's refusal, from its HTTP status or its error ``type``/``code``."""
    if status is not None:
        if status == 429:
            return RateLimitedError
        if status == 408:  # the server gave up waiting for the request
            return RemoteTimeoutError
        return ServerSideError if status >= 500 else RequestRejectedError
    for key in (error_type, code):
        if key in _EVENT_ERROR_TYPES:
            return _EVENT_ERROR_TYPES[key]
    return RequestRejectedError


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The wait a response asks for, from ``retry-after-ms`` or ``retry-after`` in seconds.

    An HTTP-date ``Retry-After`` is left out: turning it into a wait needs a clock.
    """
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            wait_s = float(value) * scale
        except ValueError:
            continue
        if wait_s >= 0:
            return wait_s
    return None


def as_voicelab_error(
    error: BaseException, *, where: str | None = None, secrets: Iterable[str] = ()
) -> VoicelabError:
    """``error`` as one of voicelab's classes, with ``error`` as its ``__cause__``.

    voicelab's own errors come back unchanged. Any other keeps its class name and text in the
    message ("RateLimitError: Error code: 429 ..."), after ``where`` (the endpoint) if given,
    with ``secrets`` removed.
    """
    if isinstance(error, VoicelabError):
        return error
    message = redact_text(_describe(error, where), secrets)
    cls, status, headers = _classify(error)
    mapped: VoicelabError
    if issubclass(cls, ServiceError):
        wait_s = retry_after_s(headers) if headers is not None else None
        mapped = cls(message, status=status, retry_after_s=wait_s)
    else:
        mapped = cls(message)
    mapped.__cause__ = error
    return mapped


def _describe(error: BaseException, where: str | None) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    details = [_request_line(error)]
    cause = error.__cause__
    if cause is not None and str(cause) not in text:  # "Connection error." alone says little
        details.append(f"from {type(cause).__name__}: {cause}" if str(cause) else f"from {cause!r}")
    if any(details):
        text += f" ({'; '.join(d for d in details if d)})"
    return f"{where}: {text}" if where else text


def _request_line(error: BaseException) -> str | None:
    """``POST http://host/v1/responses``: which request failed, its query left out (keys)."""
    try:
        request = getattr(error, "request", None)
    except RuntimeError:  # an httpx error raised without its request
        return None
    if not isinstance(request, _http("Request")):
        return None
    return f"{request.method} {request.url.copy_with(query=None)}"


def _http(name: str) -> tuple[type[Any], ...]:
    """The class ``name`` of httpx and of httpx2 (the fork newer openai clients use)."""
    # imported here so that ``import voicelab`` stays light
    modules = []
    for module in ("httpx", "httpx2"):
        with suppress(ImportError):
            modules.append(importlib.import_module(module))
    return tuple(getattr(module, name) for module in modules)


def _classify(
    error: BaseException,
) -> tuple[type[VoicelabError], int | None, Mapping[str, str] | None]:
    """The voicelab class of a third-party error, with the HTTP status and headers if any."""
    import openai
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

    if isinstance(error, (openai.APIStatusError, *_http("HTTPStatusError"))):
        response = cast(Any, error).response  # openai and both httpx forks have one
        return service_error_class(response.status_code), response.status_code, response.headers
    if isinstance(error, InvalidStatus):  # the WebSocket handshake was answered with an error
        status = error.response.status_code
        return service_error_class(status), status, error.response.headers
    if isinstance(error, (openai.APITimeoutError, *_http("TimeoutException"))):
        return RemoteTimeoutError, None, None
    refused = (*_http("ConnectError"), ConnectionRefusedError)
    if isinstance(error, openai.APIConnectionError):
        failed = isinstance(error.__cause__, refused)
        return (ConnectionFailedError if failed else ConnectionDroppedError), None, None
    if isinstance(error, (*refused, InvalidHandshake)):
        return ConnectionFailedError, None, None
    dropped = (*_http("NetworkError"), *_http("RemoteProtocolError"), ConnectionError)
    if isinstance(error, (*dropped, ConnectionClosed, openai.WebSocketConnectionClosedError)):
        return ConnectionDroppedError, None, None
    if isinstance(error, TimeoutError):  # asyncio.timeout around a turn or a step of it
        return PipelineTimeoutError, None, None
    if type(error) is openai.OpenAIError:  # the client refusing its own setup (no key, bad URL)
        return ConfigError, None, None
    return UnexpectedError, None, None
