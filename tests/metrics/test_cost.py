from __future__ import annotations

from pathlib import Path

import pytest

from voicelab.errors import ConfigError
from voicelab.metrics.cost import load_price_table, turn_cost_usd
from voicelab.turn_result import Usage


def test_chained_openai_cost_by_hand() -> None:
    table = load_price_table()
    usage = Usage(stt_audio_s=60.0, llm_input_tokens=1_000_000, llm_cached_input_tokens=0,
                  llm_output_tokens=100_000, tts_audio_s=30.0)  # fmt: skip
    models = {"stt": "gpt-4o-transcribe", "llm": "gpt-4o", "tts": "gpt-4o-mini-tts"}
    # 0.006 (1 min STT) + 2.50 (1M input) + 1.00 (100k output) + 0.0075 (half a TTS minute)
    assert turn_cost_usd(usage, models, table) == pytest.approx(3.5135)


def test_cached_tokens_are_cheaper_and_realtime_audio_counts() -> None:
    table = load_price_table()
    usage = Usage(llm_input_tokens=1_000, llm_cached_input_tokens=400, llm_output_tokens=100,
                  input_audio_tokens=2_000, output_audio_tokens=1_000)  # fmt: skip
    expected = (600 * 4.00 + 400 * 0.40 + 100 * 16.00 + 2_000 * 32.00 + 1_000 * 64.00) / 1e6
    assert turn_cost_usd(usage, {"realtime": "gpt-realtime"}, table) == pytest.approx(expected)


def test_local_is_free_and_unknown_is_not_zero() -> None:
    table = load_price_table()
    usage = Usage(stt_audio_s=10.0, llm_input_tokens=500)
    assert turn_cost_usd(usage, {"stt": "local/whisper", "llm": "local/x"}, table) == 0.0
    assert turn_cost_usd(usage, {"llm": "some-new-model"}, table) is None


def test_override_table_and_malformed_table(tmp_path: Path) -> None:
    good = tmp_path / "p.toml"
    good.write_text(
        'as_of = "2030-01-01"\nsource = "https://example.org/prices"\n'
        "[models.m]\ntext_input_per_1m_tokens = 1.0\n"
    )
    table = load_price_table(good)
    assert table.as_of == "2030-01-01"
    assert turn_cost_usd(Usage(llm_input_tokens=2_000_000), {"llm": "m"}, table) == 2.0
    bad = tmp_path / "bad.toml"
    bad.write_text('[models.m]\nsource = "x"\nper_banana = 3\n')
    with pytest.raises(ConfigError, match="unknown rate"):
        load_price_table(bad)
    (tmp_path / "broken.toml").write_text("[models\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_price_table(tmp_path / "broken.toml")
