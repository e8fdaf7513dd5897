"""voicelab's error hierarchy: one base class, one subclass per layer.

Each error says what failed and where (file, turn or endpoint). ``transient`` marks failures
worth retrying (a timeout, a 503), as opposed to permanent ones (a corrupt file).
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


class MissingDependencyError(VoicelabError):
    """An optional dependency is not installed; the message names the extra to install."""


class ServerError(VoicelabError):
    """The local server could not start, or answered with an error."""


class ResultsError(VoicelabError):
    """A run folder or results file is missing or malformed."""
