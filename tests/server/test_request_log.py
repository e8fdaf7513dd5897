"""The server's request log: one JSON line per request, written as the server sees it."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
from openai import AsyncOpenAI

from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

KEY = "sk-request-log-0123456789abcdef"
TIMEOUT_S = 30.0


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_one_line_per_request_with_its_facts(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    config = ServerConfig(port=0, backend="synthetic", request_log=log, api_key=KEY)
    before = time.time()
    with LocalServer(config) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        for _ in range(3):
            await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]
            )
        await client.audio.speech.create(
            model="tts-1", voice="alloy", input="Hi.", response_format="pcm"
        )
        async with httpx2.AsyncClient(base_url=server.base_url) as raw:
            unauthorised = await raw.get("/models")
            missing = await raw.get("/nope", headers={"Authorization": f"Bearer {KEY}"})
            limited = await raw.post(
                "/chat/completions", json={"model": "gpt-4o", "messages": []},
                headers={"Authorization": f"Bearer {KEY}",
                         "x-voicelab-faults": '{"error_rate": 1, "error_status": 429}'},
            )  # fmt: skip
        assert (unauthorised.status_code, missing.status_code, limited.status_code) == (
            401, 404, 429,
        )  # fmt: skip
        lines = _lines(log)
    after = time.time()
    assert [(e["endpoint"], e["method"], e["path"], e["status"]) for e in lines] == [
        ("chat", "POST", "/v1/chat/completions", 200),
        ("chat", "POST", "/v1/chat/completions", 200),
        ("chat", "POST", "/v1/chat/completions", 200),
        ("speech", "POST", "/v1/audio/speech", 200),
        (None, "GET", "/v1/models", 401),  # refused before any route: no endpoint
        (None, "GET", "/v1/nope", 404),
        ("chat", "POST", "/v1/chat/completions", 429),
    ]
    assert all(e["kind"] == "http" for e in lines)
    times = [e["time"] for e in lines]
    assert before <= times[0] and times == sorted(times) and times[-1] <= after
    assert all(0 <= e["processing_ms"] <= e["total_ms"] < 10_000 for e in lines)
    assert KEY not in log.read_text() and "uthorization" not in log.read_text()


async def test_realtime_sessions_and_responses_are_logged(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with LocalServer(ServerConfig(port=0, backend="synthetic", request_log=log)) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(
                session={"type": "realtime", "audio": {"input": {"turn_detection": None}}}
            )
            pcm = np.zeros(12_000, "<i2").tobytes()
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm).decode())
            await conn.input_audio_buffer.commit()
            for _ in range(2):
                await conn.response.create()
                async for event in conn:
                    if event.type == "response.done":
                        break
        lines = _lines(log)
    events = sorted(e["event"] for e in lines)
    assert events == ["response.create", "response.create", "session.open", "transcription"]
    opened = next(e for e in lines if e["event"] == "session.open")
    assert opened["status"] == 101 and opened["path"] == "/v1/realtime"
    assert all(e["kind"] == "realtime" and e["processing_ms"] >= 0 for e in lines)


def test_no_log_without_a_path(tmp_path: Path) -> None:
    with LocalServer(ServerConfig(port=0, backend="synthetic")) as server:
        assert httpx2.get(f"{server.base_url}/models").status_code == 200
        assert not server.state.request_log.enabled
    assert list(tmp_path.iterdir()) == []
