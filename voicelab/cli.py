"""The ``voicelab`` command: run a pipeline over a dataset, report a run, render datasets."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from voicelab.errors import ConfigError, VoicelabError
from voicelab.providers.openai_endpoint import (
    AGENT_APIS,
    DEFAULT_LLM_MODEL,
    DEFAULT_STT_MODEL,
    DEFAULT_TTS_MODEL,
    OpenAIEndpoint,
)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicelab", description="Compare voice-agent architectures on recorded speech."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a pipeline over every turn of a dataset")
    run.add_argument("--pipeline", default="chained-local", help="registered pipeline name")
    run.add_argument("--dataset", required=True, help="manifest (.csv/.jsonl) or folder")
    run.add_argument("--out", required=True, help="run folder; rerunning resumes it")
    run.add_argument("--max-turns", type=int, help="only the first conversations up to N turns")
    run.add_argument("--whisper-model", help="local STT: CTranslate2 Whisper folder")
    run.add_argument("--llm-model", help="local LLM: GGUF chat model")
    run.add_argument("--piper-voice", help="local TTS: piper .onnx voice")
    run.add_argument("--tool-choice", help="agent tool_choice: required/auto (pipeline default)")
    run.add_argument(
        "--base-url", help="OpenAI pipelines: API root (default $OPENAI_BASE_URL or the cloud)"
    )
    run.add_argument("--stt-model", default=DEFAULT_STT_MODEL, help="OpenAI pipelines: STT model")
    run.add_argument(
        "--model", help=f"agent model ({DEFAULT_LLM_MODEL}) or realtime model (gpt-realtime)"
    )
    run.add_argument("--url", help="realtime: full WebSocket URL (Azure, self-hosted)")
    run.add_argument("--voice", default="alloy", help="realtime: output voice")
    run.add_argument(
        "--turn-detection", choices=("server_vad", "manual"), default="server_vad",
        help="realtime: server VAD finds the turn end, or voicelab commits it",
    )  # fmt: skip
    run.add_argument("--tts-model", default=DEFAULT_TTS_MODEL, help="OpenAI pipelines: TTS model")
    run.add_argument("--agent-api", choices=AGENT_APIS, default="responses", help="agent model API")
    run.add_argument("--request-timeout", type=float, default=60.0, help="seconds per API request")
    run.add_argument("--max-retries", type=int, default=0, help="API client retries")
    run.add_argument("--tts-buffer-size", type=int, default=1, help="SDK TTS chunks per event")
    run.add_argument("--turn-timeout", type=float, default=120.0, help="seconds per turn")
    run.add_argument(
        "--input-mode", choices=("static", "streamed"), default="static",
        help="chained: whole clip, or a stream whose turn end the STT session's VAD finds",
    )  # fmt: skip
    run.add_argument(
        "--feed", choices=("fast", "realtime"), default="fast",
        help="streamed audio as fast as possible or paced like a microphone",
    )  # fmt: skip
    run.add_argument("--chunk-ms", type=float, default=20.0, help="streamed chunk length")
    run.add_argument("--prices", help="price table TOML overriding the shipped one")
    run.add_argument("--no-audio", action="store_true", help="do not save agent audio")

    report = sub.add_parser("report", help="summarise one or more run folders")
    report.add_argument("runs", nargs="+", help="run folders")
    report.add_argument("--csv", help="also write the summary to this CSV file")

    serve = sub.add_parser("serve", help="local OpenAI-compatible server on the embedded models")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default loopback only)")
    serve.add_argument("--allow-remote", action="store_true", help="permit a non-loopback --host")
    serve.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one")
    serve.add_argument(
        "--api-key", help="require this bearer key (default $VOICELAB_SERVER_API_KEY; none: open)"
    )
    serve.add_argument("--faults", help="TOML fault-injection file (see voicelab/server/faults.py)")
    serve.add_argument("--fault-seed", type=int, help="seed of the injected faults' random choices")

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
    from voicelab.pipelines.chained_config import ChainedConfig
    from voicelab.pipelines.feeding import FeedConfig
    from voicelab.registry import PipelineOptions, build_pipeline
    from voicelab.report import format_summary, summarize
    from voicelab.run_folder import RunFolder
    from voicelab.runner import RunOptions, run_dataset

    dataset = load_dataset(args.dataset)
    if args.max_turns:
        dataset = dataset.head(args.max_turns)
    RunFolder.open(args.out).check_dataset(dataset)  # refused before any model loads
    options = PipelineOptions(
        whisper_model_path=args.whisper_model,
        piper_voice_path=args.piper_voice,
        llm_model_path=args.llm_model,
        tool_choice=args.tool_choice,
        chained=ChainedConfig(
            tts_buffer_size=args.tts_buffer_size,
            turn_timeout_s=args.turn_timeout,
            input_mode=args.input_mode,
        ),
        feed=FeedConfig(mode=args.feed, chunk_ms=args.chunk_ms),
        endpoint=None if args.pipeline == "chained-local" else _endpoint(args),
        stt_model=args.stt_model,
        llm_model=args.model or DEFAULT_LLM_MODEL,
        realtime_model=args.model or "gpt-realtime",
        realtime_url=args.url,
        realtime_voice=args.voice,
        turn_detection=args.turn_detection,
        tts_model=args.tts_model,
        agent_api=args.agent_api,
    )
    secrets = (options.endpoint.api_key,) if options.endpoint and options.endpoint.api_key else ()
    print(f"loading {args.pipeline} ...", flush=True)
    pipeline = build_pipeline(args.pipeline, options)
    print(f"running {dataset.num_turns} turns of {dataset.name} -> {args.out}", flush=True)
    frame = asyncio.run(
        run_dataset(
            pipeline,
            dataset,
            args.out,
            prices=load_price_table(args.prices),
            options=replace(RunOptions(), save_audio=not args.no_audio, secrets=secrets),
            progress=_print_row,
        )
    )
    print(format_summary(summarize(frame)))
    return 0


def _endpoint(args: argparse.Namespace) -> OpenAIEndpoint:
    """Secrets and URLs come from the environment here, at the edge, and nowhere else."""
    return OpenAIEndpoint(
        api_key=os.environ.get("OPENAI_API_KEY") or None,
        base_url=args.base_url or os.environ.get("OPENAI_BASE_URL") or None,
        timeout_s=args.request_timeout,
        max_retries=args.max_retries,
    )


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
    config = ServerConfig(host=args.host, port=args.port, api_key=api_key, faults=faults)
    print("voicelab serve: loading the embedded models ...", flush=True)
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
    import pandas as pd

    from voicelab.report import format_summary, summarize
    from voicelab.run_folder import load_run

    frame = pd.concat([load_run(r) for r in args.runs], ignore_index=True)
    summary = summarize(frame)
    print(format_summary(summary))
    if args.csv:
        summary.to_csv(args.csv)
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
