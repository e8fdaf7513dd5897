"""Which backend serves an OpenAI-compatible HTTP endpoint, asked of the server once.

The label is part of a run's configuration (hashed, and in every row), so it is known before the
first conversation. voicelab's server names itself in the ``x-voicelab-backend`` header of every
response (``local-server`` or ``synthetic``); any other server is labelled by its URL.
"""

from __future__ import annotations

import logging

import httpx2

from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.redact import redact_text

logger = logging.getLogger("voicelab.providers")
BACKEND_HEADER = "x-voicelab-backend"
_PROBE_TIMEOUT_S = 10.0  # a healthy server answers in milliseconds; this only bounds a hang


def http_backend(endpoint: OpenAIEndpoint) -> str:
    """The backend label of ``endpoint``: what its server calls itself (one ``GET /models``),
    else ``endpoint.backend`` (``openai`` for the cloud, which is not asked)."""
    fallback = endpoint.backend
    if fallback == "openai" or endpoint.base_url is None:
        return fallback
    url = f"{endpoint.base_url.rstrip('/')}/models"
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    try:
        response = httpx2.get(url, headers=headers, timeout=_PROBE_TIMEOUT_S)
    except httpx2.HTTPError as e:  # the turns will report the failure; the label falls back
        cause = redact_text(str(e) or type(e).__name__, [endpoint.api_key or ""])
        logger.warning("could not ask %s for its backend: %s", url, cause)
        return fallback
    return response.headers.get(BACKEND_HEADER) or fallback
