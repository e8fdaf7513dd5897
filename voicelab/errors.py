"""voicelab's error hierarchy: one base class, one subclass per layer.

Each error says what failed and where (file, turn or endpoint). ``transient`` marks failures
worth retrying (a timeout, a 429, a 503, a dropped connection), as opposed to permanent ones (a
corrupt file, a rejected request). A failed turn's row holds the class name as ``error_type``
and ``transient`` as ``error_transient``; ``voicelab.error_mapping`` turns third-party
exceptions into these classes.
"""

from __future__ import annotations


class VoicelabError(Exception):
    """Base class of every error voicelab raises on purpose."""

    transient: bool = False


class ConfigError(VoicelabError):
    """A configuration value is missing, malformed or out of range."""


class AudioError(VoicelabError):
    """An audio file or buffer is missing, empty, corrupt or otherwise unusable."""


class NoSpeechError(AudioError):
    """A clip holds no speech the voice-activity detector can find: there is no turn to answer."""


class DatasetError(VoicelabError):
    """A dataset or manifest cannot be read, or a turn in it is malformed."""


class ModelError(VoicelabError):
    """A model could not be loaded or failed while running."""


class PipelineError(VoicelabError):
    """A pipeline failed to complete a turn."""


class PipelineTimeoutError(PipelineError):
    """A turn did not finish within its configured timeout."""

    transient = True


class WorkerLostError(PipelineError):
    """The worker process or Ray actor running a conversation died (crash, out of memory, kill)."""

    transient = True


class UnexpectedError(PipelineError):
    """An exception voicelab does not know (a bug here, in the SDK or in the agent's tools)."""


class ServiceError(PipelineError):
    """A model service (OpenAI, or ``voicelab serve``) failed a request."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status of the answer, if there was one."""
        self.code = code
        """The service's own error code (``rate_limit_exceeded``, ``model_not_found``...)."""
        self.retry_after_s = retry_after_s
        """How long the service asked the client to wait (``Retry-After``), if it said."""


class RateLimitedError(ServiceError):
    """The service refused the request for now: too many requests or tokens (HTTP 429)."""

    transient = True


class ServerSideError(ServiceError):
    """The service failed or was overloaded (HTTP 5xx, or a realtime ``server_error``)."""

    transient = True


class RequestRejectedError(ServiceError):
    """The service refused the request as it is (HTTP 4xx: bad input, unknown model, no key)."""


class RemoteTimeoutError(ServiceError):
    """The service did not answer a request in time (the client's request timeout)."""

    transient = True


class ConnectionFailedError(ServiceError):
    """No connection to the service could be opened (refused, unreachable, bad handshake)."""

    transient = True


class ConnectionDroppedError(ServiceError):
    """The connection to the service closed while a request or a session needed it."""

    transient = True


class MissingDependencyError(VoicelabError):
    """An optional dependency is not installed; the message names the extra to install."""


class ServerError(VoicelabError):
    """The local server could not start, or refused what a client sent it."""


class ServerRequestError(ServerError):
    """Raised inside a handler of the local server to answer with an OpenAI-shaped HTTP error."""

    def __init__(
        self, status: int, message: str, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


class ClientEventError(ServerError):
    """A realtime client event the session cannot act on: answered with an ``error`` event."""

    def __init__(
        self,
        message: str,
        code: str,
        param: str | None = None,
        event_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.event_id = event_id
        self.error_type = error_type


class InjectedDropError(ServerError):
    """Raised inside a response stream so the server closes the connection mid-body."""


class ChannelClosedError(ServerError):
    """A realtime socket is closed (the client left, or a drop was injected): nothing more goes."""


class EvaluationError(VoicelabError):
    """A judge's verdict or an agent-audio transcription is malformed (the turn's row keeps
    the agent's result; the evaluation's own columns hold this error)."""


class ResultsError(VoicelabError):
    """A run folder or results file is missing or malformed."""
