"""The ``voicelab`` command: run a pipeline over a dataset, report a run, render datasets."""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicelab.errors import ConfigError, VoicelabError
from voicelab.experiment import Experiment, load_experiment

if TYPE_CHECKING:
    from voicelab.agent.loading import LoadedAgent

_LOOPBACK = ("127.0.0.1", "localhost", "::1")

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

    serve = sub.add_parser("serve", help="local OpenAI-compatible server on the embedded models")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default loopback only)")
    serve.add_argument("--allow-remote", action="store_true", help="permit a non-loopback --host")
    serve.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one")
    serve.add_argument(
        "--api-key", help="require this bearer key (default $VOICELAB_SERVER_API_KEY; none: open)"
    )
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
    render = dsub.add_parser("render", help="speak a text script into a dataset with piper")
    render.add_argument("--script", required=True, help="JSONL script, a conversation per line")
    render.add_argument("--out", required=True, help="dataset folder to write")
    render.add_argument("--snr-db", type=float, help="mix white noise at this SNR")
    render.add_argument("--voice", help="piper .onnx voice (default: the embedded one)")
    show = dsub.add_parser("show", help="list a dataset's conversations and turns")
    show.add_argument("path", help="manifest or folder")
    return parser


def _print_row(row: Mapping[str, Any]) -> None:
    v2v = row.get("voice_to_voice_s")
    status = f"ERROR {row['error_type']}: {row['error']}" if row.get("error") else (
        f"v2v {v2v:.2f}s" if v2v is not None else "no audio"
    )  # fmt: skip
    print(f"  {row['turn_id']:<24} {status}", flush=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from voicelab.datasets import load_dataset
    from voicelab.metrics.cost import load_price_table
    from voicelab.registry import build_pipeline
    from voicelab.report import format_summary, summarize
    from voicelab.run_folder import RunFolder
    from voicelab.runner import RunOptions, run_dataset

    experiment, config = _resolve_experiment(args)
    assert experiment.dataset is not None
    dataset = load_dataset(experiment.dataset)
    if experiment.max_turns:
        dataset = dataset.head(experiment.max_turns)
    RunFolder.open(args.out).check_dataset(dataset)  # refused before any model loads
    loaded = _load_agent(experiment.agent, experiment.dataset)
    experiment = replace(experiment, agent=None if loaded.is_default else loaded.spec)
    api_key = os.environ.get("OPENAI_API_KEY") or None  # secrets are read here, at the edge
    secrets = (api_key,) if api_key else ()
    origin = "the demo support agent (no --agent, no task.toml)" if loaded.is_default else (
        loaded.spec
    )  # fmt: skip
    print(f"agent: {loaded.agent.name} from {origin}", flush=True)
    print(f"loading {experiment.pipeline} ...", flush=True)
    pipeline = build_pipeline(
        experiment.pipeline, agent=loaded.agent, config=config, api_key=api_key
    )
    print(f"running {dataset.num_turns} turns of {dataset.name} -> {args.out}", flush=True)
    frame = asyncio.run(
        run_dataset(
            pipeline,
            dataset,
            args.out,
            prices=load_price_table(args.prices),
            options=RunOptions(save_audio=not args.no_audio, secrets=secrets),
            progress=_print_row,
            experiment=experiment,
        )
    )
    print(format_summary(summarize(frame)))
    return 0


def _resolve_experiment(args: argparse.Namespace) -> tuple[Experiment, Any]:
    """The experiment file, overridden by flags, with its config built as the pipeline's class."""
    from voicelab.config_io import config_from_dict, config_to_dict, parse_assignment, set_nested
    from voicelab.registry import pipeline_entry

    experiment = load_experiment(args.config) if args.config else Experiment()
    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "pipeline": args.pipeline,
            "dataset": str(Path(args.dataset).resolve()) if args.dataset else None,
            "agent": args.agent,
            "max_turns": args.max_turns,
        }.items()
        if value is not None
    }
    experiment = replace(experiment, **overrides)
    if experiment.dataset is None:
        raise ConfigError("no dataset: give --dataset, or a --config that names one")
    entry = pipeline_entry(experiment.pipeline)
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
    if "base_url" in fields and data.get("base_url") is None:
        data["base_url"] = os.environ.get("OPENAI_BASE_URL") or None
    config = config_from_dict(entry.config_class, data, "config")
    return replace(experiment, config=config_to_dict(config)), config


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


def _cmd_serve(args: argparse.Namespace) -> int:
    from voicelab.server.faults import FaultConfig, load_fault_config
    from voicelab.server.runner import LocalServer
    from voicelab.server.state import ServerConfig

    if args.host not in _LOOPBACK and not args.allow_remote:
        raise ConfigError(f"--host {args.host} is not loopback; add --allow-remote to expose it")
    faults = load_fault_config(args.faults) if args.faults else FaultConfig()
    if args.fault_seed is not None:
        faults = replace(faults, seed=args.fault_seed)
    api_key = args.api_key or os.environ.get("VOICELAB_SERVER_API_KEY") or None
    config = ServerConfig(
        host=args.host, port=args.port, api_key=api_key, faults=faults, backend=args.backend,
        request_log=Path(args.request_log) if args.request_log else None,
    )  # fmt: skip
    what = "the embedded models" if args.backend == "local" else "the synthetic backend (no models)"
    print(f"voicelab serve: loading {what} ...", flush=True)
    server = LocalServer(config).start()
    print(f"voicelab serve: listening on {server.base_url}", flush=True)
    print(f"  export OPENAI_BASE_URL={server.base_url}")
    key_hint = "<the key given to --api-key>" if api_key else "any-non-empty-string"
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
    from voicelab.datasets import load_dataset
    from voicelab.datasets.synthesis import piper_synthesizer, render_script

    if args.datasets_command == "render":
        manifest = render_script(args.script, args.out, piper_synthesizer(args.voice), args.snr_db)
        print(f"wrote {manifest}")
        return 0
    dataset = load_dataset(args.path)
    print(f"{dataset.name}: {len(dataset.conversations)} conversations, {dataset.num_turns} turns")
    for conversation in dataset:
        for turn in conversation.turns:
            print(f"  {turn.turn_id:<24} {turn.reference_text or ''}")
    return 0


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
