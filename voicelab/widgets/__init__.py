"""Notebook widgets: the live demo app, the microphone recorder, a run progress bar.

Imported only as ``import voicelab.widgets`` (ipywidgets, anywidget): ``import voicelab``
stays light.
"""

from voicelab.widgets.live_demo import LiveDemo
from voicelab.widgets.progress import RunProgress
from voicelab.widgets.recorder import MicRecorder
from voicelab.widgets.session import LiveOutcome, LiveSession

__all__ = ["LiveDemo", "LiveOutcome", "LiveSession", "MicRecorder", "RunProgress"]
