"""Repeated trials of tasks: pass^k, pass@k and flakiness per pipeline.

A **task** is one conversation of the dataset; a **trial** is one run of it (``voicelab run
--repeat k``, the ``trial`` column; runs tabled together each add their own trials). A trial
**succeeds** when every one of its turns ran without an error and passed all of its quality
checks (``answer_ok`` and ``tool_call_ok``, where the turn has them): ``turn_succeeded`` is that
rule, the one place it is defined.

With ``c`` successes in ``n >= k`` trials of a task, the unbiased estimators (Chen et al. 2021
for pass@k; τ-bench for pass^k) are::

    pass^k = C(c, k) / C(n, k)            all k trials drawn from the n succeed
    pass@k = 1 - C(n - c, k) / C(n, k)    at least one of them does

each averaged over tasks. A task is **flaky** when its trials disagree (``0 < c < n``).
Trials cut off part-way (fewer turns than the task's other trials) are left out and counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd

from voicelab.errors import ResultsError
from voicelab.grouping import group_table, iter_groups

TASK_COLUMNS = ("dataset", "conversation_id")
"""What a task is: a conversation of a dataset (a conditioned copy is another dataset)."""
TRIAL_COLUMNS = ("run_id", "trial")
TRIAL_SUMMARY_COLUMNS = (
    "tasks", "k", "trials_min", "trials_max", "pass_hat_k", "pass_at_k", "flaky_rate",
    "tasks_short", "partial_trials",
)  # fmt: skip
"""The columns of ``trial_summary``, after its group columns."""
"""What tells a task's trials apart: several runs tabled together each bring their own."""


def turn_succeeded(frame: pd.DataFrame) -> pd.Series:
    """Per row: no error, and no quality check (answer_ok, tool_call_ok) failed."""
    ok = frame["error"].isna()
    for check in ("answer_ok", "tool_call_ok"):
        ok &= frame[check].astype("boolean").fillna(True)
    return ok.astype(bool)


def task_outcomes(frame: pd.DataFrame, by: Sequence[str] = ("pipeline",)) -> pd.DataFrame:
    """One row per (group, task, trial): its turns, whether it succeeded, whether it is whole.

    A task is a conversation of a dataset (``TASK_COLUMNS``); its trials are told apart by run
    and trial number (``TRIAL_COLUMNS``), so runs tabled together never merge into one trial.
    ``whole`` is False for a trial with fewer turns than the most any trial of the task has.
    """
    if "trial" not in frame.columns:
        raise ResultsError("the table has no trial column (load it with voicelab.load_run)")
    task = [*by, *(c for c in TASK_COLUMNS if c not in by)]
    keys = [*task, *(c for c in TRIAL_COLUMNS if c not in task)]
    scored = frame.assign(_success=turn_succeeded(frame))
    records = []
    for key, group in iter_groups(scored, keys):
        records.append(
            {**dict(zip(keys, key, strict=True)), "turns": len(group),
             "success": bool(group["_success"].all())}
        )  # fmt: skip
    outcomes = pd.DataFrame.from_records(records, columns=[*keys, "turns", "success"])
    most = outcomes.groupby(task, dropna=False)["turns"].transform("max")
    return outcomes.assign(whole=outcomes["turns"] == most)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k of one task: the chance that k of its n trials, drawn without
    replacement, all succeed (c of the n did)."""
    _check_counts(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one task: the chance that at least one of k of its n trials, drawn
    without replacement, succeeds (c of the n did)."""
    _check_counts(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _check_counts(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ResultsError(f"need 0 <= c <= n and 1 <= k <= n, not n={n}, c={c}, k={k}")


def trial_summary(
    frame: pd.DataFrame, k: int | None = None, by: Sequence[str] = ("pipeline",)
) -> pd.DataFrame:
    """Per group: tasks, trials per task, pass^k, pass@k and the flakiness rate.

    ``k`` defaults to the fewest whole trials any task of the group has; tasks with fewer than
    ``k`` whole trials are left out (``tasks_short``), as are trials cut off (``partial_trials``).
    """
    outcomes = task_outcomes(frame, by)
    records = []
    for key, group in iter_groups(outcomes, by):
        whole = group[group["whole"]]
        tasks = [c for c in TASK_COLUMNS if c not in by]
        per_task = whole.groupby(tasks, dropna=False)["success"].agg(["size", "sum"])
        k_used = int(per_task["size"].min()) if k is None and len(per_task) else k
        scored = per_task[per_task["size"] >= (k_used or 1)]
        n_c = list(zip(scored["size"].astype(int), scored["sum"].astype(int), strict=True))
        record: dict[str, object] = {
            **dict(zip(by, key, strict=True)),
            "tasks": len(scored),
            "k": k_used,
            "trials_min": int(scored["size"].min()) if len(scored) else 0,
            "trials_max": int(scored["size"].max()) if len(scored) else 0,
            "pass_hat_k": _mean(pass_hat_k(n, c, k_used) for n, c in n_c) if k_used else math.nan,
            "pass_at_k": _mean(pass_at_k(n, c, k_used) for n, c in n_c) if k_used else math.nan,
            "flaky_rate": _mean(float(0 < c < n) for n, c in n_c),
            "tasks_short": len(per_task) - len(scored),
            "partial_trials": int((~group["whole"]).sum()),
        }
        records.append(record)
    return group_table(records, by, TRIAL_SUMMARY_COLUMNS)


def _mean(values: Iterable[float]) -> float:
    numbers = list(values)
    return math.fsum(numbers) / len(numbers) if numbers else math.nan


def has_trials(frame: pd.DataFrame) -> bool:
    """Whether any task of the table ran more than once."""
    return "trial" in frame.columns and bool((frame["trial"].astype("Int64") > 0).any())
