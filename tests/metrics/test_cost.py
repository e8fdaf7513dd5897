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


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ('text_input_per_1m_tokens = "2.50"', "text_input_per_1m_tokens must be a number"),
        ("text_input_per_1m_tokens = true", "text_input_per_1m_tokens must be a number"),
        ("text_output_per_1m_tokens = -1.0", "text_output_per_1m_tokens must be a finite price"),
        ("audio_input_per_minute = nan", "audio_input_per_minute must be a finite price"),
        (
            "text_input_per_1M_tokens = 2.5",
            r"unknown rate name\(s\) \['text_input_per_1M_tokens'\]",
        ),
        ('verified = "yes"', "verified must be a bool"),
    ],
)
def test_a_malformed_row_is_refused_naming_file_model_and_problem(
    tmp_path: Path, row: str, problem: str
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(f'[models."gpt-x"]\nsource = "https://example.org"\n{row}\n')
    with pytest.raises(ConfigError, match=problem) as refused:
        load_price_table(path)
    assert str(refused.value).startswith(f"{path}: model 'gpt-x': ")


def test_a_row_without_a_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('as_of = "2030-01-01"\n[models."gpt-x"]\ntext_input_per_1m_tokens = 1.0\n')
    with pytest.raises(ConfigError, match=r"model 'gpt-x': no source") as refused:
        load_price_table(path)
    assert str(path) in str(refused.value)
    path.write_text('[models."gpt-x"]\nsource = "https://example.org"\n'
                    'as_of = "2030-01-01"\ntext_input_per_1m_tokens = 1.0\n')  # fmt: skip
    table = load_price_table(path)
    assert table.provenance["gpt-x"] == {"as_of": "2030-01-01", "source": "https://example.org"}


def test_requests_without_token_counts_cost_na_not_zero() -> None:
    usage = Usage(llm_requests=1)  # a response came back without its usage
    assert turn_cost_usd(usage, {"llm": "gpt-4o"}, load_price_table()) is None
    assert turn_cost_usd(usage, {"llm": "local/llama"}, load_price_table()) == 0.0


def test_every_shipped_row_says_where_and_when_its_prices_were_read() -> None:
    table = load_price_table()
    for model, facts in table.provenance.items():
        assert str(facts.get("source", "")).startswith("https://"), model
        assert facts.get("as_of"), model
        assert isinstance(facts.get("verified"), bool), model
        if not facts["verified"]:
            assert facts.get("note"), f"{model}: unverified without a note of what was found"


def test_a_realtime_turn_on_a_current_model_by_hand() -> None:
    usage = Usage(llm_requests=1, llm_input_tokens=2_000, llm_cached_input_tokens=1_500,
                  llm_output_tokens=100, input_audio_tokens=300, output_audio_tokens=600,
                  stt_audio_s=15.0)  # fmt: skip
    models = {"realtime": "gpt-realtime-2.1-mini", "stt": "gpt-realtime-whisper"}
    # text: 500 uncached * $0.60 + 1,500 cached * $0.06 + 100 out * $2.40 = 300 + 90 + 240
    # audio: 300 in * $10 + 600 out * $20 = 3,000 + 12,000  (all per 1M tokens)
    # transcription: 0.25 min * $0.017
    expected = (300 + 90 + 240 + 3_000 + 12_000) / 1e6 + 0.25 * 0.017
    assert turn_cost_usd(usage, models, load_price_table()) == pytest.approx(expected)
    assert expected == pytest.approx(0.01988)  # 0.01563 + 0.00425


def test_cached_tokens_without_a_cached_rate_are_billed_at_the_input_rate() -> None:
    usage = Usage(llm_requests=1, llm_input_tokens=1_000_000, llm_cached_input_tokens=600_000)
    # gpt-4.1-mini has no cached rate in the table: all 1M input tokens at $0.40
    assert turn_cost_usd(usage, {"llm": "gpt-4.1-mini"}, load_price_table()) == pytest.approx(0.40)
