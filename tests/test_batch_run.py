"""`voicelab run` at scale, in a real subprocess against `voicelab serve --backend synthetic`:
faults retried, every turn once, SIGKILL and Ctrl-C survived, rate limits kept."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from voicelab.server.faults import FaultConfig, with_endpoint
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "support"
EXIT_INTERRUPTED = 130
RUN_DEADLINE_S = 240.0  # a whole CLI run on the synthetic backend takes seconds
# specific error types the injected faults map to (README, "Failed turns")
FAULT_ERRORS = {
    "RateLimitedError",
    "ServerSideError",
    "ConnectionDroppedError",
    "RemoteTimeoutError",
}


def _manifest(folder: Path, conversations: int, turns: int = 2) -> Path:
    """A dataset of ``conversations`` x ``turns`` turns reusing the demo recordings."""
    demo = [json.loads(line) for line in (DEMO / "manifest.jsonl").read_text().splitlines()]
    lines = []
    for c in range(conversations):
        for t in range(turns):
            source = demo[(c * turns + t) % len(demo)]
            audio = str((DEMO / source["audio"]).resolve())
            record = {"audio": audio, "text": source["text"], "conversation_id": f"c{c:03d}"}
            lines.append(json.dumps({**record, "turn_index": t}))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _experiment(path: Path, run_table: str) -> Path:
    path.write_text(f'pipeline = "chained-openai"\n{run_table}\n')
    return path


def _command(server: LocalServer, dataset: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "voicelab.cli", "run", "--pipeline", "chained-openai",
        "--base-url", server.base_url, "--dataset", str(dataset), "--out", str(out),
        "--no-audio", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return {**env, "PYTHONPATH": str(REPO)}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=_env(), capture_output=True, text=True, timeout=RUN_DEADLINE_S, check=False
    )


def _start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _complete_lines(path: Path) -> list[bytes]:
    """The whole lines of a row log written so far (a line being written is left out)."""
    if not path.exists():
        return []
    *lines, _tail = path.read_bytes().split(b"\n")
    return [line + b"\n" for line in lines if line]


def _wait_for_rows(process: subprocess.Popen[str], rows: Path, count: int) -> None:
    deadline = time.monotonic() + RUN_DEADLINE_S
    while len(_complete_lines(rows)) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"fewer than {count} rows in {RUN_DEADLINE_S} s"
        time.sleep(0.01)  # polling the file the subprocess writes, with a deadline


def _request_log(path: Path) -> pd.DataFrame:
    return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])


@pytest.fixture
def slow_synthetic(tmp_path: Path) -> Iterator[LocalServer]:
    """The synthetic server taking ~20 ms per request, so a run can be stopped part-way."""
    faults = with_endpoint(FaultConfig(), "*", ttfb_ms=20)
    config = ServerConfig(port=0, backend="synthetic", faults=faults)
    with LocalServer(config) as running:
        yield running


def test_200_turns_at_concurrency_32_through_faults(tmp_path: Path) -> None:
    faults = FaultConfig(seed=7)
    faults = with_endpoint(
        faults, "transcriptions", error_rate=0.08, error_status=429, retry_after_s=1
    )
    faults = with_endpoint(
        faults, "responses", error_rate=0.05, error_status=500, drop_rate=0.03,
        drop_after_chunks=2,
    )  # fmt: skip
    faults = with_endpoint(
        faults, "speech", drop_rate=0.03, stall_rate=0.02, stall_s=30.0, drop_after_chunks=1
    )
    log = tmp_path / "requests.jsonl"
    dataset = _manifest(tmp_path / "data", conversations=110)
    experiment = _experiment(
        tmp_path / "experiment.toml", "[run.retry]\nmax_attempts = 4\nbase_delay_s = 0.05"
    )
    config = ServerConfig(port=0, backend="synthetic", faults=faults, request_log=log)
    with LocalServer(config) as server:
        command = _command(server, dataset, tmp_path / "run", "--config", str(experiment))
        done = _run([*command, "--concurrency", "32", "--request-timeout", "2"])
    assert done.returncode == 0, done.stderr
    rows = pd.read_json(tmp_path / "run" / "rows.jsonl", lines=True)
    assert len(rows) == 220 and rows["turn_id"].is_unique  # every turn exactly once
    failed = rows[rows["error"].notna()]
    assert set(failed["error_type"]) <= FAULT_ERRORS, failed["error"].tolist()
    assert rows["attempts"].between(1, 4).all() and (rows["attempts"] > 1).sum() > 10
    retried = rows["retried_errors"].map(json.loads)
    assert (retried.map(len) == rows["attempts"] - 1).all()
    assert set().union(*retried.map(set)) == FAULT_ERRORS  # each injected fault was met
    assert len(failed) < len(rows) / 10  # retries recovered most faults
    requests = _request_log(log)
    # every attempt of a turn begins with its one transcription request
    assert (requests["endpoint"] == "transcriptions").sum() == rows["attempts"].sum()
    refused = ((requests["endpoint"] == "transcriptions") & (requests["status"] == 429)).sum()
    met = retried.map(lambda e: e.count("RateLimitedError")).sum()
    assert refused == met + (failed["error_type"] == "RateLimitedError").sum()
    summary = done.stdout.splitlines()
    assert any("220/220 turns" in line and "retries" in line for line in summary), done.stdout


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_mid_run_loses_nothing_finished(
    slow_synthetic: LocalServer, tmp_path: Path, seed: int
) -> None:
    dataset = _manifest(tmp_path / "data", conversations=40)
    out = tmp_path / "run"
    command = _command(slow_synthetic, dataset, out, "--concurrency", "8")
    kill_after = random.Random(seed).randint(1, 70)
    process = _start(command)
    try:
        _wait_for_rows(process, out / "rows.jsonl", kill_after)
    finally:
        process.kill()  # SIGKILL: no handler, no cleanup
        process.communicate()
    before = _complete_lines(out / "rows.jsonl")
    assert len(before) >= kill_after
    done = _run(command)
    assert done.returncode == 0, done.stderr
    after = _complete_lines(out / "rows.jsonl")
    turn_ids = [json.loads(line)["turn_id"] for line in after]
    assert len(turn_ids) == 80 and len(set(turn_ids)) == 80  # one row per turn
    # rows of conversations finished before the kill stay byte for byte; rows of one cut off
    # part-way were set aside (byte for byte) and its turns run again
    superseded = _complete_lines(out / "rows.superseded.jsonl")
    kept = Counter(after) + Counter(superseded)
    assert all(kept[line] >= 1 for line in before)
    finished = {json.loads(line)["conversation_id"] for line in before} - {
        json.loads(line)["conversation_id"] for line in superseded
    }
    assert all(line in after for line in before if json.loads(line)["conversation_id"] in finished)


def test_ctrl_c_saves_every_finished_row_and_the_rerun_resumes(
    slow_synthetic: LocalServer, tmp_path: Path
) -> None:
    dataset = _manifest(tmp_path / "data", conversations=40)
    out = tmp_path / "run"
    command = _command(slow_synthetic, dataset, out, "--concurrency", "8")
    process = _start(command)
    _wait_for_rows(process, out / "rows.jsonl", 20)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=RUN_DEADLINE_S)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr and "again to resume" in stderr and "Traceback" not in stderr
    saved = pd.read_parquet(out / "results.parquet")
    logged = _complete_lines(out / "rows.jsonl")
    assert 20 <= len(saved) == len(logged) < 80
    assert saved["error"].isna().all()  # the abandoned turns left no rows
    done = _run(command)
    assert done.returncode == 0, done.stderr
    final = pd.read_parquet(out / "results.parquet")
    assert len(final) == 80 and final["turn_id"].is_unique and final["error"].isna().all()
    resumed = next(line for line in done.stdout.splitlines() if "turns done before" in line)
    # complete conversations are skipped; each of the 8 in flight may have left one row
    assert len(saved) - 8 <= int(resumed.split("/")[0]) <= len(saved), resumed


def test_a_rate_limit_is_never_exceeded_in_any_window(tmp_path: Path) -> None:
    # N requests per window; the window is scaled from 60 s to 4 s so the test takes seconds.
    # The spacing, (window + 1 s) / N, is the same code at any scale, and its allowance for
    # requests' trips to differ (1 s) keeps its real size, so the test is no weaker.
    limit, window_s, others = 4, 4.0, 100
    log = tmp_path / "requests.jsonl"
    dataset = _manifest(tmp_path / "data", conversations=6)
    experiment = _experiment(
        tmp_path / "experiment.toml",
        f"[run.rate_limits]\nwindow_s = {window_s}\n"
        f'rpm = {{ "*" = {others}, transcriptions = {limit} }}',
    )
    config = ServerConfig(port=0, backend="synthetic", request_log=log)
    with LocalServer(config) as server:
        command = _command(server, dataset, tmp_path / "run", "--config", str(experiment))
        done = _run([*command, "--concurrency", "8"])
    assert done.returncode == 0, done.stderr
    requests = _request_log(log)
    turns = requests[requests["endpoint"].isin(["transcriptions", "responses", "speech"])]
    assert (turns["endpoint"] == "transcriptions").sum() == 12
    busiest = {}
    for endpoint, group in turns.groupby("endpoint"):
        times = sorted(group["time"])
        # the most requests in any half-open window [t, t + window_s), t at each request
        busiest[endpoint] = max(
            sum(1 for u in times[i:] if u < t + window_s) for i, t in enumerate(times)
        )
    assert busiest["transcriptions"] == limit, busiest  # never above, and reached
    assert max(busiest.values()) <= others, busiest
    run_info = json.loads((tmp_path / "run" / "run.json").read_text())
    limits = run_info["experiment"]["run"]["rate_limits"]
    assert limits["rpm"] == {"*": others, "transcriptions": limit}
