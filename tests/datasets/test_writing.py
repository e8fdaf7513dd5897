from __future__ import annotations

from pathlib import Path

import numpy as np

from voicelab.audio import AudioClip
from voicelab.datasets import load_dataset
from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.datasets.writing import save_dataset


def test_a_written_dataset_reads_back_with_its_references_tags_and_language(
    tmp_path: Path,
) -> None:
    clip = AudioClip(np.full(1600, 0.1, dtype=np.float32), 16_000, "tone")
    turns = (
        Turn(conversation_id="fr", turn_index=0, audio=clip, reference_text="Bonjour à tous",
             tags={"speaker": "7"}, language="fr"),
        Turn(conversation_id="unknown", turn_index=0, audio=clip, reference_text="hello"),
    )  # fmt: skip
    dataset = Dataset(
        name="mixed",
        conversations=tuple(
            Conversation(conversation_id=t.conversation_id, turns=(t,)) for t in turns
        ),
    )
    save_dataset(dataset, tmp_path / "out")
    back = {c.conversation_id: c.turns[0] for c in load_dataset(tmp_path / "out")}
    assert back["fr"].language == "fr"  # a French reference stays scored as French
    assert back["fr"].reference_text == "Bonjour à tous" and dict(back["fr"].tags) == {
        "speaker": "7"
    }
    assert back["unknown"].language is None
