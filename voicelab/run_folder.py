"""The run folder, owner of every file a run writes; the runner only talks to it.

``run.json``               what the folder belongs to (pipeline config and its hash, the dataset's
                           name and a fingerprint per turn), prices and environment
``rows.jsonl``             one row per finished turn, appended and fsynced: the source of truth
``rows.superseded.jsonl``  rows of a conversation cut off part-way, set aside when it is redone
``rows.torn.jsonl``        unreadable lines (a write cut short by a crash), set aside on resume
``results.parquet``        the typed table, replaced by an atomic rename at the end of a run
``audio/``                 agent speech per turn (``<turn_id>.wav``), and each conversation as
                           heard (``conversations/<conversation_id>.wav``: user left, agent right)

A folder belongs to one dataset, one ``config_hash`` (pipeline config and agent) and one cost
basis (price table and projection, ``voicelab.costs`` re-prices it later): another is refused
before any file is touched. A subset of the same dataset reuses it; no finished row is
ever deleted. Rows are keyed by (turn, ``trial``): with ``voicelab run --repeat k`` each
conversation runs k times, and resume works per (conversation, trial). Rows written before a
column was added (``voicelab.results.ADDED_COLUMNS``, e.g. ``trial``) read with its default.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from voicelab.audio import AudioClip, save_audio
from voicelab.conversation_audio import StereoClip, save_stereo
from voicelab.datasets.types import Dataset, Turn
from voicelab.errors import ResultsError
from voicelab.results import ADDED_COLUMNS, check_row, to_frame, with_added_columns

RUN_FILE = "run.json"
ROWS_FILE = "rows.jsonl"
SUPERSEDED_FILE = "rows.superseded.jsonl"
TORN_FILE = "rows.torn.jsonl"
PARQUET_FILE = "results.parquet"
AUDIO_DIR = "audio"
CONVERSATIONS_DIR = "conversations"  # under AUDIO_DIR
_SHOWN_TURNS = 3  # turn ids quoted in a refusal before "..."


class RunFolderWarning(UserWarning):
    """Something unreadable in a run folder was set aside or skipped."""


@dataclass
class _Log:
    """What ``rows.jsonl`` holds: rows, unreadable complete lines, and a last line cut short."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[tuple[int, bytes]] = field(default_factory=list)
    torn_tail: bytes | None = None


def _read_log(path: Path) -> _Log:
    log = _Log()
    if not path.exists():
        return log
    *lines, tail = path.read_bytes().split(b"\n")
    log.torn_tail = tail or None
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:  # not JSON, or not UTF-8
            log.bad_lines.append((line_no, line))
            continue
        if not isinstance(row, dict):
            log.bad_lines.append((line_no, line))
            continue
        row = with_added_columns(row)
        check_row(row, f"{path}:{line_no}")
        log.rows.append(row)
    return log


def _row_line(row: Mapping[str, Any]) -> bytes:
    return (json.dumps(row, default=str) + "\n").encode()


def _append_lines(path: Path, lines: Iterable[bytes]) -> None:
    """Append whole lines and fsync them before returning."""
    with path.open("ab") as f:
        f.writelines(lines)
        f.flush()
        os.fsync(f.fileno())


def _replace_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file beside ``path``, fsync it, rename it over ``path``: never torn."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # makes the rename itself durable
    finally:
        os.close(folder)


def turn_fingerprint(turn: Turn) -> str:
    """What identifies a turn across runs: its audio (a file's path, an in-memory clip's
    samples and rate: a conditioned clip has no file) and reference text."""
    if isinstance(turn.audio, Path):
        audio = str(turn.audio.resolve())
    else:
        clip = turn.audio
        samples = hashlib.sha256(clip.samples.astype("<f4").tobytes()).hexdigest()
        audio = f"{clip.sample_rate_hz}:{samples}"
    blob = json.dumps([audio, turn.reference_text]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _fingerprints(dataset: Dataset) -> dict[str, str]:
    return {t.turn_id: turn_fingerprint(t) for c in dataset for t in c.turns}


def _listed(turn_ids: list[str]) -> str:
    more = " ..." if len(turn_ids) > _SHOWN_TURNS else ""
    return ", ".join(turn_ids[:_SHOWN_TURNS]) + more


class RunFolder:
    """One run folder: checks what it belongs to, appends rows, writes the table and run.json."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """A folder to run into (new, or one to resume); refused now if it can never be one."""
        folder = cls(path)
        for place in (folder.path, *folder.path.parents):
            if place.exists():
                if not place.is_dir():
                    raise ResultsError(
                        f"{place}: exists and is not a folder; a run needs a new folder "
                        "or a run folder to resume"
                    )
                break
        if folder.info() is None and any(
            (folder.path / name).exists() for name in (ROWS_FILE, PARQUET_FILE)
        ):
            raise ResultsError(
                f"{folder.path}: holds results but no {RUN_FILE}, so what they belong to is "
                "unknown; use a new folder"
            )
        return folder

    @property
    def run_id(self) -> str:
        """The folder's name, the ``run_id`` column."""
        return self.path.resolve().name

    def info(self) -> dict[str, Any] | None:
        """What ``run.json`` records, or None before the first run."""
        info_path = self.path / RUN_FILE
        if not info_path.exists():
            return None
        try:
            info = json.loads(info_path.read_bytes())
        except (OSError, ValueError) as e:
            raise ResultsError(f"{info_path}: cannot read run info ({e})") from e
        if not isinstance(info, dict):
            raise ResultsError(f"{info_path}: run info must be a JSON object")
        return info

    def check_dataset(self, dataset: Dataset) -> None:
        """Refuse a dataset other than the folder's (a subset of it is fine)."""
        info = self.info()
        if info is not None:
            self._check_dataset(info, dataset)

    def _check_dataset(self, info: Mapping[str, Any], dataset: Dataset) -> None:
        if info.get("dataset") != dataset.name:
            raise ResultsError(
                f"{self.path}: holds a run of another dataset ({info.get('dataset')!r}, not "
                f"{dataset.name!r}); use a new folder"
            )
        recorded = info.get("dataset_turns")
        if not isinstance(recorded, dict):
            raise ResultsError(
                f"{self.path / RUN_FILE}: does not record its dataset's turns (an older "
                "voicelab wrote it); use a new folder"
            )
        changed = [
            turn_id
            for turn_id, fingerprint in _fingerprints(dataset).items()
            if recorded.get(turn_id, fingerprint) != fingerprint
        ]
        if changed:
            raise ResultsError(
                f"{self.path}: holds a run of another dataset named {dataset.name!r}: turn(s) "
                f"{_listed(changed)} have other audio or reference text here; use a new folder"
            )

    def _check_config(self, info: Mapping[str, Any], pipeline: str, config_hash: str) -> None:
        if info.get("config_hash") != config_hash:
            raise ResultsError(
                f"{self.path}: holds a run of another pipeline configuration "
                f"({info.get('pipeline')}, {info.get('config_hash')}; this run is {pipeline}, "
                f"{config_hash}); use a new folder"
            )

    def _check_prices(self, info: Mapping[str, Any], run_info: Mapping[str, Any]) -> None:
        """Refuse to add rows priced on another basis than the folder's (one basis a folder)."""
        before, now = info.get("prices") or {}, run_info.get("prices") or {}
        if not before or not now:
            return  # a run.json of an older voicelab, or a caller that prices nothing
        basis, other = before.get("cost_basis"), now.get("cost_basis")
        digests = before.get("rates_digest"), now.get("rates_digest")
        if basis == other and (None in digests or digests[0] == digests[1]):
            return
        if basis == other:
            other = f"{other} from another price table ({now.get('source')})"
            basis = f"{basis} ({before.get('source')})"
        raise ResultsError(
            f"{self.path}: its rows are priced on {basis!r}, this run would price on {other!r}; "
            "one folder holds one cost basis. Resume with the --prices/--price-as the run "
            f"started with, then re-price the whole run: voicelab report {self.path} "
            "--prices FILE --price-as SPEC"
        )

    def claim(
        self, run_info: Mapping[str, Any], dataset: Dataset, repeat: int = 1
    ) -> set[tuple[str, int]]:
        """Check the folder is this run's, ready it to resume; the (conversation, trial) pairs
        already done, of the ``repeat`` trials of each conversation.

        ``run_info`` holds at least ``pipeline`` and ``config_hash``. Unreadable rows and rows
        of (conversation, trial) pairs cut off part-way are moved to side files, so their turns
        run again. Rows of other conversations or later trials are kept as they are. Nothing is
        touched before the checks pass.
        """
        previous = self.info()
        if previous is not None:
            self._check_dataset(previous, dataset)
            self._check_config(previous, str(run_info["pipeline"]), str(run_info["config_hash"]))
            self._check_prices(previous, run_info)
        self.path.mkdir(parents=True, exist_ok=True)
        rows = self._set_aside_unreadable()
        done = {(row["turn_id"], row["trial"]) for row in rows}
        wanted = {(c.conversation_id, trial): c for c in dataset for trial in range(repeat)}
        complete = {
            (key, trial)
            for (key, trial), c in wanted.items()
            if all((t.turn_id, trial) in done for t in c.turns)
        }
        redone = set(wanted) - complete
        superseded = [row for row in rows if (row["conversation_id"], row["trial"]) in redone]
        if superseded:
            _append_lines(self.path / SUPERSEDED_FILE, map(_row_line, superseded))
            kept = [row for row in rows if (row["conversation_id"], row["trial"]) not in redone]
            _replace_atomically(self.path / ROWS_FILE, b"".join(map(_row_line, kept)))
        turns = {**(previous or {}).get("dataset_turns", {}), **_fingerprints(dataset)}
        info = {**run_info, "dataset": dataset.name, "turns": len(turns), "dataset_turns": turns}
        _replace_atomically(self.path / RUN_FILE, json.dumps(info, indent=2, default=str).encode())
        return complete

    def _set_aside_unreadable(self) -> list[dict[str, Any]]:
        """Move unreadable lines of the row log to the torn file; the readable rows."""
        log_path = self.path / ROWS_FILE
        log = _read_log(log_path)
        unreadable = [line for _, line in log.bad_lines]
        if log.torn_tail is not None:
            unreadable.append(log.torn_tail)
        if unreadable:
            _append_lines(self.path / TORN_FILE, (line + b"\n" for line in unreadable))
            _replace_atomically(log_path, b"".join(map(_row_line, log.rows)))
            warnings.warn(
                f"{log_path}: {len(unreadable)} unreadable line(s) (a write cut short) moved to "
                f"{TORN_FILE}; their turns run again",
                RunFolderWarning,
                stacklevel=3,
            )
        return log.rows

    def append(self, row: Mapping[str, Any]) -> None:
        """Persist one finished turn's row (checked against the schema) before going on."""
        check_row(row, f"{self.path / ROWS_FILE}: row of {row.get('turn_id')}")
        _append_lines(self.path / ROWS_FILE, [_row_line(row)])

    def save_audio(self, turn_id: str, clip: AudioClip) -> Path:
        """Save a turn's agent speech under ``audio/`` (``turn_id``: the id the turn ran under,
        ``voicelab.execution.trials``)."""
        return save_audio(clip, self.path / AUDIO_DIR / f"{turn_id}.wav")

    def save_conversation_audio(self, conversation_id: str, clip: StereoClip) -> Path:
        """Save a conversation's stereo track under ``audio/conversations/``."""
        return save_stereo(
            clip, self.path / AUDIO_DIR / CONVERSATIONS_DIR / f"{conversation_id}.wav"
        )

    def write_table(self) -> pd.DataFrame:
        """Write every row of the folder to ``results.parquet`` atomically; that table."""
        frame = self.read_table()
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        _replace_atomically(self.path / PARQUET_FILE, buffer.getvalue())
        return frame

    def read_table(self) -> pd.DataFrame:
        """The folder's current rows (from the row log, else the parquet table); none when
        the run has started but no turn has finished."""
        log_path = self.path / ROWS_FILE
        if log_path.exists():
            log = _read_log(log_path)
            if log.bad_lines:
                line_no = log.bad_lines[0][0]
                raise ResultsError(
                    f"{log_path}:{line_no}: not a JSON row; resume the run (same folder) to set "
                    f"it aside in {TORN_FILE} and redo its turn"
                )
            if log.torn_tail is not None:
                warnings.warn(
                    f"{log_path}: last line is incomplete (being written, or cut short); left out",
                    RunFolderWarning,
                    stacklevel=3,
                )
            return self._with_cost_basis(to_frame(log.rows, str(log_path)))
        parquet_path = self.path / PARQUET_FILE
        if parquet_path.exists():
            try:
                frame = pd.read_parquet(parquet_path)
            except (OSError, ValueError) as e:
                raise ResultsError(f"{parquet_path}: cannot read the result table ({e})") from e
            added = {k: v for k, v in ADDED_COLUMNS.items() if k not in frame.columns}
            return self._with_cost_basis(to_frame(frame.assign(**added), str(parquet_path)))
        if self.info() is not None:  # claimed, stopped before its first turn finished
            return to_frame([], str(log_path))
        raise ResultsError(
            f"{self.path}: not a voicelab run folder (no {RUN_FILE}, {ROWS_FILE} or {PARQUET_FILE})"
        )

    def _with_cost_basis(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows written before ``cost_basis`` existed were priced with run.json's prices."""
        missing = frame["cost_basis"].isna()
        info = self.info() if missing.any() else None
        as_of = ((info or {}).get("prices") or {}).get("as_of")
        if as_of:
            frame.loc[missing, "cost_basis"] = f"prices as of {as_of}"
        return frame


def load_run(path: str | Path) -> pd.DataFrame:
    """The result table of a run folder, finished or interrupted."""
    frame = RunFolder(path).read_table()
    if frame.empty:
        raise ResultsError(
            f"{path}: the run holds no finished turns yet, so there is nothing to report; run "
            "the same voicelab run command (--out this folder) to resume it"
        )
    return frame


def load_run_info(path: str | Path) -> dict[str, Any]:
    """The run's recorded configuration, dataset identity and environment."""
    info = RunFolder(path).info()
    if info is None:
        raise ResultsError(f"{Path(path) / RUN_FILE}: cannot read run info (no such file)")
    return info
