"""Where a realtime socket goes, and which backend answers there.

The backend label is part of a run's configuration (it is hashed and written in every row), so
it must be known before the first conversation: ``detect_backend`` asks the server once, by
opening a session and reading its ``session.created``. voicelab's local server names itself
there (``"voicelab": {"backend": "local-cascade"}``); any other server is labelled by its URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.redact import redact_text

if TYPE_CHECKING:
    from openai import AsyncOpenAI

logger = logging.getLogger("voicelab.pipelines")
OPENAI_REALTIME_URL = "wss://api.openai.com/v1/realtime"
_PROBE_TIMEOUT_S = 10.0  # a healthy server greets within milliseconds; this only bounds a hang


def websocket_base_url(url: str) -> str:
    """The client's ``websocket_base_url`` for a realtime URL (the client appends /realtime)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/realtime"):
        path = path[: -len("/realtime")]
    return urlunsplit(parts._replace(path=path))


def realtime_url(endpoint: OpenAIEndpoint, url: str | None) -> str:
    """The realtime WebSocket URL the pipeline connects to (no key, no ``model``)."""
    if url is not None:
        return url
    if endpoint.base_url is None:
        return OPENAI_REALTIME_URL
    parts = urlsplit(endpoint.base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme, path=parts.path.rstrip("/") + "/realtime"))


def url_backend(endpoint: OpenAIEndpoint, url: str | None) -> str:
    """``openai`` for OpenAI's cloud, ``openai-compatible`` for any other server."""
    return "openai" if "api.openai.com" in realtime_url(endpoint, url) else "openai-compatible"


def session_backend(session_created: Mapping[str, Any]) -> str | None:
    """The backend a ``session.created`` event names (voicelab's local server does)."""
    session = session_created.get("session")
    marker = session.get("voicelab") if isinstance(session, Mapping) else None
    backend = marker.get("backend") if isinstance(marker, Mapping) else None
    return str(backend) if backend else None


def realtime_client(endpoint: OpenAIEndpoint, url: str | None) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` client whose ``realtime.connect`` reaches ``url`` (or the endpoint)."""
    client = endpoint.client()
    return client if url is None else client.copy(websocket_base_url=websocket_base_url(url))


async def _greeting(endpoint: OpenAIEndpoint, url: str | None, model: str) -> Mapping[str, Any]:
    client = realtime_client(endpoint, url)
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            async with client.realtime.connect(model=model) as connection:
                greeting: Mapping[str, Any] = json.loads(await connection.recv_bytes())
                return greeting
    finally:
        await client.close()


def detect_backend(endpoint: OpenAIEndpoint, url: str | None, model: str) -> str:
    """The backend label of the server at ``url``/``endpoint``, asking it once if need be.

    OpenAI's cloud is not asked. Other servers get one short session; if it cannot be opened
    the label falls back to ``openai-compatible`` (the turns will then report why).
    """
    fallback = url_backend(endpoint, url)
    if fallback == "openai":
        return fallback
    found: list[str | None] = []

    def probe() -> None:  # its own thread and loop: callable with or without a running loop
        try:
            found.append(session_backend(asyncio.run(_greeting(endpoint, url, model))))
        except Exception as e:  # any failure to probe leaves the URL-based label
            cause = redact_text(str(e) or type(e).__name__, [endpoint.api_key or ""])
            logger.warning(
                "could not ask %s for its backend: %s", realtime_url(endpoint, url), cause
            )

    worker = threading.Thread(target=probe, name="voicelab-realtime-probe", daemon=True)
    worker.start()
    worker.join(_PROBE_TIMEOUT_S + 5)
    return (found[0] if found else None) or fallback
