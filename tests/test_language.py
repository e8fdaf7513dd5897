"""A turn's language flows from the dataset to its row and chooses how its WER is normalised."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from voicelab.datasets import load_dataset
from voicelab.report import summarize
from voicelab.run_folder import load_run
from voicelab.runner import run_dataset
from voicelab.stats import corpus_wer
from voicelab.testing import ScriptedPipeline


def test_rows_carry_the_language_and_corpus_wer_normalises_each_row_by_it(
    tmp_path: Path, shared_data: Path
) -> None:
    clip = shared_data / "fsdd-sample" / "0_jackson_0.wav"
    manifest = tmp_path / "m.jsonl"
    turns = [
        {"audio": str(clip), "conversation_id": "fr", "text": "Le café coûte vingt euros.",
         "language": "fr"},
        {"audio": str(clip), "conversation_id": "en", "text": "It's twenty five", "language": "en"},
        {"audio": str(clip), "conversation_id": "xx", "text": "It's twenty five"},
    ]  # fmt: skip
    manifest.write_text("".join(json.dumps(t) + "\n" for t in turns))
    dataset = load_dataset(manifest)
    heard = {"fr#0": "le cafe coute vingt euros", "en#0": "it is 25", "xx#0": "it is 25"}
    run = asyncio.run(run_dataset(ScriptedPipeline(heard=heard), dataset, tmp_path / "run"))
    frame = load_run(tmp_path / "run")  # the language survives the run folder
    for table in (run, frame):
        rows = table.set_index("turn_id")
        assert rows["language"].isna().tolist() == [False, False, True]
        assert rows.loc["fr#0", "language"] == "fr" and rows.loc["en#0", "language"] == "en"
        # fr: the basic normaliser keeps accents, so café/cafe and coûte/coute are 2 of 5 words
        # wrong (the English one would strip them: 0); en and unknown: the English normaliser
        # reads 'twenty five' as 25 and It's as it is
        assert rows["wer"].astype(float).tolist() == pytest.approx([2 / 5, 0.0, 0.0])
        assert corpus_wer(table) == pytest.approx(2 / (5 + 3 + 3))
    by_language = summarize(frame, by=["language"])
    assert by_language.loc["fr", "wer"] == pytest.approx(2 / 5)
    assert by_language.loc["en", "wer"] == pytest.approx(0.0)
