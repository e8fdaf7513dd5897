"""OpenAI's JSON error shape, with the status codes and types its clients expect."""

from __future__ import annotations

from starlette.responses import JSONResponse

from voicelab.errors import ServerRequestError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    503: "server_error",
    504: "server_error",
}
_DEFAULT_MESSAGES = {
    429: "Rate limit reached (injected by voicelab's fault injection).",
    500: "The server had an error while processing your request (injected fault).",
    502: "Bad gateway (injected fault).",
    503: "The server is overloaded (injected fault).",
    504: "Gateway timeout (injected fault).",
}


def error_body(
    status: int, message: str, code: str | None, param: str | None = None
) -> dict[str, object]:
    """The JSON of an error, as OpenAI sends it."""
    return {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def error_response(
    error: ServerRequestError, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error as a JSON response."""
    return JSONResponse(
        error_body(error.status, error.message, error.code, error.param),
        status_code=error.status,
        headers=headers,
    )


def injected_error(status: int, retry_after_s: int) -> JSONResponse:
    """The response of an injected error status (429 and 503 carry Retry-After)."""
    headers = {"retry-after": str(retry_after_s)} if status in (429, 503) else None
    code = "rate_limit_exceeded" if status == 429 else "injected_fault"
    return error_response(ServerRequestError(status, _DEFAULT_MESSAGES[status], code), headers)
