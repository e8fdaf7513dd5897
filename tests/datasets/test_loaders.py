from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicelab.datasets import load_dataset
from voicelab.errors import DatasetError


def test_shared_manifests_load_as_they_are(shared_data: Path) -> None:
    fsdd = load_dataset(shared_data / "fsdd-sample")
    lj = load_dataset(shared_data / "ljspeech-sample" / "manifest.csv")
    assert fsdd.num_turns == 150 and len(fsdd.conversations) == 150
    assert lj.num_turns == 8
    first = lj.conversations[0].turns[0]
    assert first.reference_text is not None and first.reference_text.startswith("Printing")
    assert first.tags == {"speaker": "lj"}
    assert first.load_clip().sample_rate_hz == 22_050
    assert fsdd.conversations[0].turns[0].load_clip().sample_rate_hz == 8_000


def test_demo_dataset_groups_conversations(demo_data: Path) -> None:
    dataset = load_dataset(demo_data)
    assert dataset.num_turns >= 8
    conversation = next(c for c in dataset if c.conversation_id == "order-status")
    assert [t.turn_index for t in conversation.turns] == [0, 1]
    expected = conversation.turns[0].expected_tool_call
    assert expected is not None and expected.name == "lookup_order"
    assert expected.arguments == {"order_id": "452"}
    assert conversation.turns[0].expected_keywords == ("Friday",)


def test_jsonl_conversation_lines_and_csv_grouping(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"conversation_id": "c", "turns": [{"audio": "a.wav"}, {"audio": "b.wav"}]})
        + "\n"
    )
    dataset = load_dataset(tmp_path / "m.jsonl")
    assert [t.turn_id for t in dataset.conversations[0].turns] == ["c#0", "c#1"]
    (tmp_path / "m.csv").write_text(
        "audio,text,conversation_id,expected_keywords,expected_tool,expected_tool_args\n"
        'x.wav,hi,c1,a;b,lookup,"{""id"": 1}"\n'
        "y.wav,,c1,,,\n"
    )
    turns = load_dataset(tmp_path / "m.csv").conversations[0].turns
    assert [t.turn_index for t in turns] == [0, 1]
    assert turns[0].expected_keywords == ("a", "b")
    assert turns[0].expected_tool_call is not None
    assert turns[0].expected_tool_call.arguments == {"id": 1}
    assert turns[1].reference_text is None  # a missing transcript is allowed: WER is NA


def test_folder_with_sidecar_transcripts(tmp_path: Path) -> None:
    (tmp_path / "one.wav").write_bytes(b"")
    (tmp_path / "one.txt").write_text("hello there\n")
    (tmp_path / "two.wav").write_bytes(b"")
    dataset = load_dataset(tmp_path)
    refs = {c.conversation_id: c.turns[0].reference_text for c in dataset}
    assert refs == {"one": "hello there", "two": None}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.jsonl", '{"audio": "a.wav"}\n{not json\n', r"m.jsonl:2: line is not valid JSON"),
        ("m.jsonl", '{"text": "no audio"}\n', "missing 'audio'"),
        ("m.jsonl", '["a list"]\n', "line must be a JSON object"),
        ("m.csv", "audio,turn_index\na.wav,first\n", "turn_index must be an integer"),
        ("m.csv", "audio,expected_regex\na.wav,(unclosed\n", "does not compile"),
        ("m.csv", "audio,expected_tool,expected_tool_args\na.wav,t,{bad\n", "not valid JSON"),
        ("m.csv", "audio\n", "has no turns"),
        ("m.txt", "audio\n", "unknown manifest type"),
        ("m.jsonl", '{"audio": "a.wav", "conversation_id": "c", "turn_index": 0}\n' * 2,
         "repeats a turn_index"),
    ],
)  # fmt: skip
def test_malformed_manifests(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path / name)


@pytest.mark.parametrize(
    "value", ["Infinity", "-Infinity", "NaN", "1.5", "true", "-1", '"2.5"', "null", "[0]", "1e400"]
)
def test_a_turn_index_that_is_not_a_whole_number_names_the_line(tmp_path: Path, value: str) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '{"audio": "a.wav", "turn_index": 0}\n'
        f'{{"audio": "a.wav", "conversation_id": "c", "turn_index": {value}}}\n'
    )
    with pytest.raises(DatasetError, match=r"m.jsonl:2: .*(turn_index|finite JSON number)"):
        load_dataset(manifest)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", "NaN"),
        ("snr_db", "-Infinity"),
        ("snr_db", "1e999"),
        ("expected_tool_args", '{"x": NaN}'),
    ],
)
def test_non_finite_json_numbers_are_refused(tmp_path: Path, field: str, value: str) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(f'{{"audio": "a.wav", "expected_tool": "t", "{field}": {value}}}\n')
    with pytest.raises(DatasetError, match=r"m.jsonl:1: .*is not a finite JSON number"):
        load_dataset(manifest)


def test_missing_dataset_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no audio files"):
        load_dataset(tmp_path)
