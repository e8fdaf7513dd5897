"""Where an OpenAI-compatible API is and how to reach it (kept free of the Agents SDK)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from voicelab.errors import ConfigError
from voicelab.processing_time import report_processing_time
from voicelab.rate_limits import limit_request

if TYPE_CHECKING:
    import ssl

    from openai import AsyncOpenAI

# The seed architecture, named explicitly: the SDK's own defaults move between releases.
DEFAULT_STT_MODEL = "gpt-4o-transcribe"
DEFAULT_LLM_MODEL = "gpt-4o"
DEFAULT_TTS_MODEL = "gpt-4o-mini-tts"
AGENT_APIS = ("responses", "chat_completions")


@dataclass(frozen=True, kw_only=True)
class OpenAIEndpoint:
    """Where and how to reach an OpenAI-compatible API. The key never leaves this object."""

    api_key: str | None = None
    """Bearer key; read from the environment only at the edge (CLI), never logged."""
    base_url: str | None = None
    """API root such as ``http://127.0.0.1:8765/v1``; None is the OpenAI cloud."""
    timeout_s: float = 60.0
    """Per-request timeout of the client."""
    max_retries: int = 0
    """Client retries; 0 by default so a fault shows in the row instead of hiding in latency."""

    def __post_init__(self) -> None:
        if not self.api_key and not self.base_url:
            raise ConfigError(
                "an OpenAI pipeline needs OPENAI_API_KEY (the cloud) or --base-url of a "
                "compatible server such as `voicelab serve`"
            )
        if self.timeout_s <= 0 or self.max_retries < 0:
            raise ConfigError("timeout_s must be > 0 and max_retries >= 0")

    def __repr__(self) -> str:
        return (
            f"OpenAIEndpoint(base_url={self.base_url!r}, api_key={'***' if self.api_key else None})"
        )

    @property
    def backend(self) -> str:
        """``openai`` for the cloud, ``openai-compatible`` for any other base URL."""
        return (
            "openai"
            if self.base_url is None or "api.openai.com" in self.base_url
            else "openai-compatible"
        )

    def client(self) -> AsyncOpenAI:
        """A fresh ``AsyncOpenAI`` client for this endpoint: each request waits for the run's
        rate limits (``voicelab.rate_limits``), each response's server processing time
        (``openai-processing-ms``) goes to the listener of the calling task."""
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient  # `import voicelab` stays light

        return AsyncOpenAI(
            api_key=self.api_key or "no-key-needed-locally",
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
            http_client=DefaultAsyncHttpxClient(
                verify=tls_context(),
                event_hooks={"request": [limit_request], "response": [report_processing_time]},
            ),
        )


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """The one TLS context of every client voicelab builds (httpx's default verification).

    Building one loads the CA bundle: 22 ms of CPU, which a run paid for every client, i.e.
    every realtime session, one per conversation (28 ms of 29 ms per client; see
    ``benchmarks/throughput.py``). A context is safe to share between clients.
    """
    import httpx2

    return httpx2.create_ssl_context()
