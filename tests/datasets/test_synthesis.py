"""Scripts spoken into datasets by piper and by the local server's ``/v1/audio/speech``: the
output loads with its references, expectations and tags, Whisper hears the script's words, and
a rerun reuses finished audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicelab.cli import main
from voicelab.datasets import Dataset, Turn, load_dataset
from voicelab.datasets.synthesis import RECORD_NAME, synthesize_script
from voicelab.datasets.tts_openai import OpenAISpeech, OpenAISpeechConfig
from voicelab.datasets.tts_piper import PiperSpeech
from voicelab.errors import AudioError, RequestRejectedError
from voicelab.metrics.wer import error_rates
from voicelab.providers.whisper_stt import FasterWhisperSTTModel
from voicelab.server.runner import LocalServer

pytestmark = pytest.mark.slow

# Corpus WER of Whisper tiny.en (the embedded STT) on the scripts below, measured before this
# bound was set: the YAML spoken by piper 16 times, median 0.038 and worst 0.154 (4 of 26
# words: "Paris" heard as "pairs", "umbrella" as "a number of all"; piper samples noise, so each
# synthesis differs); the JSONL spoken by the same voice 15 times, median 0.0 and worst 0.15
# ("four five two" as "for 5-2"), and through the local server 5 times, 0.0 each. The bound is
# the worst run plus a margin of 0.15 (about 4 more word errors); audio that is silent, cut
# short or wrongly decoded scores far above it.
MAX_ROUND_TRIP_WER = 0.30

YAML_SCRIPT = """\
conversations:
  - conversation_id: weather
    speaker: ann
    language: en
    turns:
      - text: What will the weather be like in Paris tomorrow?
        expected_tool: get_weather
        expected_tool_args: {city: Paris}
        expected_keywords: [Paris, tomorrow]
        topic: weather
      - text: Should I take an umbrella with me?
        expected_regex: "(?i)umbrella"
  - conversation_id: booking
    turns:
      - text: Please book a table for two people at seven tonight.
        expected_keywords: table; seven
        priority: 2
"""
JSONL_SCRIPT = """\
{"conversation_id": "orders", "turns": [{"text": "Where is my order four five two?", \
"expected_tool": "lookup_order", "expected_tool_args": {"order_id": "452"}}, \
{"text": "Thank you very much for your help.", "language": "en", "voice": "alloy"}]}

{"conversation_id": "hours", "voice": "nova", "turns": [{"text": "When does your shop open \
on Saturday morning?", "speaker": "bob"}]}
"""


def _turns(dataset: Dataset) -> dict[str, Turn]:
    return {t.turn_id: t for c in dataset for t in c.turns}


def _language(turn: Turn) -> str | None:
    """A turn's language: a tag here, a ``Turn`` field once the corpora loaders have one."""
    return getattr(turn, "language", None) or turn.tags.get("language")


def _round_trip_wer(dataset: Dataset) -> float:
    """Corpus WER of the embedded Whisper's transcripts against the script's text."""
    stt = FasterWhisperSTTModel()
    turns = list(_turns(dataset).values())
    hypotheses = [stt.transcribe_clip(t.load_clip()) for t in turns]
    print(list(zip([t.reference_text for t in turns], hypotheses, strict=True)))
    return error_rates([t.reference_text or "" for t in turns], hypotheses).wer


def _audio_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "audio").glob("*.wav"))}


def test_yaml_script_spoken_by_piper_then_reused(tmp_path: Path) -> None:
    script, out = tmp_path / "script.yaml", tmp_path / "data"
    script.write_text(YAML_SCRIPT)
    first = synthesize_script(script, out, PiperSpeech())
    assert (first.spoken, first.reused) == (3, 0)
    dataset = load_dataset(out)
    turns = _turns(dataset)
    assert list(turns) == ["weather#0", "weather#1", "booking#0"]
    paris, umbrella, table = turns.values()
    assert paris.reference_text == "What will the weather be like in Paris tomorrow?"
    assert paris.expected_tool_call is not None and paris.expected_tool_call.name == "get_weather"
    assert paris.expected_tool_call.arguments == {"city": "Paris"}
    assert paris.expected_keywords == ("Paris", "tomorrow")
    assert umbrella.expected_regex == "(?i)umbrella" and table.expected_keywords == (
        "table",
        "seven",
    )
    voice = "en_US-joe-medium"
    assert {k: paris.tags[k] for k in ("speaker", "voice", "topic", "tts_model")} == {
        "speaker": "ann", "voice": voice, "topic": "weather", "tts_model": "piper",
    }  # fmt: skip
    assert _language(umbrella) == "en" and _language(table) is None
    assert table.tags["speaker"] == voice and table.tags["priority"] == "2"
    assert paris.load_clip().duration_s > 1.0
    assert _round_trip_wer(dataset) <= MAX_ROUND_TRIP_WER

    # the same script again: nothing is spoken (piper samples noise, so new audio would differ)
    audio = _audio_bytes(out)
    again = synthesize_script(script, out, PiperSpeech())
    assert (again.spoken, again.reused) == (0, 3) and _audio_bytes(out) == audio
    # one turn edited and one file spoiled by hand: only those two are spoken again
    (out / "audio" / "booking_0.wav").write_bytes(b"RIFF")
    edited_script = YAML_SCRIPT.replace("an umbrella with me", "a raincoat with me")
    script.write_text(edited_script)
    edited = synthesize_script(script, out, PiperSpeech())
    assert (edited.spoken, edited.reused) == (2, 1)
    now = _audio_bytes(out)
    assert now["weather_0.wav"] == audio["weather_0.wav"]
    assert now["weather_1.wav"] != audio["weather_1.wav"]
    assert load_dataset(out).conversations[1].turns[0].load_clip().duration_s > 1.0
    # a conversation gone from the script takes its audio with it
    script.write_text(edited_script.split("  - conversation_id: booking")[0])
    assert synthesize_script(script, out, PiperSpeech()).reused == 2
    assert set(_audio_bytes(out)) == {"weather_0.wav", "weather_1.wav"}
    assert "booking_0.wav" not in (out / RECORD_NAME).read_text()
    edited_turn = _turns(load_dataset(out))["weather#1"]
    assert edited_turn.reference_text == "Should I take a raincoat with me?"


def test_jsonl_script_spoken_by_the_local_server(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    script, out = tmp_path / "script.jsonl", tmp_path / "data"
    script.write_text(JSONL_SCRIPT)
    key = "sk-synth-test-0123456789abcdef"
    monkeypatch.setenv("VOICELAB_TEST_TTS_KEY", key)
    argv = ["datasets", "synth", "--script", str(script), "--out", str(out), "--tts", "openai",
            "--base-url", server.base_url, "--model", "tts-1", "--voice", "shimmer",
            "--api-key-env", "VOICELAB_TEST_TTS_KEY"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "(3 turns spoken, 0 reused)" in printed.out
    dataset = load_dataset(out)
    turns = _turns(dataset)
    assert list(turns) == ["orders#0", "orders#1", "hours#0"]
    order, thanks, hours = turns.values()
    assert order.expected_tool_call is not None
    assert order.expected_tool_call.arguments == {"order_id": "452"}
    # a turn's voice, else its conversation's, else --voice; the speaker is the voice unless named
    assert [(t.tags["voice"], t.tags["speaker"]) for t in turns.values()] == [
        ("shimmer", "shimmer"), ("alloy", "alloy"), ("nova", "bob"),
    ]  # fmt: skip
    assert {t.tags["tts_model"] for t in turns.values()} == {"tts-1"}
    assert _language(thanks) == "en" and _language(hours) is None
    assert hours.load_clip().sample_rate_hz == 24_000
    assert _round_trip_wer(dataset) <= MAX_ROUND_TRIP_WER
    # the key is read from the named variable and kept out of everything written or printed
    written = "".join(p.read_text() for p in out.glob("*.json*"))
    assert key not in written + printed.out + printed.err

    assert main(argv) == 0
    assert "(0 turns spoken, 3 reused)" in capsys.readouterr().out
    # another model is another voice: every turn is spoken again, as raw 24 kHz PCM this time
    assert main([*argv, "--model", "gpt-4o-mini-tts", "--response-format", "pcm"]) == 0
    assert "(3 turns spoken, 0 reused)" in capsys.readouterr().out
    pcm_dataset = load_dataset(out)
    assert _round_trip_wer(pcm_dataset) <= MAX_ROUND_TRIP_WER


def test_a_refused_speech_request_names_the_turn_and_endpoint(
    server: LocalServer, tmp_path: Path
) -> None:
    script = tmp_path / "script.jsonl"
    script.write_text(JSONL_SCRIPT)
    speech = OpenAISpeech(OpenAISpeechConfig(base_url=server.base_url, model="no-such-tts"))
    with pytest.raises(RequestRejectedError) as refused:
        synthesize_script(script, tmp_path / "data", speech)
    message = str(refused.value)
    assert f"{script}:1: conversation 'orders' turn 0" in message
    assert f"POST {server.base_url}/audio/speech" in message and "no-such-tts" in message
    assert refused.value.status == 404


def test_a_turn_piper_makes_no_sound_of_is_refused_by_name(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("- conversation_id: c\n  turns:\n    - text: Hello.\n    - text: '...'\n")
    with pytest.raises(AudioError, match=r"script.yaml:4: conversation 'c' turn 1 .*no audio"):
        synthesize_script(script, tmp_path / "data", PiperSpeech())
    assert not (tmp_path / "data" / "manifest.jsonl").exists()
