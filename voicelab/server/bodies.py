"""Reading request bodies: JSON or multipart, never more than the limit, never waiting forever.

The limit counts the bytes actually read (a chunked upload declares no length), and a body must
arrive within ``body_timeout_s``; a client over either gets 413 or 408 and its connection closed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from voicelab.errors import ServerRequestError
from voicelab.server.state import ServerConfig

MAX_FORM_FIELDS = 1000  # OpenAI's multipart endpoints take a handful; more is abuse
MAX_FORM_FILES = 1  # one audio file per transcription


class BodyRefusedError(ServerRequestError):
    """A body refused before it was all read: its connection cannot carry another request."""


def _too_large(limit: int) -> BodyRefusedError:
    return BodyRefusedError(413, f"request body exceeds {limit} bytes", "request_too_large")


async def body_chunks(request: Request, config: ServerConfig) -> AsyncGenerator[bytes, None]:
    """The body as it arrives: 413 past ``max_body_bytes``, 408 past ``body_timeout_s``."""
    limit = config.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    deadline = asyncio.get_running_loop().time() + config.body_timeout_s
    stream = request.stream()
    received = 0
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    part = await anext(stream, None)
            except TimeoutError:
                raise BodyRefusedError(
                    408,
                    f"the request body did not arrive within {config.body_timeout_s:g} s",
                    "request_timeout",
                ) from None
            if part is None:
                return
            received += len(part)
            if received > limit:
                raise _too_large(limit)
            yield part
    finally:
        await stream.aclose()


async def read_body(request: Request, config: ServerConfig) -> bytes:
    """The whole raw body, within the limits."""
    return b"".join([part async for part in body_chunks(request, config)])


async def json_body(request: Request, config: ServerConfig) -> dict[str, Any]:
    """The request's JSON object body, or a 400/408/413 that says what is wrong."""
    raw = await read_body(request, config)
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ServerRequestError(400, f"request body is not valid JSON: {e}", "invalid_json") from e
    if not isinstance(body, dict):
        raise ServerRequestError(400, "request body must be a JSON object", "invalid_json")
    return body


async def form_body(request: Request, config: ServerConfig) -> FormData:
    """A ``multipart/form-data`` body (close it when done), or a 400/408/413/415."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ServerRequestError(
            415, "send multipart/form-data with 'file' and 'model'", "invalid_content_type"
        )
    parser = MultiPartParser(
        request.headers,
        body_chunks(request, config),
        max_files=MAX_FORM_FILES,
        max_fields=MAX_FORM_FIELDS,
        max_part_size=config.max_body_bytes,
    )
    try:
        return await parser.parse()
    except MultiPartException as e:
        raise BodyRefusedError(
            400, f"malformed multipart body: {e.message}", "invalid_multipart"
        ) from e
