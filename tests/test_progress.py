"""The progress tally and the CLI's plain (not a terminal) progress lines."""

from __future__ import annotations

import io

from voicelab.progress import ProgressTally, TerminalProgress


def test_tally_counts_errors_retries_pace_and_eta() -> None:
    tally = ProgressTally(total=10, done_before=2, started_s=100.0)
    assert tally.turns_per_min(100.0) is None and tally.eta_s(100.0) is None
    tally.add({"error": None, "attempts": 1})
    tally.add({"error": "turn x: 429", "attempts": 3})
    tally.add({"error": None, "attempts": 2})
    assert (tally.done, tally.errors, tally.retries) == (3, 1, 3)
    assert tally.turns_per_min(130.0) == 6.0  # 3 turns in 30 s
    assert tally.eta_s(130.0) == 50.0  # 5 turns left at 6 a minute
    assert tally.line(130.0) == "5/10 turns, errors 1, retries 3, 6.0 turns/min, ETA 00:00:50"


def test_plain_progress_prints_lines_and_errors_not_a_bar() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out)
    assert not progress.bar_mode  # a StringIO is not a terminal
    progress.begin(total=3, done=1)
    progress({"turn_id": "a#0", "error": None, "attempts": 2})
    progress({"turn_id": "a#1", "error": "boom", "error_type": "ServerSideError", "attempts": 1})
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "1/3 turns done before, 2 to run"
    assert "  a#1: ServerSideError: boom" in lines
    assert lines[-1].startswith("3/3 turns, errors 1, retries 1,")
