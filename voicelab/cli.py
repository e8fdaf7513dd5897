"""The ``voicelab`` command: run a pipeline over a dataset, report a run, synthesise datasets."""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicelab.errors import ConfigError, VoicelabError
from voicelab.experiment import Experiment, load_experiment

if TYPE_CHECKING:
    import pandas as pd

    from voicelab.agent.loading import LoadedAgent
    from voicelab.datasets.types import Dataset
    from voicelab.evaluation import Evaluator
    from voicelab.execution.base import Executor
    from voicelab.execution.choose import ExecutionSettings
    from voicelab.execution.recipe import PipelineRecipe
    from voicelab.pipelines.base import Pipeline
    from voicelab.runner import RunOptions

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVER_KEY_ENV = "VOICELAB_SERVER_API_KEY"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a job stopped by Ctrl-C

# Convenience flags of `voicelab run`: each sets the first of its config fields that the chosen
# pipeline's config class has (data, not an `if` per pipeline); --set reaches every field.
_CONFIG_FLAGS: dict[str, tuple[tuple[str, ...], str]] = {
    "whisper-model": (("whisper_model",), "chained-local: CTranslate2 Whisper folder"),
    "llm-model": (("llm_model",), "chained-local: GGUF chat model; chained-openai: model name"),
    "piper-voice": (("piper_voice",), "chained-local: piper .onnx voice"),
    "tool-choice": (("tool_choice",), "auto/required/none/a tool name (default: the agent's)"),
    "base-url": (("base_url",), "OpenAI pipelines: API root (default $OPENAI_BASE_URL or cloud)"),
    "model": (("model", "llm_model"), "realtime model, or chained-openai's agent model"),
    "stt-model": (("stt_model",), "chained-openai: STT model"),
    "tts-model": (("tts_model",), "chained-openai: TTS model"),
    "agent-api": (("agent_api",), "chained-openai: responses or chat_completions"),
    "url": (("url",), "realtime: full WebSocket URL (Azure, self-hosted)"),
    "voice": (("voice",), "realtime: output voice"),
    "turn-detection": (("turn_detection",), "realtime: server_vad or manual (voicelab commits)"),
    "request-timeout": (("request_timeout_s",), "OpenAI pipelines: seconds per API request"),
    "max-retries": (("max_retries",), "OpenAI pipelines: API client retries"),
    "tts-buffer-size": (("tts_buffer_size",), "chained: SDK TTS chunks per audio event"),
    "turn-timeout": (("turn_timeout_s",), "seconds per turn"),
    "input-mode": (("input_mode",), "chained: static (whole clip) or streamed (its VAD ends it)"),
    "feed": (("feed.mode",), "fast, or realtime (paced like a microphone)"),
    "chunk-ms": (("feed.chunk_ms",), "streamed chunk length in ms"),
}
_FLAG_TYPES: dict[str, dict[str, Any]] = {
    "request-timeout": {"type": float},
    "max-retries": {"type": int},
    "tts-buffer-size": {"type": int},
    "turn-timeout": {"type": float},
    "chunk-ms": {"type": float},
    "turn-detection": {"choices": ("server_vad", "manual")},
    "input-mode": {"choices": ("static", "streamed")},
    "feed": {"choices": ("fast", "realtime")},
    "agent-api": {"choices": ("responses", "chat_completions")},
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicelab", description="Compare voice-agent architectures on recorded speech."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run a pipeline over every turn of a dataset",
        description="Settings come from --config (an experiment TOML, or a run folder's "
        "run.json to repeat it), then the flags below, then --set KEY=VALUE.",
    )  # fmt: skip
    run.add_argument("--config", help="experiment TOML, or runs/X/run.json to repeat a run")
    run.add_argument("--pipeline", help="registered pipeline name (default chained-local)")
    run.add_argument("--dataset", help="manifest (.csv/.jsonl) or folder")
    run.add_argument(
        "--agent",
        help="FILE.py:NAME or package.module:NAME (an Agent or a "
        "zero-argument function returning one); default: the dataset's task.toml",
    )
    run.add_argument("--out", required=True, help="run folder; rerunning resumes it")
    run.add_argument("--max-turns", type=int, help="only the first conversations up to N turns")
    run.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
        help="any field of the pipeline's config, e.g. --set feed.chunk_ms=10 (repeatable)",
    )  # fmt: skip
    for flag, (_, help_text) in _CONFIG_FLAGS.items():
        run.add_argument(f"--{flag}", help=help_text, **_FLAG_TYPES.get(flag, {}))
    run.add_argument("--prices", help="price table TOML overriding the shipped one")
    run.add_argument("--no-audio", action="store_true", help="do not save agent audio")
    run.add_argument(
        "--concurrency", type=int,
        help="conversations run at once (default 1; API-backed pipelines go faster with more)",
    )  # fmt: skip
    run.add_argument(
        "--max-attempts", type=int,
        help="attempts per turn; transient errors (429, 5xx, timeouts, drops) are retried with "
        "backoff and Retry-After (default 3; 1 turns retries off)",
    )  # fmt: skip
    for name, what in (("rpm", "requests"), ("tpm", "estimated text tokens")):
        run.add_argument(
            f"--{name}", action="append", default=[], metavar="[ENDPOINT=]N",
            help=f"at most N {what} per minute to ENDPOINT (transcriptions, speech, chat, "
            "responses, realtime), or to each endpoint without one (repeatable)",
        )  # fmt: skip
    # --- execution (worker processes, Ray): never part of the config hash ---
    run.add_argument(
        "--executor", choices=("local", "processes", "ray"),
        help="local (this process), processes (--workers on this machine) or ray",
    )  # fmt: skip
    run.add_argument("--workers", type=int, help="worker processes or Ray actors (default 2)")
    run.add_argument("--ray-address", help="Ray cluster to join (default: start a local one)")
    # --- end execution ---
    # --- evaluators ---
    _add_evaluation_flags(run)
    # --- end evaluators ---
    # --- conditions ---
    run.add_argument(
        "--condition", action="append", default=[], metavar="TEXT", dest="conditions",
        help="recording condition applied to every clip on the fly, e.g. noise=babble,snr_db=10, "
        "telephone, gain=-6, silence,lead_ms=500, room=0.5 (repeatable: applied in order)",
    )  # fmt: skip
    run.add_argument("--condition-seed", type=int, help="seed of the conditions (default 0)")
    # --- end conditions ---

    report = sub.add_parser(
        "report", help="summarise run folders with confidence intervals; pair two runs",
        description="Summaries with bootstrap CIs per pipeline (per run when pipelines repeat); "
        "given two runs over the same dataset, a paired comparison B - A on their common turns.",
    )  # fmt: skip
    report.add_argument("runs", nargs="+", help="run folders (A then B for a comparison)")
    report.add_argument(
        "--by", action="append", default=[], metavar="TAG",
        help="also group by this column or turn tag, e.g. speaker (repeatable)",
    )  # fmt: skip
    report.add_argument("--confidence", type=float, default=0.95, help="CI level (default 0.95)")
    report.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    report.add_argument("--csv", help="also write the summary (one row per figure) to this CSV")
    report.add_argument("--html", help="also write a self-contained HTML report to this file")
    report.add_argument("--audio", action="store_true", help="HTML: embed the runs' audio")
    # --- trials-cost ---
    _add_trials_cost_flags(run, report)
    # --- end trials-cost ---

    serve = sub.add_parser("serve", help="local OpenAI-compatible server on the embedded models")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default loopback only)")
    serve.add_argument("--allow-remote", action="store_true", help="permit a non-loopback --host")
    serve.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one")
    serve.add_argument(
        "--api-key-env", default=SERVER_KEY_ENV, metavar="NAME",
        help=f"require the bearer key held in this environment variable (default "
        f"${SERVER_KEY_ENV}; unset: no key needed). A key is never a flag: ps would show it",
    )  # fmt: skip
    serve.add_argument("--api-key", help=argparse.SUPPRESS)  # refused with a pointer, below
    serve.add_argument("--faults", help="TOML fault-injection file (see voicelab/server/faults.py)")
    serve.add_argument("--fault-seed", type=int, help="seed of the injected faults' random choices")
    serve.add_argument(
        "--backend", choices=("local", "synthetic"), default="local",
        help="local: the embedded models (default); synthetic: fixed answers at once, no models "
        "(load and fault tests)",
    )  # fmt: skip
    serve.add_argument("--request-log", help="append one JSON line per request to this file")

    datasets = sub.add_parser("datasets", help="dataset tools")
    dsub = datasets.add_subparsers(dest="datasets_command", required=True)
    # --- synth ---
    synth = dsub.add_parser(
        "synth", help="speak a conversation script (JSONL or YAML) into a dataset with a TTS voice",
        description="Writes OUT/audio/*.wav and OUT/manifest.jsonl (the script's text as the "
        "references, its expectations and tags carried along). A rerun reuses finished audio.",
    )  # fmt: skip
    # `render` is the old name, kept working but unlisted
    for command in (synth, dsub.add_parser("render", description="renamed: datasets synth")):
        _synth_arguments(command)
    # --- end synth ---
    # --- corpora ---
    listing = dsub.add_parser(
        "list", help="datasets found under folders: format, conversations, turns, languages"
    )
    listing.add_argument(
        "roots", nargs="*", metavar="ROOT",
        help="folders to search (default: ./data and the folders of $VOICELAB_DATA)",
    )  # fmt: skip
    show = dsub.add_parser("show", help="a dataset's turns: language, expected tool, tags")
    show.add_argument(
        "path", help="manifest, folder, LibriSpeech tree, Hugging Face dataset, or FORMAT:PATH "
        "(hf:PATH[:SPLIT] also names a dataset in the local Hugging Face cache)",
    )  # fmt: skip
    # --- end corpora ---
    # --- conditions ---
    transform = dsub.add_parser(
        "transform", help="write a copy of a dataset with recording conditions applied",
        description="Conditions: noise=white|pink|babble,snr_db=N[,talkers=N]; telephone; "
        "gain=DB; silence,lead_ms=N,trail_ms=N; room=RT60_S. Several apply in order.",
    )  # fmt: skip
    transform.add_argument("source", help="manifest or folder of the dataset to condition")
    transform.add_argument(
        "--condition", action="append", required=True, metavar="TEXT", dest="conditions",
        help="a condition (repeatable: applied in order)",
    )  # fmt: skip
    transform.add_argument("--seed", type=int, default=0, help="seed of the conditions")
    transform.add_argument("--out", required=True, help="new folder for the conditioned copy")
    # --- end conditions ---
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from voicelab.datasets import load_dataset
    from voicelab.execution.recipe import PipelineRecipe
    from voicelab.execution.settings import run_settings_from_dict
    from voicelab.metrics.cost import load_price_table
    from voicelab.progress import TerminalProgress
    from voicelab.report import format_summary, summarize
    from voicelab.run_folder import RunFolder
    from voicelab.runner import RunOptions, run_dataset

    experiment, config = _resolve_experiment(args)
    experiment = replace(experiment, evaluation=_evaluation_table(args, experiment.evaluation))
    assert experiment.dataset is not None
    dataset = pool = load_dataset(experiment.dataset)
    if experiment.max_turns:
        dataset = dataset.head(experiment.max_turns)
    dataset = _conditioned(dataset, experiment, pool)
    RunFolder.open(args.out).check_dataset(dataset)  # refused before any model loads
    loaded = _load_agent(experiment.agent, experiment.dataset)
    experiment = replace(experiment, agent=None if loaded.is_default else loaded.spec)
    api_key = os.environ.get("OPENAI_API_KEY") or None  # secrets are read here, at the edge
    secrets = (api_key,) if api_key else ()
    origin = "the demo support agent (no --agent, no task.toml)" if loaded.is_default else (
        loaded.spec
    )  # fmt: skip
    print(f"agent: {loaded.agent.name} from {origin}", flush=True)
    execution = _execution(args)
    recipe = PipelineRecipe(
        pipeline=experiment.pipeline, config=config,
        agent=None if loaded.is_default else loaded.spec, api_key=api_key,
    )  # fmt: skip
    options = RunOptions(
        save_audio=not args.no_audio, secrets=secrets,
        **run_settings_from_dict(experiment.run, "run"),
    )  # fmt: skip
    evaluator = _evaluator(experiment, options)
    print(f"loading {experiment.pipeline} ({_describe(execution)}) ...", flush=True)
    progress = TerminalProgress()

    async def run(pipeline: Pipeline, executor: Executor) -> pd.DataFrame:
        print(
            f"running {dataset.num_turns} turns of {dataset.name} -> {args.out} "
            f"({options.max_concurrency} at once, up to {options.retry.max_attempts} attempts "
            "each)",
            flush=True,
        )
        return await run_dataset(
            pipeline,
            dataset,
            args.out,
            prices=load_price_table(args.prices),
            price_as=args.price_as,  # trials-cost
            options=options,
            progress=progress,
            experiment=experiment,
            executor=executor,
            evaluator=evaluator,
        )

    try:
        frame = asyncio.run(_executed(execution, recipe, options, run))
    except KeyboardInterrupt:
        progress.close()
        print(
            f"voicelab: interrupted; {progress.tally.done_before + progress.tally.done} "
            f"finished turns are saved in {args.out}. Run the same command again to resume.",
            file=sys.stderr, flush=True,
        )  # fmt: skip
        return EXIT_INTERRUPTED
    progress.close()
    print(format_summary(summarize(frame)))
    _print_trials(frame)  # trials-cost
    return 0


# --- trials-cost ---
def _add_trials_cost_flags(run: argparse.ArgumentParser, report: argparse.ArgumentParser) -> None:
    """``run --repeat K --price-as SPEC``; ``report --prices FILE --price-as SPEC``."""
    run.add_argument(
        "--repeat", type=int, metavar="K",
        help="trials: run each conversation K times, each from fresh state (pass^k, flakiness)",
    )  # fmt: skip
    price_as = (
        "price the usage as if it ran on these models, labelled a projection: STT,LLM,TTS "
        "(chained) or COMPONENT=MODEL,... (e.g. realtime=gpt-realtime)"
    )
    run.add_argument("--price-as", metavar="SPEC", help=price_as)
    report.add_argument(
        "--prices", metavar="FILE",
        help="re-price every row's stored usage with this price table (only cost columns change; "
        "a run made with --price-as keeps its projection unless --price-as is given)",
    )  # fmt: skip
    report.add_argument("--price-as", metavar="SPEC", help=price_as)


def _repriced(args: argparse.Namespace, frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The runs' tables re-priced when ``--prices`` or ``--price-as`` asks for it."""
    if not args.prices and not args.price_as:
        return frames
    from voicelab.costs import reprice, run_pricing
    from voicelab.metrics.cost import load_price_table
    from voicelab.run_folder import load_run_info

    table = load_price_table(args.prices)
    return [
        reprice(frame, run_pricing(load_run_info(run), table, args.price_as, str(run)))
        for run, frame in zip(args.runs, frames, strict=True)
    ]


def _print_trials(frame: pd.DataFrame) -> None:
    """pass^k, pass@k and flakiness, when a conversation ran more than once."""
    from voicelab.report import format_trials
    from voicelab.trials import has_trials, trial_summary

    if has_trials(frame):
        print(format_trials(trial_summary(frame)))


# --- end trials-cost ---


# --- execution (worker processes, Ray) ---
def _execution(args: argparse.Namespace) -> ExecutionSettings:
    from voicelab.execution.choose import execution_settings

    return execution_settings(args.executor, args.workers, args.ray_address)


def _describe(execution: ExecutionSettings) -> str:
    if execution.executor == "local":
        return "in this process"
    where = f" at {execution.ray_address}" if execution.ray_address else ""
    unit = "Ray actors" if execution.executor == "ray" else "worker processes"
    return f"{execution.workers} {unit}{where}"


async def _executed(
    execution: ExecutionSettings,
    recipe: PipelineRecipe,
    options: RunOptions,
    run: Callable[[Pipeline, Executor], Awaitable[pd.DataFrame]],
) -> pd.DataFrame:
    """``run`` with the pipeline and executor ``execution`` asks for, released afterwards."""
    from voicelab.execution.choose import open_execution

    async with open_execution(execution, recipe, options) as (pipeline, executor):
        return await run(pipeline, executor)


# --- end execution ---


# --- evaluators ---
def _add_evaluation_flags(run: argparse.ArgumentParser) -> None:
    """Flags of the evaluations after each turn (the experiment's ``[evaluation]`` table)."""
    from voicelab.evaluation.settings import DEFAULT_KEY_ENV, LOCAL_STT

    run.add_argument(
        "--judge-model", metavar="MODEL",
        help="score each turn with this judge model (task done, grounded, fit for speech)",
    )  # fmt: skip
    run.add_argument(
        "--judge-base-url", metavar="URL",
        help="the judge's OpenAI-compatible API root, e.g. http://127.0.0.1:8765/v1 "
        "(default: the OpenAI cloud)",
    )  # fmt: skip
    run.add_argument(
        "--judge-key-env", metavar="NAME",
        help=f"environment variable holding the judge's key (default {DEFAULT_KEY_ENV})",
    )  # fmt: skip
    run.add_argument("--judge-rubric", metavar="FILE", help="text file: the judge's rubric")
    run.add_argument(
        "--agent-wer", nargs="?", const=LOCAL_STT, metavar="MODEL",
        help="transcribe the agent's audio back and score it against its text (agent_wer): "
        f"'{LOCAL_STT}' (the default) is the embedded Whisper, a folder another CTranslate2 "
        "Whisper, else a model served at --agent-wer-base-url",
    )  # fmt: skip
    run.add_argument("--agent-wer-base-url", metavar="URL", help="API root of the agent_wer STT")
    run.add_argument(
        "--agent-wer-key-env", metavar="NAME",
        help=f"environment variable holding the agent_wer STT's key (default {DEFAULT_KEY_ENV})",
    )  # fmt: skip


def _evaluation_table(args: argparse.Namespace, table: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's ``[evaluation]`` table with the evaluation flags applied, checked."""
    from voicelab.evaluation.settings import evaluation_table

    data = copy.deepcopy(dict(table))
    flags = {
        "judge": {"model": ("--judge-model", args.judge_model),
                  "base_url": ("--judge-base-url", args.judge_base_url),
                  "api_key_env": ("--judge-key-env", args.judge_key_env),
                  "rubric": ("--judge-rubric", args.judge_rubric)},
        "agent_wer": {"model": ("--agent-wer", args.agent_wer),
                      "base_url": ("--agent-wer-base-url", args.agent_wer_base_url),
                      "api_key_env": ("--agent-wer-key-env", args.agent_wer_key_env)},
    }  # fmt: skip
    for section, values in flags.items():
        given = {key: value for key, (_, value) in values.items() if value is not None}
        if given and "model" not in given and section not in data:
            named = ", ".join(flag for flag, value in values.values() if value is not None)
            raise ConfigError(f"{named} needs {values['model'][0]} (or [evaluation.{section}])")
        if given:
            data[section] = {**data.get(section, {}), **given}
    return evaluation_table(data, Path.cwd(), "evaluation")


def _evaluator(experiment: Experiment, options: RunOptions) -> Evaluator | None:
    """The evaluator of the experiment's ``[evaluation]`` table; keys read here, at the edge."""
    from voicelab.evaluation import build_evaluator, evaluation_settings_from_dict

    settings = evaluation_settings_from_dict(experiment.evaluation)
    return build_evaluator(settings, retry=options.retry, secrets=options.secrets)


# --- end evaluators ---


def _resolve_experiment(args: argparse.Namespace) -> tuple[Experiment, Any]:
    """The experiment file, overridden by flags, with its config built as the pipeline's class."""
    from voicelab.config_io import config_from_dict, config_to_dict, parse_assignment, set_nested
    from voicelab.datasets.formats import resolve_spec
    from voicelab.registry import pipeline_entry

    experiment = load_experiment(args.config) if args.config else Experiment()
    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "pipeline": args.pipeline,
            "dataset": resolve_spec(args.dataset) if args.dataset else None,
            "agent": args.agent,
            "max_turns": args.max_turns,
            **_condition_overrides(args),
        }.items()
        if value is not None
    }
    experiment = replace(experiment, **overrides)
    entry = pipeline_entry(experiment.pipeline)  # an unknown name is the first thing to say
    if experiment.dataset is None:
        raise ConfigError("no dataset: give --dataset, or a --config that names one")
    fields = {f.name for f in dataclasses.fields(entry.config_class)}
    data = copy.deepcopy(dict(experiment.config))
    for flag, (paths, _) in _CONFIG_FLAGS.items():
        value = getattr(args, flag.replace("-", "_"))
        if value is None:
            continue
        path = next((p for p in paths if p.split(".")[0] in fields), None)
        if path is None:
            raise ConfigError(
                f"--{flag} does not apply to {experiment.pipeline} "
                f"({entry.config_class.__name__} has {', '.join(sorted(fields))})"
            )
        set_nested(data, path.split("."), value)
    for assignment in args.settings:
        set_nested(data, *parse_assignment(assignment))
    experiment = replace(experiment, run=_run_table(args, experiment.run))
    if "base_url" in fields and data.get("base_url") is None:
        data["base_url"] = os.environ.get("OPENAI_BASE_URL") or None
    config = config_from_dict(entry.config_class, data, "config")
    return replace(experiment, config=config_to_dict(config)), config


def _run_table(args: argparse.Namespace, table: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's ``[run]`` table with the execution flags applied, checked."""
    from voicelab.execution.settings import run_settings_from_dict

    run = copy.deepcopy(dict(table))
    if args.concurrency is not None:
        run["concurrency"] = args.concurrency
    if args.max_attempts is not None:
        run.setdefault("retry", {})["max_attempts"] = args.max_attempts
    if args.repeat is not None:  # trials-cost
        run["repeat"] = args.repeat
    for name in ("rpm", "tpm"):
        for text in getattr(args, name):
            kind, _, value = text.rpartition("=")
            try:
                limit = float(value)
            except ValueError:
                raise ConfigError(f"--{name} expects [ENDPOINT=]N, not {text!r}") from None
            run.setdefault("rate_limits", {}).setdefault(name, {})[kind or "*"] = limit
    run_settings_from_dict(run, "run")  # refused now, before any model loads
    return run


def _load_agent(spec: str | None, dataset_path: str) -> LoadedAgent:
    """The agent named by --agent/--config, else by the dataset's task.toml, else the demo."""
    from voicelab.agent.loading import default_agent, load_agent
    from voicelab.datasets.task import read_task

    if spec is not None:
        return load_agent(spec)
    task = read_task(dataset_path)
    if task is not None and task.agent is not None:
        return load_agent(task.agent, base_dir=task.folder)
    return default_agent()


# --- conditions ---
def _condition_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The experiment fields --condition and --condition-seed set (conditions canonical)."""
    from voicelab.datasets.conditions import parse_chain

    conditions = tuple(c.text for c in parse_chain(args.conditions)) if args.conditions else None
    return {"conditions": conditions, "condition_seed": args.condition_seed}


def _conditioned(dataset: Dataset, experiment: Experiment, pool: Dataset) -> Dataset:
    """``dataset`` with the experiment's conditions applied (babble drawn from ``pool``)."""
    from voicelab.datasets.conditions import apply_conditions

    if not experiment.conditions:
        return dataset
    print(f"conditions: {'; '.join(experiment.conditions)} (seed {experiment.condition_seed})")
    return apply_conditions(dataset, experiment.conditions, experiment.condition_seed, pool)


def _cmd_transform(args: argparse.Namespace) -> int:
    from voicelab.datasets import load_dataset
    from voicelab.datasets.conditions import conditioned_name, conditioned_turns, parse_chain
    from voicelab.datasets.writing import copy_task, save_turns

    conditions = parse_chain(args.conditions)  # refused before any audio is read
    source = load_dataset(args.source)
    manifest = save_turns(conditioned_turns(source, conditions, args.seed), args.out)
    copy_task(args.source, args.out)
    name = conditioned_name(source.name, conditions, args.seed)
    print(f"wrote {source.num_turns} turns of {name} to {manifest}")
    return 0


# --- end conditions ---


def _cmd_serve(args: argparse.Namespace) -> int:
    from voicelab.server.faults import FaultConfig, load_fault_config
    from voicelab.server.runner import LocalServer
    from voicelab.server.state import ServerConfig

    if args.host not in _LOOPBACK and not args.allow_remote:
        raise ConfigError(f"--host {args.host} is not loopback; add --allow-remote to expose it")
    faults = load_fault_config(args.faults) if args.faults else FaultConfig()
    if args.fault_seed is not None:
        faults = replace(faults, seed=args.fault_seed)
    if args.api_key is not None:
        raise ConfigError(
            "--api-key is not accepted: a key on the command line shows in `ps`; "
            f"export {SERVER_KEY_ENV}=... (or name another variable with --api-key-env)"
        )
    api_key = os.environ.get(args.api_key_env) or None  # secrets are read here, at the edge
    config = ServerConfig(
        host=args.host, port=args.port, api_key=api_key, faults=faults, backend=args.backend,
        request_log=Path(args.request_log) if args.request_log else None,
    )  # fmt: skip
    if api_key:
        print(f"voicelab serve: requiring the key from ${args.api_key_env}", flush=True)
    else:
        print(f"voicelab serve: no key required (${args.api_key_env} is not set)", flush=True)
    what = "the embedded models" if args.backend == "local" else "the synthetic backend (no models)"
    print(f"voicelab serve: loading {what} ...", flush=True)
    server = LocalServer(config).start()
    print(f"voicelab serve: listening on {server.base_url}", flush=True)
    print(f"  export OPENAI_BASE_URL={server.base_url}")
    key_hint = f"${args.api_key_env}" if api_key else "any-non-empty-string"
    print(f"  export OPENAI_API_KEY={key_hint}")
    print(f"  realtime: {server.realtime_url}?model=gpt-realtime   (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from voicelab.report import build_report, format_report
    from voicelab.run_folder import load_run
    from voicelab.stats import BootstrapConfig

    config = BootstrapConfig(confidence=args.confidence, seed=args.seed)
    frames = [load_run(r) for r in args.runs]
    frames = _repriced(args, frames)  # trials-cost
    if len({name for f in frames for name in f["run_id"].unique()}) < len(frames):
        frames = [f.assign(run_id=str(r)) for f, r in zip(frames, args.runs, strict=True)]
    report = build_report(frames, by=args.by, config=config)
    print(format_report(report))
    if args.csv:
        report.summary.to_csv(args.csv, index=False)
    if args.html:
        from voicelab.html_report import ReportRun, write_html_report

        runs = [ReportRun(Path(r), f) for r, f in zip(args.runs, frames, strict=True)]
        print(f"wrote {write_html_report(args.html, report, runs, audio=args.audio)}")
    elif args.audio:
        raise ConfigError("--audio embeds audio in the HTML report: give --html FILE too")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    if args.datasets_command in ("synth", "render"):
        return _cmd_synth(args)
    if args.datasets_command == "transform":
        return _cmd_transform(args)
    return _cmd_datasets_corpora(args)  # --- corpora: list, show ---


# --- corpora ---
def _cmd_datasets_corpora(args: argparse.Namespace) -> int:
    """``datasets list``: the datasets under folders; ``datasets show``: one dataset's turns."""
    from voicelab.datasets import catalog, load_dataset
    from voicelab.datasets.formats import detect_format, parse_spec

    if args.datasets_command == "list":
        roots = [Path(r) for r in args.roots]
        found = catalog.find_datasets(
            roots or catalog.default_roots(os.environ.get(catalog.DATA_ENV)), required=bool(roots)
        )
        print(catalog.format_summaries(catalog.summarize_dataset(p, f) for p, f in found))
        return 0
    dataset = load_dataset(args.path)
    explicit, source, _ = parse_spec(args.path)
    detected = detect_format(source)
    format_name = explicit or (detected.name if detected else "?")
    print(
        f"{dataset.name} ({format_name}): {len(dataset.conversations)} conversations, "
        f"{dataset.num_turns} turns, languages {','.join(catalog.languages(dataset))}"
    )
    for conversation in dataset:
        for turn in conversation.turns:
            print(f"  {catalog.describe_turn(turn)}")
    return 0


# --- end corpora ---


# --- synth ---
def _synth_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--script", required=True, help="JSONL (a conversation a line) or YAML")
    parser.add_argument("--out", required=True, help="dataset folder to write (or update)")
    parser.add_argument(
        "--tts", choices=("piper", "openai"), default="piper",
        help="piper: the embedded voice (default); openai: an OpenAI-compatible "
        "/v1/audio/speech (the cloud, or `voicelab serve` with --base-url)",
    )  # fmt: skip
    parser.add_argument(
        "--voice", help="piper: an .onnx voice file (default: the embedded one); openai: a voice "
        "name (default alloy). A turn's own `voice` overrides it",
    )  # fmt: skip
    parser.add_argument("--base-url", help="openai: API root (default $OPENAI_BASE_URL or cloud)")
    parser.add_argument("--model", help="openai: TTS model (default gpt-4o-mini-tts)")
    parser.add_argument(
        "--response-format", choices=("wav", "pcm", "flac", "mp3", "opus"), default="wav",
        help="openai: audio format asked for (saved as WAV either way)",
    )  # fmt: skip
    parser.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", metavar="NAME",
        help="openai: environment variable holding the key (default OPENAI_API_KEY)",
    )  # fmt: skip
    parser.add_argument("--snr-db", type=float, help=argparse.SUPPRESS)  # refused with a pointer


def _cmd_synth(args: argparse.Namespace) -> int:
    from voicelab.datasets.script import read_script
    from voicelab.datasets.synthesis import synthesize_script
    from voicelab.datasets.tts import SpeechSynthesizer

    if args.datasets_command == "render":
        print("voicelab: `datasets render` is renamed `datasets synth`", file=sys.stderr)
    if args.snr_db is not None:
        raise ConfigError(
            "--snr-db is gone from synth: noise is a condition now; speak the script, then "
            "`voicelab datasets transform DIR --condition noise=white,snr_db=N --out DIR2`"
        )
    read_script(args.script)  # a bad script is refused before a voice loads
    synthesizer: SpeechSynthesizer
    if args.tts == "openai":
        from voicelab.datasets.tts_openai import OpenAISpeech, OpenAISpeechConfig

        settings = {"model": args.model, "voice": args.voice}
        config = OpenAISpeechConfig(
            base_url=args.base_url or os.environ.get("OPENAI_BASE_URL") or None,
            response_format=args.response_format,
            **{k: v for k, v in settings.items() if v is not None},
        )
        api_key = os.environ.get(args.api_key_env) or None  # secrets are read here, at the edge
        synthesizer = OpenAISpeech(config, api_key=api_key)
    else:
        from voicelab.datasets.tts_piper import PiperSpeech

        if args.model or args.base_url:
            raise ConfigError("--model and --base-url are for --tts openai")
        synthesizer = PiperSpeech(args.voice)

    def report(turn: Any, reused: bool) -> None:
        what = "reused" if reused else "spoke "
        print(f"  {what} {turn.conversation_id}#{turn.turn_index}", flush=True)

    summary = synthesize_script(args.script, args.out, synthesizer, on_turn=report)
    print(f"wrote {summary.manifest} ({summary.spoken} turns spoken, {summary.reused} reused)")
    return 0


# --- end synth ---


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voicelab`` console script."""
    args = _parser().parse_args(argv)
    commands = {
        "run": _cmd_run,
        "report": _cmd_report,
        "serve": _cmd_serve,
        "datasets": _cmd_datasets,
    }
    try:
        return commands[args.command](args)
    except VoicelabError as e:
        print(f"voicelab: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
