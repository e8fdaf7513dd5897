"""What a run costs: per turn, per 1,000 turns and per successful task, and re-pricing stored
usage with another price table or as a projection onto other models.

Every row keeps its usage (tokens, characters, audio seconds), so its cost can be computed
again later: ``reprice`` changes ``cost_usd``, ``cost_basis``, ``judge_cost_usd`` and
``judge_cost_basis`` and nothing else. A cost that cannot be known (a model without a price,
usage not recorded) is NA, never 0, and a total over rows with any NA cost is NA too
(``unpriced_turns`` says how many).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import fields
from typing import Any

import pandas as pd

from voicelab.errors import ResultsError
from voicelab.grouping import GroupKey, group_table, iter_groups
from voicelab.metrics.cost import (
    PriceTable,
    Pricing,
    is_projection_basis,
    judge_cost_usd,
    judge_pricing,
    projection_onto,
    run_pricing_for,
)
from voicelab.trials import task_outcomes
from voicelab.turn_result import Usage

TURNS_PER_THOUSAND = 1_000
COST_SUMMARY_COLUMNS = (
    "turns", "unpriced_turns", "cost_usd_total", "cost_usd_per_turn", "cost_usd_per_1k_turns",
    "successful_tasks", "cost_usd_per_successful_task", "cost_basis",
)  # fmt: skip
"""The columns of ``cost_summary``, after its group columns."""
USAGE_COLUMNS = tuple(f.name for f in fields(Usage))
"""Usage counts, each stored in the result column of the same name."""


def _missing(value: Any) -> bool:
    return bool(pd.isna(value))


def row_usage(row: Mapping[Hashable, Any]) -> Usage | None:
    """The usage a row stores; None when any of it was not recorded (an older row)."""
    values = {name: row[name] for name in USAGE_COLUMNS}
    if any(_missing(v) for v in values.values()):
        return None
    counts: dict[str, Any] = {
        k: float(v) if k.endswith("_s") else int(v) for k, v in values.items()
    }
    return Usage(**counts)


def run_models(info: Mapping[str, Any], where: str) -> dict[str, str]:
    """The component -> model mapping a run's ``run.json`` records."""
    models = info.get("models") or (info.get("pipeline_config") or {}).get("models")
    if not isinstance(models, Mapping) or not models:
        raise ResultsError(f"{where}: run.json records no component models; cannot re-price it")
    return {str(k): str(v) for k, v in models.items()}


def run_pricing(
    info: Mapping[str, Any], table: PriceTable, price_as: str | None, where: str
) -> Pricing:
    """How to price a run recorded in ``info`` (its ``run.json``) with ``table``: a projection
    onto ``price_as``'s models when given, else on the basis the run was priced on (its own
    models, or the projection it was run with: ``voicelab run --price-as``, a stand-in
    server)."""
    models = run_models(info, where)
    recorded = info.get("prices") or {}
    priced_as = recorded.get("priced_as")
    named = {str(c): str(m) for c, m in priced_as.items()} if isinstance(priced_as, Mapping) else {}
    if named and named != models and not price_as and _recorded_projection(recorded):
        what = f"{where}: the run's projection onto {', '.join(named.values())} (run.json)"
        return projection_onto(named, models, table, what)
    backend = (info.get("pipeline_config") or {}).get("backend")
    return run_pricing_for(models, backend, table, price_as)


def _recorded_projection(prices: Mapping[str, Any]) -> bool:
    """Whether run.json's ``prices`` say the run was priced as a projection."""
    if "projection" in prices:
        return bool(prices["projection"])
    return is_projection_basis(prices.get("cost_basis"))  # run.json of an older voicelab


def reprice(frame: pd.DataFrame, pricing: Pricing) -> pd.DataFrame:
    """The table with ``cost_usd`` recomputed from each row's usage, ``cost_basis`` set, and
    the judge's cost recomputed from its stored tokens with the same price table (a judge is
    never projected onto other models: it ran on its own; a judge a stand-in server answered
    stays a projection); every other column as it was."""
    costs: list[float | None] = []
    judged: list[tuple[float | None, str | None]] = []
    for row in frame.to_dict("records"):
        usage = row_usage(row)
        costs.append(None if usage is None else pricing.cost_usd(usage))
        judged.append(_row_judge_cost(row, pricing.table))
    return frame.assign(
        cost_usd=pd.array(costs, dtype="Float64"),
        cost_basis=pd.array([pricing.basis] * len(frame), dtype="string"),
        judge_cost_usd=pd.array([cost for cost, _ in judged], dtype="Float64"),
        judge_cost_basis=pd.array([basis for _, basis in judged], dtype="string"),
    )


def _row_judge_cost(
    row: Mapping[Hashable, Any], table: PriceTable
) -> tuple[float | None, str | None]:
    """The row's judge cost at ``table``'s prices and its basis, a projection if it was one;
    (None, None) when no judge ran; the cost None when its tokens are unknown."""
    model, tokens_in, tokens_out, basis = (
        row[c]
        for c in ("judge_model", "judge_input_tokens", "judge_output_tokens", "judge_cost_basis")
    )
    if _missing(model):
        return None, None
    projection = not _missing(basis) and is_projection_basis(str(basis))
    priced = judge_pricing(str(model), table, projection=projection)
    if _missing(tokens_in) or _missing(tokens_out):
        return None, priced.basis
    return judge_cost_usd(priced, int(tokens_in), int(tokens_out)), priced.basis


def _hashable(key: GroupKey) -> GroupKey:
    """A group key usable in a dict (a missing tag is NaN, which equals nothing)."""
    return tuple(None if _missing(k) else k for k in key)


def _total(costs: pd.Series) -> float:
    values = costs.astype("Float64")
    return math.nan if values.isna().any() or not len(values) else float(values.sum())


def cost_summary(frame: pd.DataFrame, by: Sequence[str] = ("pipeline",)) -> pd.DataFrame:
    """Per group: total cost, per turn, per 1,000 turns, per successful task, and the basis.

    Cost per successful task is every row's cost (failed trials cost money too) over the
    trials that succeeded (``voicelab.trials``: every turn without error, all checks passed).
    """
    outcomes = task_outcomes(frame, by)
    succeeded = {
        _hashable(key): int((tasks["success"] & tasks["whole"]).sum())
        for key, tasks in iter_groups(outcomes, by)
    }
    records = []
    for key, group in iter_groups(frame, by):
        successes = succeeded.get(_hashable(key), 0)
        total = _total(group["cost_usd"])
        per_turn = total / len(group) if len(group) else math.nan
        records.append(
            {
                **dict(zip(by, key, strict=True)),
                "turns": len(group),
                "unpriced_turns": int(group["cost_usd"].isna().sum()),
                "cost_usd_total": total,
                "cost_usd_per_turn": per_turn,
                "cost_usd_per_1k_turns": per_turn * TURNS_PER_THOUSAND,
                "successful_tasks": successes,
                "cost_usd_per_successful_task": total / successes if successes else math.nan,
                "cost_basis": "; ".join(sorted(group["cost_basis"].dropna().astype(str).unique()))
                or None,
            }
        )
    return group_table(records, by, COST_SUMMARY_COLUMNS)
