"""Recording conditions: parsing, exact SNR, determinism, each kind's effect, the transform CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voicelab.audio import AudioClip, load_audio
from voicelab.cli import main
from voicelab.datasets import load_dataset
from voicelab.datasets.condition_text import Condition, parse_condition, parse_conditions
from voicelab.datasets.conditions import apply_condition, apply_conditions, step_seed
from voicelab.datasets.noise import MAX_PEAK, add_noise, white_noise
from voicelab.datasets.room import impulse_response
from voicelab.datasets.telephone import TELEPHONE_RATE_HZ
from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.errors import AudioError, ConfigError, DatasetError, ResultsError
from voicelab.experiment import load_experiment
from voicelab.metrics.wer import error_rates
from voicelab.run_folder import RunFolder, load_run, turn_fingerprint
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

REPO = Path(__file__).resolve().parents[2]
QUIET_PEAK = 0.3  # clips scaled to this peak: no mix at SNR >= -5 dB comes near clipping
SNR_TOLERANCE_DB = 0.1


def _power(samples: npt.NDArray[np.floating]) -> float:
    return float(np.mean(np.square(samples.astype(np.float64))))


def _snr_db(clean: npt.NDArray[np.floating], mixed: npt.NDArray[np.floating]) -> float:
    """The SNR of a mix, measured here from the noise actually added (mixed - clean)."""
    added = mixed.astype(np.float64) - clean.astype(np.float64)
    return 10 * np.log10(_power(clean) / _power(added))


def _shared_turns(shared_data: Path, fsdd: int, lj: int) -> list[Turn]:
    digits = load_dataset(shared_data / "fsdd-sample").conversations[::25][:fsdd]
    sentences = load_dataset(shared_data / "ljspeech-sample").conversations[:lj]
    return [c.turns[0] for c in (*digits, *sentences)]


def _dataset(turns: list[Turn], peak: float | None = None, name: str = "mix") -> Dataset:
    """One conversation per turn; clips scaled to ``peak`` when given."""
    conversations = []
    for turn in turns:
        audio: Path | AudioClip = turn.audio
        if peak is not None:
            clip = turn.load_clip()
            scaled = clip.samples * np.float32(peak / np.max(np.abs(clip.samples)))
            audio = AudioClip(scaled, clip.sample_rate_hz, clip.source)
        conversations.append(
            Conversation(conversation_id=turn.conversation_id, turns=(Turn(
                conversation_id=turn.conversation_id, turn_index=0, audio=audio,
                reference_text=turn.reference_text, tags=dict(turn.tags),
            ),))
        )  # fmt: skip
    return Dataset(name=name, conversations=tuple(conversations))


def _clips(dataset: Dataset) -> list[AudioClip]:
    return [t.load_clip() for c in dataset for t in c.turns]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("noise=babble,snr_db=10", "noise=babble,snr_db=10,talkers=4"),
        ("noise=white, snr_db=-2.5", "noise=white,snr_db=-2.5"),
        ("noise=pink,snr_db=0", "noise=pink,snr_db=0"),
        ("noise=babble,snr_db=5,talkers=2", "noise=babble,snr_db=5,talkers=2"),
        ("telephone", "telephone"),
        ("gain=-6", "gain=-6"),
        ("gain_db=-6", "gain=-6"),
        ("silence=lead_ms=500,trail_ms=300", "silence,lead_ms=500,trail_ms=300"),
        ("silence,trail_ms=200", "silence,lead_ms=0,trail_ms=200"),
        ("room", "room=0.5"),
        ("room=1.2", "room=1.2"),
        ("rt60_s=0.25", "room=0.25"),
    ],
)
def test_condition_text_parses_to_a_canonical_form(text: str, canonical: str) -> None:
    condition = parse_condition(text)
    assert condition.text == canonical
    assert parse_condition(canonical) == condition


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nois=white", "unknown kind 'nois'; valid kinds: noise (noise=white|pink|babble"),
        ("noise=grey,snr_db=5", "noise='grey' is not one of white, pink, babble"),
        ("noise=white", "noise needs snr_db=<float in [-20, 60]>"),
        ("noise=white,snr_db=ten", "snr_db='ten' is not a float"),
        ("noise=white,snr_db=nan", "snr_db=nan is out of range"),
        ("noise=white,snr_db=5,talkers=2", "talkers applies only with noise=babble"),
        ("noise=white,snr=5", "unknown parameter(s) snr for noise; valid: noise=white|pink|babble"),
        ("gain", "gain needs gain_db="),
        ("gain=-6,gain_db=-3", "gain_db is given twice"),
        ("silence=400", "silence takes no value after '='"),
        ("silence,lead_ms=-1", "lead_ms=-1 is out of range"),
        ("silence,lead_ms=0.5", "lead_ms='0.5' is not an int"),
        ("room=9", "rt60_s=9 is out of range; expected rt60_s=<float in [0.05, 3]>"),
        ("telephone,band=wide", "unknown parameter(s) band for telephone; valid: none"),
        ("telephone,", "'' is not KEY=VALUE"),
        (";", "is empty; valid kinds"),
    ],
)
def test_bad_condition_text_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_conditions(text)
    assert message in str(raised.value)
    assert repr(text) in str(raised.value) or text.strip(";") == ""


def test_a_condition_built_in_code_is_checked_like_text() -> None:
    built = Condition("noise", {"noise": "babble", "snr_db": 10})
    assert built == parse_condition("noise=babble,snr_db=10")
    assert built.params == {"noise": "babble", "snr_db": 10.0, "talkers": 4}
    with pytest.raises(ConfigError, match="unknown condition kind 'reverb'; valid kinds: noise"):
        Condition("reverb", {})
    with pytest.raises(ConfigError, match=r"lead_ms='0\.5' is not an int"):
        Condition("silence", {"lead_ms": 0.5})


def test_a_chain_applies_in_order_and_tags_every_turn(shared_data: Path) -> None:
    dataset = _dataset(_shared_turns(shared_data, fsdd=2, lj=1))
    chained = apply_conditions(dataset, ["gain=-6;telephone", "silence,lead_ms=250"], seed=7)
    reordered = apply_conditions(dataset, ["telephone", "gain=-6", "silence,lead_ms=250"], 7)
    assert chained.name == "mix[gain=-6;telephone;silence,lead_ms=250,trail_ms=0;seed=7]"
    for before, after in zip(dataset.conversations, chained.conversations, strict=True):
        turn, new = before.turns[0], after.turns[0]
        assert new.reference_text == turn.reference_text and new.turn_id == turn.turn_id
        assert dict(new.tags) == {
            **turn.tags, "gain_db": "-6", "lead_ms": "250", "trail_ms": "0",
            "condition": "gain=-6;telephone;silence,lead_ms=250,trail_ms=0",
            "condition_seed": "7",
        }  # fmt: skip
        clip = new.load_clip()
        assert clip.sample_rate_hz == TELEPHONE_RATE_HZ
        assert not clip.samples[: TELEPHONE_RATE_HZ // 4].any()  # 250 ms of digital silence
        assert "gain=-6;telephone" in clip.source and turn.audio_source in clip.source
    # gain before or after the 8-bit codec is another recording (mu-law is not linear)
    first, second = (_clips(d)[0].samples for d in (chained, reordered))
    assert first.shape == second.shape and not np.array_equal(first, second)


@pytest.mark.parametrize("noise", ["white", "pink", "babble"])
@pytest.mark.parametrize("snr_db", [20.0, 10.0, 5.0, 0.0, -5.0])
def test_every_mix_is_at_the_exact_snr(shared_data: Path, noise: str, snr_db: float) -> None:
    clean = _dataset(_shared_turns(shared_data, fsdd=4, lj=3), peak=QUIET_PEAK)
    mixed = apply_conditions(clean, [f"noise={noise},snr_db={snr_db}"], seed=11)
    for before, after in zip(_clips(clean), _clips(mixed), strict=True):
        assert after.num_samples == before.num_samples
        measured = _snr_db(before.samples, after.samples)
        assert abs(measured - snr_db) < SNR_TOLERANCE_DB, (after.source, measured)


def test_a_mix_that_would_clip_is_scaled_down_whole(shared_data: Path) -> None:
    turn = _shared_turns(shared_data, fsdd=0, lj=1)[0]
    loud = _dataset([turn], peak=0.98).conversations[0].turns[0].load_clip()
    noise = white_noise(loud.num_samples, np.random.default_rng(3))
    mix = add_noise(loud, noise, snr_db=0.0)
    assert mix.gain < 1.0
    assert float(np.max(np.abs(mix.clip.samples))) == pytest.approx(MAX_PEAK)  # below 1.0
    speech = loud.samples.astype(np.float64) * mix.gain  # the speech as it is in the mix
    assert abs(_snr_db(speech, mix.clip.samples)) < SNR_TOLERANCE_DB


def test_babble_is_other_talkers_of_the_dataset(shared_data: Path) -> None:
    lone = _dataset(_shared_turns(shared_data, fsdd=0, lj=1))
    with pytest.raises(DatasetError, match="babble noise is mixed from the dataset's other"):
        apply_conditions(lone, ["noise=babble,snr_db=10"], seed=0)
    # another turn of the same recording is not another talker
    turn = lone.conversations[0].turns[0]
    again = Turn(conversation_id="again", turn_index=0, audio=turn.audio)
    twice = Dataset(name="twice", conversations=(
        *lone.conversations, Conversation(conversation_id="again", turns=(again,)),
    ))  # fmt: skip
    with pytest.raises(DatasetError, match="there are none"):
        apply_conditions(twice, ["noise=babble,snr_db=10"], seed=0)


def test_a_silent_clip_is_refused_by_name() -> None:
    silent = AudioClip(np.zeros(16_000, dtype=np.float32), 16_000, "quiet.wav")
    condition = parse_condition("noise=white,snr_db=10")
    with pytest.raises(AudioError, match=r"quiet\.wav: is silent .*an SNR needs a signal"):
        apply_condition(silent, condition, seed=0)
    with pytest.raises(AudioError, match=r"quiet\.wav: is silent"):
        apply_condition(silent, parse_condition("room"), seed=0)


@pytest.mark.parametrize(
    "text",
    ["noise=white,snr_db=5", "noise=pink,snr_db=5", "noise=babble,snr_db=5,talkers=2", "room=0.3"],
)
def test_conditions_are_deterministic_under_a_seed(shared_data: Path, text: str) -> None:
    dataset = _dataset(_shared_turns(shared_data, fsdd=3, lj=1))
    once, again, other = (apply_conditions(dataset, [text], seed=s) for s in (5, 5, 6))
    for a, b, c in zip(_clips(once), _clips(again), _clips(other), strict=True):
        assert np.array_equal(a.samples, b.samples)
        assert not np.array_equal(a.samples, c.samples)
    # a turn sounds the same conditioned alone (babble drawn from the same pool) or with all
    head = apply_conditions(dataset.head(1), [text], seed=5, pool=dataset)
    assert np.array_equal(_clips(head)[0].samples, _clips(once)[0].samples)


def test_step_seeds_are_stable_across_processes() -> None:
    condition = parse_condition("noise=white,snr_db=5")
    code = (
        "from voicelab.datasets.condition_text import parse_condition as p;"
        "from voicelab.datasets.conditions import step_seed as s;"
        "print(s(3, 'c#0', 0, p('noise=white,snr_db=5')))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(REPO), "PYTHONHASHSEED": "123"},
    )  # fmt: skip
    assert int(other.stdout) == step_seed(3, "c#0", 0, condition)
    assert step_seed(3, "c#1", 0, condition) != step_seed(3, "c#0", 0, condition)


def _tone(frequency_hz: float, rate_hz: int = 16_000, seconds: float = 1.0) -> AudioClip:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return AudioClip((0.5 * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32), rate_hz)


def test_telephone_keeps_the_voice_band_at_8_khz_in_8_bits() -> None:
    telephone = parse_condition("telephone")
    level_db = {}
    for frequency_hz in (100.0, 1_000.0, 3_000.0):
        out = apply_condition(_tone(frequency_hz), telephone, seed=0)
        assert out.sample_rate_hz == TELEPHONE_RATE_HZ
        assert len(np.unique(out.samples)) <= 256  # 8-bit codes
        steady = out.samples[TELEPHONE_RATE_HZ // 4 :]  # after the filter's onset
        level_db[frequency_hz] = 10 * np.log10(_power(steady) / 0.125)  # vs the tone's power
    assert abs(level_db[1_000.0]) < 1.0 and abs(level_db[3_000.0]) < 1.5
    assert level_db[100.0] < -20.0, level_db


def test_gain_silence_and_room(shared_data: Path) -> None:
    clip = _shared_turns(shared_data, fsdd=0, lj=1)[0].load_clip()
    quieter = apply_condition(clip, parse_condition("gain=-6"), seed=0)
    assert np.allclose(quieter.samples, clip.samples * 10 ** (-6 / 20), atol=1e-7)
    padded = apply_condition(clip, parse_condition("silence,lead_ms=500,trail_ms=300"), 0)
    lead, trail = clip.sample_rate_hz // 2, round(clip.sample_rate_hz * 0.3)
    assert padded.num_samples == clip.num_samples + lead + trail
    assert np.array_equal(padded.samples[lead : lead + clip.num_samples], clip.samples)
    room = apply_condition(clip, parse_condition("room=0.6"), seed=0)
    assert room.num_samples == clip.num_samples + round(0.6 * clip.sample_rate_hz) - 1
    energy = float(np.sum(np.square(clip.samples.astype(np.float64))))
    assert float(np.sum(np.square(room.samples.astype(np.float64)))) == pytest.approx(energy)


def test_the_room_response_decays_60_db_in_rt60() -> None:
    rate_hz, rt60_s = 16_000, 0.5
    response = impulse_response(rt60_s, rate_hz, np.random.default_rng(0))
    window = rate_hz // 50  # 20 ms
    early = _power(response[1 : 1 + window])  # the reverberation just after the direct path
    late = _power(response[-window:])  # the last 20 ms before rt60_s
    between_s = (len(response) - window - 1) / rate_hz  # from window centre to window centre
    assert 10 * np.log10(early / late) == pytest.approx(60 * between_s / rt60_s, abs=2)


def test_conditioned_turns_fingerprint_by_content(shared_data: Path, tmp_path: Path) -> None:
    clean = _dataset(_shared_turns(shared_data, fsdd=2, lj=0), name="digits")
    noisy = apply_conditions(clean, ["noise=white,snr_db=10"], seed=0)
    louder = apply_conditions(clean, ["gain=3"], seed=0)
    a, b = noisy.conversations[0].turns[0], louder.conversations[0].turns[0]
    same_source = AudioClip(
        b.load_clip().samples, b.load_clip().sample_rate_hz, a.load_clip().source
    )
    assert turn_fingerprint(a) != turn_fingerprint(Turn(
        conversation_id=a.conversation_id, turn_index=0, audio=same_source,
        reference_text=a.reference_text,
    ))  # fmt: skip
    folder = RunFolder(tmp_path / "run")
    folder.claim({"pipeline": "p", "config_hash": "h"}, clean)
    with pytest.raises(ResultsError, match="another dataset"):
        folder.check_dataset(noisy)
    renamed = Dataset(name=clean.name, conversations=noisy.conversations)
    with pytest.raises(ResultsError, match="have other audio or reference text"):
        folder.check_dataset(renamed)


def test_transform_writes_a_loadable_conditioned_copy(shared_data: Path, tmp_path: Path) -> None:
    source = tmp_path / "src" / "manifest.jsonl"
    source.parent.mkdir()
    turns = _shared_turns(shared_data, fsdd=3, lj=1)
    source.write_text("".join(
        json.dumps({"audio": str(t.audio), "text": t.reference_text, "conversation_id": "c",
                    "turn_index": i, "speaker": t.tags["speaker"], "expected_keywords": ["x"]})
        + "\n" for i, t in enumerate(turns)
    ))  # fmt: skip
    out = tmp_path / "noisy"
    assert main([
        "datasets", "transform", str(source), "--condition", "noise=babble,snr_db=5",
        "--condition", "gain=-3", "--seed", "4", "--out", str(out),
    ]) == 0  # fmt: skip
    written = load_dataset(out)
    expected = apply_conditions(load_dataset(source), ["noise=babble,snr_db=5", "gain=-3"], 4)
    for got, want in zip(
        written.conversations[0].turns, expected.conversations[0].turns, strict=True
    ):
        assert got.reference_text == want.reference_text and got.expected_keywords == ("x",)
        assert dict(got.tags) == dict(want.tags)
        assert got.tags["condition"] == "noise=babble,snr_db=5,talkers=4;gain=-3"
        assert got.tags["snr_db"] == "5" and got.tags["speaker"] == want.tags["speaker"]
        assert np.array_equal(load_audio(got.audio).samples, want.load_clip().samples)  # type: ignore[arg-type]


def test_transform_refuses_bad_text_before_writing(
    demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([
        "datasets", "transform", str(demo_data),
        "--condition", "noise=white,snr_db=loud", "--out", str(tmp_path / "out"),
    ]) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert error.startswith("voicelab: error: condition 'noise=white,snr_db=loud'"), error
    assert not (tmp_path / "out").exists()


def test_an_experiment_file_names_its_conditions(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text('conditions = ["gain_db=-6", "noise=babble,snr_db=10"]\ncondition_seed = 3\n')
    experiment = load_experiment(path)
    assert experiment.conditions == ("gain=-6", "noise=babble,snr_db=10,talkers=4")
    assert experiment.record()["conditions"] == list(experiment.conditions)
    path.write_text('conditions = ["noise=babble"]\n')
    with pytest.raises(ConfigError, match=r"e\.toml: condition 'noise=babble': noise needs snr"):
        load_experiment(path)


def test_run_with_a_condition_records_it_and_a_clean_folder_refuses_it(
    demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as server:
        base = [
            "run", "--pipeline", "chained-openai", "--base-url", server.base_url,
            "--dataset", str(demo_data), "--max-turns", "2", "--no-audio",
        ]  # fmt: skip
        assert main([*base, "--out", str(tmp_path / "clean")]) == 0
        noisy = tmp_path / "noisy"
        chain_flags = ["--condition", "gain_db=-6;noise=babble,snr_db=10", "--condition-seed", "2"]
        assert main([*base, *chain_flags, "--out", str(noisy)]) == 0
        capsys.readouterr()
        refused = [*base, "--condition", "noise=white,snr_db=10", "--out", str(tmp_path / "clean")]
        assert main(refused) == 2
        error = capsys.readouterr().err
        assert (
            main(["run", "--config", str(noisy / "run.json"), "--out", str(tmp_path / "again")])
            == 0
        )
    info = json.loads((noisy / "run.json").read_text())
    chain = ["gain=-6", "noise=babble,snr_db=10,talkers=4"]
    assert info["experiment"]["conditions"] == chain
    assert info["experiment"]["condition_seed"] == 2
    assert info["dataset"] == "support[gain=-6;noise=babble,snr_db=10,talkers=4;seed=2]"
    frame = load_run(noisy)
    assert len(frame) == 2 and frame["error"].isna().all(), frame["error"].tolist()
    for blob in frame["tags"]:
        tags = json.loads(blob)
        assert tags["condition"] == ";".join(chain) and tags["snr_db"] == "10"
        assert tags["condition_seed"] == "2" and tags["gain_db"] == "-6"
    assert "holds a run of another dataset ('support', not 'support[noise=white" in error
    again = json.loads((tmp_path / "again" / "run.json").read_text())
    assert again["dataset_turns"] == info["dataset_turns"]  # the same conditioned audio


# Measured 2026-12-01 with Whisper tiny.en (chained-local's default, greedy) on all 8 LJ Speech
# clips through the telephone condition: WER 3.9% (5 errors in 128 words; clean 4.7%). The bound
# leaves a margin of 6.1 points (8 more word errors); a broken codec or band gives far more.
TELEPHONE_WER_BOUND = 0.10


@pytest.mark.slow
def test_telephone_speech_stays_intelligible(shared_data: Path) -> None:
    from voicelab.providers.whisper_stt import FasterWhisperSTTModel

    stt = FasterWhisperSTTModel()
    sentences = apply_conditions(load_dataset(shared_data / "ljspeech-sample"), ["telephone"], 0)
    turns = [t for c in sentences for t in c.turns]
    assert all(t.load_clip().sample_rate_hz == TELEPHONE_RATE_HZ for t in turns)
    hypotheses = [stt.transcribe_clip(t.load_clip()) for t in turns]
    rates = error_rates([t.reference_text or "" for t in turns], hypotheses)
    assert rates.reference_words == 128
    assert rates.wer <= TELEPHONE_WER_BOUND, list(
        zip([t.reference_text for t in turns], hypotheses, strict=True)
    )
