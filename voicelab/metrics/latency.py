"""Latency figures derived from a turn's Timeline, defined once for both architectures.

Everything is measured from the end of user speech (the last user audio sample handed to the
pipeline) unless its name says otherwise; the stage columns partition ``voice_to_voice_s``.
"""

from __future__ import annotations

from collections.abc import Mapping

from voicelab.timeline import Event, Timeline

# column -> (start event, end event); None where an event did not happen in the turn
LATENCY_SPANS: Mapping[str, tuple[str, str]] = {
    "endpointing_s": (Event.END_OF_SPEECH, Event.TURN_DETECTED),
    "stt_s": (Event.END_OF_SPEECH, Event.TRANSCRIPT_FINAL),
    "llm_ttft_s": (Event.TRANSCRIPT_FINAL, Event.LLM_FIRST_TOKEN),
    "agent_first_text_s": (Event.LLM_FIRST_TOKEN, Event.FIRST_TEXT_CHUNK),
    "text_buffer_s": (Event.FIRST_TEXT_CHUNK, Event.TTS_REQUEST),
    "tts_ttfb_s": (Event.TTS_REQUEST, Event.TTS_FIRST_BYTE),
    "audio_delivery_s": (Event.TTS_FIRST_BYTE, Event.FIRST_AGENT_AUDIO),
    "response_created_s": (Event.END_OF_SPEECH, Event.RESPONSE_CREATED),
    "voice_to_voice_s": (Event.END_OF_SPEECH, Event.FIRST_AGENT_AUDIO),
    "voice_to_audible_s": (Event.END_OF_SPEECH, Event.FIRST_AUDIBLE_AUDIO),
    "leading_silence_s": (Event.FIRST_AGENT_AUDIO, Event.FIRST_AUDIBLE_AUDIO),
    "turn_total_s": (Event.END_OF_SPEECH, Event.LAST_AGENT_AUDIO),
    "audio_send_s": (Event.AUDIO_INPUT_START, Event.END_OF_SPEECH),
}

LATENCY_COLUMNS: tuple[str, ...] = tuple(LATENCY_SPANS)

# per architecture, the stage columns that follow one another on the way from end of speech to
# first agent audio; realtime exposes one boundary only, the rest of its wait is unattributed
VOICE_TO_VOICE_STAGES: Mapping[str, tuple[str, ...]] = {
    "chained": (
        "stt_s", "llm_ttft_s", "agent_first_text_s", "text_buffer_s", "tts_ttfb_s",
        "audio_delivery_s",
    ),
    "realtime": ("response_created_s",),
}  # fmt: skip


def latency_figures(timeline: Timeline) -> dict[str, float | None]:
    """Every latency column for one turn, in seconds (None where not applicable)."""
    return {
        column: timeline.seconds_between(start, end)
        for column, (start, end) in LATENCY_SPANS.items()
    }
