"""Settings every pipeline config embeds the same way: feeding, turn timeout, an API endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicelab.errors import ConfigError
from voicelab.pipelines.feeding import FeedConfig
from voicelab.providers.openai_endpoint import OpenAIEndpoint


class _Checked:
    """End of the ``__post_init__`` chain of the settings mixins."""

    def __post_init__(self) -> None:
        return None


@dataclass(frozen=True, kw_only=True)
class TurnSettings(_Checked):
    """How user audio reaches a pipeline and how long one turn may take."""

    feed: FeedConfig = field(default_factory=FeedConfig)
    """How user audio is streamed in: pace, chunk size, trailing silence."""
    turn_timeout_s: float = 120.0
    """A turn taking longer ends with a PipelineTimeoutError row."""

    def __post_init__(self) -> None:
        if self.turn_timeout_s <= 0:
            raise ConfigError(f"turn_timeout_s must be > 0, not {self.turn_timeout_s}")
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class EndpointSettings(_Checked):
    """Where an OpenAI-compatible API is. The key is not a setting: it is passed at the edge."""

    base_url: str | None = None
    """API root such as ``http://127.0.0.1:8765/v1`` (``voicelab serve``); None is the cloud."""
    request_timeout_s: float = 60.0
    """Per-request timeout of the client."""
    max_retries: int = 0
    """Client retries; 0 so a fault shows in the row instead of hiding in latency."""

    def __post_init__(self) -> None:
        if self.request_timeout_s <= 0 or self.max_retries < 0:
            raise ConfigError("request_timeout_s must be > 0 and max_retries >= 0")
        super().__post_init__()

    def endpoint(self, api_key: str | None) -> OpenAIEndpoint:
        """The endpoint these settings name, with the key read at the edge."""
        return OpenAIEndpoint(
            api_key=api_key,
            base_url=self.base_url,
            timeout_s=self.request_timeout_s,
            max_retries=self.max_retries,
        )
