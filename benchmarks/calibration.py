"""Calibrate voicelab's latency measurement against a delay injected at the local server.

    .venv/bin/python benchmarks/calibration.py [--clips 12] [--delay-ms 300]

Runs the first turn of each fsdd-sample conversation through chained-openai against a plain and
a delayed local server (``ttfb_ms`` on transcriptions and speech), one after the other, after
one warm-up turn each. For STT (``stt_s``) and TTS (``tts_ttfb_s``) it prints, per clip, the
measured stage time less the server's reported processing time (``openai-processing-ms``) on
each server and their difference minus the injected delay; then the median, min and max of
that over the clips, and the difference of the two servers' floors (minimum over the clips)
minus the injected delay, the figure the calibration test holds to within 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path

from voicelab import (
    CALIBRATED_STAGES,
    CalibrationPair,
    ChainedOpenAIConfig,
    LocalServer,
    Pipeline,
    ServerConfig,
    build_pipeline,
    calibration_pairs,
    floor_delay_s,
    load_dataset,
)
from voicelab.server.faults import FaultConfig, with_endpoint

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _pipeline(base_url: str) -> Pipeline:
    # no tool call: the stages calibrated are STT and TTS
    config = ChainedOpenAIConfig(base_url=base_url, tool_choice="none")
    return build_pipeline("chained-openai", config=config)


def _report(pairs: list[CalibrationPair], delay_s: float) -> None:
    print(f"{'turn':<16}{'stage':<6}{'plain_ms':>10}{'delayed_ms':>12}{'minus_inj_ms':>14}")
    for pair in pairs:
        print(
            f"{pair.turn_id:<16}{pair.stage:<6}{pair.plain_s * 1000:>10.2f}"
            f"{pair.delayed_s * 1000:>12.2f}{(pair.delay_s - delay_s) * 1000:>14.2f}"
        )
    for stage, column in CALIBRATED_STAGES.items():
        errors_ms = [(p.delay_s - delay_s) * 1000 for p in pairs if p.stage == stage]
        floor_ms = (floor_delay_s(pairs, stage) - delay_s) * 1000
        print(
            f"{column}: measured - injected over {len(errors_ms)} clips: median "
            f"{statistics.median(errors_ms):+.2f} ms, min {min(errors_ms):+.2f}, "
            f"max {max(errors_ms):+.2f}; floors {floor_ms:+.2f} ms"
        )


async def _main(clips: int, delay_ms: float) -> None:
    faults = with_endpoint(FaultConfig(), "transcriptions", ttfb_ms=delay_ms)
    faults = with_endpoint(faults, "speech", ttfb_ms=delay_ms)
    dataset = load_dataset(SHARED / "fsdd-sample").head(clips + 1)  # the first warms up
    with (
        LocalServer(ServerConfig(port=0)) as plain,
        LocalServer(ServerConfig(port=0, faults=faults)) as delayed,
    ):
        pairs = await calibration_pairs(
            _pipeline(plain.base_url), _pipeline(delayed.base_url), dataset
        )
    _report(pairs, delay_ms / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=12, help="fsdd-sample clips to pair")
    parser.add_argument("--delay-ms", type=float, default=300.0, help="injected delay")
    args = parser.parse_args()
    asyncio.run(_main(args.clips, args.delay_ms))


if __name__ == "__main__":
    main()
