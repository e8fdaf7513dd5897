"""Third-party exceptions, built as their libraries build them, mapped to voicelab's classes."""

from __future__ import annotations

import httpx
import httpx2
import openai
import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response as WebSocketResponse

from voicelab.error_mapping import as_voicelab_error, retry_after_s, service_error_class
from voicelab.errors import (
    AudioError,
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

URL = "http://127.0.0.1:8765/v1/audio/transcriptions"
REQUEST = httpx2.Request("POST", URL + "?api-key=not-in-messages")  # what openai's client uses
HTTPX_REQUEST = httpx.Request("POST", URL)


def _response(status: int, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, headers=headers, json={"error": {}}, request=REQUEST)


def _status_error(cls: type[openai.APIStatusError], status: int, **headers: str) -> Exception:
    return cls(f"Error code: {status}", response=_response(status, **headers), body=None)


def _caused(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


def _ws_status(status: int) -> InvalidStatus:
    return InvalidStatus(WebSocketResponse(status, "refused", Headers({"Retry-After": "7"})))


# (the exception, voicelab's class, transient, retry_after_s, text the message keeps)
CASES: list[tuple[BaseException, type[VoicelabError], bool, float | None, str]] = [
    (_status_error(openai.RateLimitError, 429, **{"retry-after": "2"}),
     RateLimitedError, True, 2.0, "RateLimitError: Error code: 429"),
    (_status_error(openai.InternalServerError, 503, **{"retry-after-ms": "1500"}),
     ServerSideError, True, 1.5, "InternalServerError: Error code: 503"),
    (_status_error(openai.InternalServerError, 500), ServerSideError, True, None, "500"),
    (_status_error(openai.APIStatusError, 502), ServerSideError, True, None, "502"),
    (_status_error(openai.BadRequestError, 400), RequestRejectedError, False, None,
     "BadRequestError: Error code: 400"),
    (_status_error(openai.AuthenticationError, 401), RequestRejectedError, False, None, "401"),
    (_status_error(openai.NotFoundError, 404), RequestRejectedError, False, None, "NotFound"),
    (_status_error(openai.APIStatusError, 408), RemoteTimeoutError, True, None, "408"),
    (openai.APITimeoutError(request=REQUEST), RemoteTimeoutError, True, None,
     f"APITimeoutError: Request timed out. (POST {URL})"),
    (_caused(openai.APIConnectionError(request=REQUEST), httpx2.ConnectError("refused")),
     ConnectionFailedError, True, None,
     f"APIConnectionError: Connection error. (POST {URL}; from ConnectError: refused)"),
    (_caused(openai.APIConnectionError(request=REQUEST),
             httpx2.RemoteProtocolError("peer closed connection", request=REQUEST)),
     ConnectionDroppedError, True, None, "; from RemoteProtocolError: peer closed connection)"),
    *[case for http, request in ((httpx, HTTPX_REQUEST), (httpx2, REQUEST)) for case in [
        (http.RemoteProtocolError("incomplete chunked read", request=request),
         ConnectionDroppedError, True, None,
         f"RemoteProtocolError: incomplete chunked read (POST {URL})"),
        (http.ReadError("reset", request=request), ConnectionDroppedError, True, None,
         "ReadError: reset"),
        (http.ReadTimeout("timed out", request=request), RemoteTimeoutError, True, None,
         "ReadTimeout: timed out"),
        (http.ConnectError("All connection attempts failed"), ConnectionFailedError, True, None,
         "ConnectError: All connection attempts failed"),
        (http.HTTPStatusError("429", request=request, response=http.Response(
            429, headers={"retry-after": "3"}, request=request)),
         RateLimitedError, True, 3.0, "HTTPStatusError: 429"),
    ]],
    (ConnectionClosedError(Close(1011, "injected drop"), None), ConnectionDroppedError, True,
     None, "ConnectionClosedError: received 1011 (internal error) injected drop"),
    (openai.WebSocketConnectionClosedError("closed", unsent_messages=[]),
     ConnectionDroppedError, True, None, "WebSocketConnectionClosedError: closed"),
    (_ws_status(503), ServerSideError, True, 7.0, "InvalidStatus"),
    (_ws_status(403), RequestRejectedError, False, 7.0, "HTTP 403"),
    (ConnectionRefusedError(111, "Connection refused"), ConnectionFailedError, True, None,
     "ConnectionRefusedError"),
    (ConnectionResetError(104, "Connection reset by peer"), ConnectionDroppedError, True, None,
     "Connection reset by peer"),
    (TimeoutError(), PipelineTimeoutError, True, None, "TimeoutError"),
    (openai.OpenAIError("The api_key client option must be set"), ConfigError, False, None,
     "OpenAIError: The api_key client option must be set"),
    (RuntimeError("boom"), UnexpectedError, False, None, "RuntimeError: boom"),
    (KeyError("agent_text"), UnexpectedError, False, None, "KeyError: 'agent_text'"),
]  # fmt: skip


@pytest.mark.parametrize(("error", "expected", "transient", "wait_s", "text"), CASES)
def test_third_party_errors_map_to_voicelab_classes(
    error: BaseException,
    expected: type[VoicelabError],
    transient: bool,
    wait_s: float | None,
    text: str,
) -> None:
    mapped = as_voicelab_error(error)
    assert type(mapped) is expected
    assert mapped.transient is transient
    assert mapped.__cause__ is error
    assert text in str(mapped) and "not-in-messages" not in str(mapped)
    if isinstance(mapped, ServiceError):
        assert mapped.retry_after_s == wait_s
        status = getattr(getattr(error, "response", None), "status_code", None)
        assert mapped.status == status
    else:
        assert wait_s is None


def test_voicelab_errors_pass_through_and_permanence_is_the_default() -> None:
    audio = AudioError("corrupt.wav: not a WAV file")
    assert as_voicelab_error(audio) is audio
    assert not audio.transient and not VoicelabError("x").transient


def test_message_names_the_endpoint_without_the_key() -> None:
    key = "sk-test-0123456789abcdefghij"
    error = _status_error(openai.AuthenticationError, 401)
    error.args = (f"Incorrect API key provided: {key}",)
    mapped = as_voicelab_error(error, where="ws://127.0.0.1:1/v1/realtime", secrets=[key])
    assert str(mapped).startswith("ws://127.0.0.1:1/v1/realtime: AuthenticationError: ")
    assert key not in str(mapped) and "***" in str(mapped)


@pytest.mark.parametrize(
    ("status", "error_type", "code", "expected"),
    [
        (429, None, None, RateLimitedError),
        (503, None, None, ServerSideError),
        (504, None, None, ServerSideError),
        (408, None, None, RemoteTimeoutError),
        (400, None, None, RequestRejectedError),
        (413, None, None, RequestRejectedError),
        (None, "server_error", "model_error", ServerSideError),
        (None, "rate_limit_error", None, RateLimitedError),
        (None, "invalid_request_error", "rate_limit_exceeded", RateLimitedError),
        (None, "invalid_request_error", "model_not_found", RequestRejectedError),
        (None, None, None, RequestRejectedError),
    ],
)
def test_service_error_class_from_status_or_realtime_error_type(
    status: int | None, error_type: str | None, code: str | None, expected: type[ServiceError]
) -> None:
    assert service_error_class(status, error_type, code) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"retry-after": "-1"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(headers) == expected
