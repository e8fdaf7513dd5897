"""Conversation scripts: JSONL and YAML read alike, and every bad script is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicelab.cli import main
from voicelab.datasets.script import read_script
from voicelab.datasets.tts_openai import OpenAISpeech, OpenAISpeechConfig
from voicelab.datasets.tts_piper import PiperSpeech
from voicelab.errors import ConfigError, DatasetError

YAML_LIST = """\
- conversation_id: weather
  speaker: ann
  language: en
  topic: travel
  turns:
    - text: What will the weather be like in Paris tomorrow?
      expected_tool: get_weather
      expected_tool_args: {city: Paris}
      expected_keywords: [Paris]
    - text: Should I take an umbrella?
      speaker: bob
      voice: nova
"""


def _jsonl(*conversations: object) -> str:
    return "".join(json.dumps(c) + "\n" for c in conversations)


def test_yaml_list_and_mapping_and_jsonl_read_alike(tmp_path: Path) -> None:
    listed = tmp_path / "a.yaml"
    listed.write_text(YAML_LIST)
    mapped = tmp_path / "b.yml"
    mapped.write_text(
        "conversations:\n" + "".join(f"  {line}\n" for line in YAML_LIST.splitlines())
    )
    jsonl = tmp_path / "c.jsonl"
    turns = [
        {"text": "What will the weather be like in Paris tomorrow?", "expected_tool": "get_weather",
         "expected_tool_args": {"city": "Paris"}, "expected_keywords": ["Paris"]},
        {"text": "Should I take an umbrella?", "speaker": "bob", "voice": "nova"},
    ]  # fmt: skip
    jsonl.write_text(
        "\n"  # blank lines are skipped, and the line numbers still count them
        + _jsonl({"conversation_id": "weather", "speaker": "ann", "language": "en",
                  "topic": "travel", "turns": turns})
    )  # fmt: skip
    scripts = [read_script(p) for p in (listed, mapped, jsonl)]
    strip = [
        [(t.text, t.voice, t.speaker, t.language, dict(t.fields)) for t in s[0].turns]
        for s in scripts
    ]
    assert strip[0] == strip[1] == strip[2]
    first, second = scripts[0][0].turns
    # the conversation's speaker/language/tags reach every turn; a turn's own speaker wins
    assert (first.speaker, second.speaker) == ("ann", "bob")
    assert (first.voice, second.voice) == (None, "nova")
    assert second.fields["topic"] == "travel" and second.language == "en"
    assert first.fields["expected_tool_args"] == {"city": "Paris"}
    # each turn names where it was read: its own line in YAML, its conversation's in JSONL
    assert first.where == f"{listed}:6: conversation 'weather' turn 0"
    assert second.where == f"{listed}:10: conversation 'weather' turn 1"
    assert scripts[2][0].turns[1].where == f"{jsonl}:2: conversation 'weather' turn 1"


OK_TURN = {"text": "Hello there."}


def _one(**fields: object) -> str:
    """A JSONL script of conversation ``c`` with one turn: ``OK_TURN`` with ``fields``."""
    return _jsonl({"conversation_id": "c", "turns": [{**OK_TURN, **fields}]})


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.jsonl", _jsonl({"conversation_id": "c", "turns": [OK_TURN, {"expected_tool": "x"}]}),
         "s.jsonl:1: conversation 'c' turn 1: missing 'text'"),
        ("s.jsonl", _jsonl({"conversation_id": "c", "turns": [{"text": "  "}]}),
         "s.jsonl:1: conversation 'c' turn 0: missing 'text'"),
        ("s.yaml", "- conversation_id: c\n  turns:\n    - text: hi\n    - text: 452\n",
         "s.yaml:4: conversation 'c' turn 1: 'text' must be text, not a number (452)"),
        ("s.jsonl", _one() + "{not json\n",
         "s.jsonl:2: line is not valid JSON"),
        ("s.yaml", "- conversation_id: c\n  turns: [\n", "s.yaml: not valid YAML"),
        ("s.jsonl", _one(mood=["a"]),
         "turn 0: field 'mood' is a list; a field other than"),
        ("s.yaml", "- conversation_id: c\n  mood: {a: 1}\n  turns: [{text: hi}]\n",
         "s.yaml:1: conversation 'c': field 'mood' is a mapping"),
        ("s.jsonl", _one(expected_keywords=4),
         "turn 0: 'expected_keywords' must be a list or text, not a number (4)"),
        ("s.jsonl", _one(expected_keywords=[""]),
         "'expected_keywords' must be a list of non-empty strings"),
        ("s.jsonl", _one(expected_regex="(a"),
         "s.jsonl:1: conversation 'c' turn 0: expected_regex does not compile"),
        ("s.yaml", "- conversation_id: c\n  turns:\n    - text: hi\n      expected_tool_args: []\n",
         "s.yaml:3: conversation 'c' turn 0: 'expected_tool_args' must be a mapping, not a list"),
        ("s.yaml", "- conversation_id: c\n  turns:\n    - {text: hi, when: 2024-01-01}\n",
         "field 'when' is date"),
        ("s.jsonl", _one(voice=3),
         "'voice' must be text, not a number (3)"),
        ("s.jsonl", _one(audio="x.wav"),
         "'audio' is written by the synthesiser"),
        ("s.jsonl", _one() + _one(),
         "s.jsonl:2: conversation_id 'c' is already used on line 1"),
        ("s.jsonl", _jsonl({"conversation_id": "../up", "turns": [OK_TURN]}),
         "s.jsonl:1: a conversation needs a 'conversation_id' of letters"),
        ("s.jsonl", _jsonl({"turns": [OK_TURN]}), "needs a 'conversation_id'"),
        ("s.jsonl", _jsonl({"conversation_id": "c", "turns": []}), "a non-empty 'turns' list"),
        ("s.yaml", "- conversation_id: c\n  turns: [hello]\n",
         "conversation 'c' turn 0: a turn is a mapping with at least 'text', not 'hello'"),
        ("s.yaml", "talks: []\n", "unknown top-level key(s) ['talks']"),
        ("s.yaml", "- just text\n", "s.yaml: conversation 0 is not a mapping"),
        ("s.yaml", "", "the script has no conversations"),
        ("s.txt", "hello\n", "unknown script type '.txt'"),
    ],
)  # fmt: skip
def test_bad_scripts_are_refused_naming_line_and_turn(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DatasetError) as refused:
        read_script(path)
    assert message in str(refused.value)
    assert str(tmp_path) in str(refused.value)


def test_a_piper_voice_is_checked_before_any_audio(tmp_path: Path) -> None:
    piper = PiperSpeech()
    default = piper.voice(None, "en-US", "s.yaml:3: conversation 'c' turn 0")
    assert default.name == "en_US-joe-medium" and default.ref.endswith(".onnx")
    with pytest.raises(ConfigError, match=r"s.yaml:3: .* language is 'de' but piper voice "
                       r"en_US-joe-medium.onnx speaks 'en-us'"):  # fmt: skip
        piper.voice(None, "de", "s.yaml:3: conversation 'c' turn 0")
    with pytest.raises(ConfigError, match=r"turn 1: piper voice .*nope.onnx not found"):
        piper.voice(str(tmp_path / "nope.onnx"), None, "s.yaml:5: conversation 'c' turn 1")


def test_openai_speech_needs_a_key_or_a_server() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAISpeech(OpenAISpeechConfig())
    with pytest.raises(ConfigError, match="response_format 'aac'"):
        OpenAISpeechConfig(response_format="aac")  # type: ignore[arg-type]
    speech = OpenAISpeech(OpenAISpeechConfig(), api_key="sk-secret-0123456789")
    assert "sk-secret" not in repr(speech)
    assert speech.url == "https://api.openai.com/v1/audio/speech"
    assert "sk-secret" not in json.dumps(dict(speech.voice(None, None, "x").identity))


def test_cli_refuses_a_bad_script_before_loading_a_voice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text(_jsonl({"conversation_id": "c", "turns": [{"expected_tool": "x"}]}))
    out = tmp_path / "out"
    assert main(["datasets", "synth", "--script", str(script), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("voicelab: error: ") and "s.jsonl:1: conversation 'c' turn 0" in err
    assert "Traceback" not in err and not out.exists()
    # the old name still works, says it is renamed, and its noise option points to conditions
    argv = ["datasets", "render", "--script", str(script), "--out", str(out)]
    assert main([*argv, "--snr-db", "10"]) == 2
    err = capsys.readouterr().err
    assert "`datasets render` is renamed `datasets synth`" in err
    assert "--snr-db is gone" in err and "datasets transform" in err
    script.write_text(_one())
    assert main(["datasets", "synth", "--script", str(script), "--out", str(out),
                 "--model", "tts-1"]) == 2  # fmt: skip
    assert "--model and --base-url are for --tts openai" in capsys.readouterr().err
