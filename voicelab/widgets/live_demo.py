"""The live demo app: a turn from a dataset, a WAV file or the microphone, through pipelines."""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from voicelab.audio import decode_audio_bytes
from voicelab.datasets import Dataset, Turn
from voicelab.errors import AudioError, ConfigError, VoicelabError
from voicelab.widgets.recorder import MicRecorder
from voicelab.widgets.session import LiveOutcome, LiveSession

SOURCES = ("Dataset turn", "Upload a WAV", "Microphone")


def _html(text: str, css_class: str, label: str = "") -> widgets.HTML:
    box = widgets.HTML(f"<b>{html.escape(label)}</b> {html.escape(text)}" if label else text)
    box.add_class(css_class)
    return box


def _waterfall_png(outcome: LiveOutcome) -> bytes:
    """The turn's stage waterfall as PNG bytes (matplotlib, no GUI backend)."""
    from matplotlib.figure import Figure

    from voicelab.plots import stage_waterfall

    figure: Figure = stage_waterfall(outcome.frame, turn_id=outcome.row["turn_id"])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def outcome_panel(outcome: LiveOutcome) -> widgets.VBox:
    """One pipeline's answer: transcript, agent text, waterfall and a player, or the error."""
    title = _html(f"<h4>{html.escape(outcome.pipeline)}</h4>", "voicelab-pipeline")
    if outcome.frame.empty:
        return widgets.VBox([title, _html(outcome.error or "", "voicelab-error", "Error:")])
    row = outcome.row
    parts: list[widgets.Widget] = [
        title,
        _html(str(row["user_transcript"] or ""), "voicelab-transcript", "You said:"),
        _html(str(row["agent_text"] or ""), "voicelab-agent-text", "Agent:"),
    ]
    if outcome.error:
        parts.append(_html(outcome.error, "voicelab-error", "Error:"))
    else:
        try:
            image = widgets.Image(value=_waterfall_png(outcome), format="png")
            image.add_class("voicelab-waterfall")
            parts.append(image)
        except Exception as e:  # a plot failure must not hide the answer
            parts.append(_html(f"{type(e).__name__}: {e}", "voicelab-error", "Plot failed:"))
    if outcome.agent_wav:
        player = widgets.Audio(value=outcome.agent_wav, format="wav", autoplay=False)
        player.add_class("voicelab-agent-audio")
        parts.append(player)
    return widgets.VBox(parts)


class LiveDemo(widgets.VBox):  # type: ignore[misc]
    """Pick a dataset turn, upload a WAV or record the microphone; run it through pipelines."""

    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        session: LiveSession | None = None,
        pipelines: Sequence[str] = ("chained-local",),
        **session_options: Any,
    ) -> None:
        self.session = session or LiveSession(**session_options)
        self.turns = [turn for conversation in dataset or () for turn in conversation.turns]
        self.turn_picker = widgets.Dropdown(
            options=[(f"{t.turn_id}: {t.reference_text or t.audio_source}", i)
                     for i, t in enumerate(self.turns)],
            layout=widgets.Layout(width="95%"),
        )  # fmt: skip
        self.upload = widgets.FileUpload(accept=".wav,audio/*", multiple=False)
        self.recorder = MicRecorder()
        self.sources = widgets.Tab(
            children=[self.turn_picker, self.upload, self.recorder], titles=SOURCES
        )
        self.pipeline_picker = widgets.SelectMultiple(
            options=self.session.names, value=tuple(pipelines), description="Pipelines"
        )
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.status = _html("", "voicelab-status")
        self.results = widgets.HBox()
        self.run_button.on_click(self._clicked)
        self._task: asyncio.Task[list[LiveOutcome]] | None = None
        super().__init__(
            [self.sources, self.pipeline_picker, self.run_button, self.status, self.results]
        )
        self.add_class("voicelab-live-demo")

    def selected_turn(self) -> Turn:
        """The turn the chosen source gives, or an error saying what is missing."""
        source = SOURCES[self.sources.selected_index or 0]
        if source == "Dataset turn":
            if self.turn_picker.value is None:
                raise ConfigError("no dataset turn to run: give LiveDemo a dataset")
            turn: Turn = self.turns[self.turn_picker.value]
            return turn
        if source == "Upload a WAV":
            if not self.upload.value:
                raise AudioError("no file uploaded yet: choose a WAV file first")
            upload = self.upload.value[0]
            clip = decode_audio_bytes(bytes(upload["content"]), source=upload["name"])
            return Turn(conversation_id="upload", turn_index=0, audio=clip)
        return Turn(conversation_id="microphone", turn_index=0, audio=self.recorder.clip())

    async def run(self) -> list[LiveOutcome]:
        """Run the selected turn through the selected pipelines and show what each made of it."""
        self.run_button.disabled = True
        self.results.children = ()
        try:
            names = list(self.pipeline_picker.value)
            if not names:
                raise ConfigError("no pipeline selected: pick one or more")
            turn = self.selected_turn()
            self.status.value = f"running {html.escape(turn.turn_id)} on {', '.join(names)}…"
            outcomes = await self.session.run(turn, names)
        except VoicelabError as e:
            self.status.value = f'<span class="voicelab-error">{html.escape(str(e))}</span>'
            return []
        finally:
            self.run_button.disabled = False
        self.results.children = tuple(outcome_panel(o) for o in outcomes)
        failed = sum(o.error is not None for o in outcomes)
        self.status.value = f"done: {len(outcomes)} pipeline(s), {failed} failed"
        return outcomes

    def _clicked(self, _button: widgets.Button) -> None:
        self._task = asyncio.ensure_future(self.run())  # on the kernel's running event loop

    def close(self) -> None:
        """Close the widgets and stop the local server the session may have started."""
        self.session.close()
        super().close()
