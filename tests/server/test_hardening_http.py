"""The HTTP server as a hostile client meets it: oversized, malformed, slow and vanishing requests.

None of these requests needs model work: the server starts without loading models and every
request here must be refused (or cut) before any model would load.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
import soundfile as sf

from voicelab.server.faults import FAULT_HEADER
from voicelab.server.runner import LocalServer
from voicelab.server.state import MAX_BODY_BYTES, ServerConfig
from voicelab.server.validation import validate_chat_request

MIB = 1024 * 1024
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}
FLAT_TOOL = {"type": "function", "name": "lookup_order", "parameters": {"type": "object"}}
USER = [{"role": "user", "content": "hi"}]
SLOW_BODY_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def bare() -> Iterator[LocalServer]:
    """A server that has loaded no model, with a short body timeout."""
    server = LocalServer(ServerConfig(port=0, body_timeout_s=SLOW_BODY_TIMEOUT_S))
    server.start(load_models=False)
    try:
        yield server
    finally:
        server.stop()


def _assert_openai_error(response: httpx2.Response, status: int, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    assert error["message"]
    if param is not None:
        assert error["param"] == param, error


def _multipart_head(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()


# 1. the upload limit holds for bytes actually read, chunked or not


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/chat/completions"])
def test_chunked_upload_over_the_limit_is_413_before_it_is_read(
    bare: LocalServer, path: str
) -> None:
    sent = 0
    boundary = "voicelab-boundary"

    def upload() -> Iterator[bytes]:  # no Content-Length: sent with chunked transfer encoding
        nonlocal sent
        if path.endswith("transcriptions"):
            yield _multipart_head(boundary)
        for _ in range(100):
            sent += MIB
            yield b"\0" * MIB

    content_type = (
        f"multipart/form-data; boundary={boundary}"
        if path.endswith("transcriptions")
        else "application/json"
    )
    response = httpx2.post(
        f"http://127.0.0.1:{bare.port}{path}",
        content=upload(),
        headers={"content-type": content_type},
        timeout=60,
    )
    _assert_openai_error(response, 413)
    assert response.json()["error"]["code"] == "request_too_large"
    # the server stopped reading at the limit: the rest of the 100 MiB was never asked for
    assert sent < MAX_BODY_BYTES + 16 * MIB, f"the client sent {sent / MIB:.0f} MiB"


# 2. and 3. bad input is a 400 in OpenAI's shape, before any model work or stream starts


def _chat(**fields: Any) -> tuple[str, dict[str, Any]]:
    return "/v1/chat/completions", {"model": "gpt-4o", "messages": USER, **fields}


def _responses(**fields: Any) -> tuple[str, dict[str, Any]]:
    return "/v1/responses", {"model": "gpt-4o", "input": "hi", **fields}


NONSENSE_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "nonsense"}}}
BAD_JSON_REQUESTS: dict[str, tuple[tuple[str, dict[str, Any]], str]] = {
    # item 2: these gave 500
    "content-int": (_chat(messages=[{"role": "user", "content": 123}]), "messages[0].content"),
    "tools-ints": (_chat(tools=[1, 2]), "tools[0]"),
    "tool-schema-nonsense": (
        _chat(tools=[NONSENSE_TOOL]),
        "tools[0].function.parameters",
    ),
    "tool-schema-string": (
        _chat(tools=[{"type": "function", "function": {"name": "f", "parameters": "x"}}]),
        "tools[0].function.parameters",
    ),
    "tool-schema-nonsense-streamed": (
        _chat(stream=True, tools=[NONSENSE_TOOL]),
        "tools[0].function.parameters",
    ),
    "chat-function-without-name": (
        _chat(tools=[{"type": "function", "function": {"parameters": {"type": "object"}}}]),
        "tools[0].function.name",
    ),
    "responses-function-without-name": (
        _responses(tools=[{"type": "function", "parameters": {"type": "object"}}]),
        "tools[0].name",
    ),
    "responses-function-name-int": (
        _responses(tools=[{"type": "function", "name": 7, "parameters": {"type": "object"}}]),
        "tools[0].name",
    ),
    "responses-tool-schema-nonsense-streamed": (
        _responses(stream=True, tools=[{**FLAT_TOOL, "parameters": {"type": "nonsense"}}]),
        "tools[0].parameters",
    ),
    # item 3: these were accepted
    "unknown-role": (_chat(messages=[{"role": "wizard", "content": "hi"}]), "messages[0].role"),
    "temperature-high": (_chat(temperature=3), "temperature"),
    "temperature-negative": (_chat(temperature=-0.5), "temperature"),
    "max-tokens-zero": (_chat(max_tokens=0), "max_tokens"),
    "max-tokens-negative": (_chat(max_tokens=-5), "max_tokens"),
    "max-tokens-absurd": (_chat(max_tokens=10**12), "max_tokens"),
    "max-completion-tokens-zero": (_chat(max_completion_tokens=0), "max_completion_tokens"),
    "max-output-tokens-zero": (_responses(max_output_tokens=0), "max_output_tokens"),
    "responses-temperature-high": (_responses(temperature=2.5), "temperature"),
    "n-two": (_chat(n=2), "n"),
    "tool-choice-invalid": (_chat(tool_choice="sometimes", tools=[TOOL]), "tool_choice"),
    "tool-choice-required-no-tools": (_chat(tool_choice="required"), "tool_choice"),
    "tool-choice-unknown-function": (
        _chat(tools=[TOOL], tool_choice={"type": "function", "function": {"name": "nope"}}),
        "tool_choice",
    ),
    "responses-tool-choice-required-no-tools": (_responses(tool_choice="required"), "tool_choice"),
    "responses-tool-choice-unknown-function": (
        _responses(tools=[FLAT_TOOL], tool_choice={"type": "function", "name": "nope"}),
        "tool_choice",
    ),
    "user-content-null": (
        _chat(messages=[{"role": "user", "content": None}]), "messages[0].content"
    ),
    "user-content-dict": (
        _chat(messages=[{"role": "user", "content": {"type": "text", "text": "hi"}}]),
        "messages[0].content",
    ),
    "system-content-missing": (
        _chat(messages=[{"role": "system"}, *USER]),
        "messages[0].content",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_JSON_REQUESTS))
def test_bad_json_request_is_a_400_in_openais_shape(bare: LocalServer, case: str) -> None:
    (path, body), param = BAD_JSON_REQUESTS[case]
    response = httpx2.post(f"http://127.0.0.1:{bare.port}{path}", json=body, timeout=30)
    _assert_openai_error(response, 400, param)


def test_what_the_sdks_send_is_accepted() -> None:
    """Assistant turns with tool calls and no content, tool results, content parts: valid."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup_order", "arguments": '{"order_id": "452"}'},
    }
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "be kind"}]},
            {"role": "user", "content": [{"type": "text", "text": "where is order 452?"}]},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
            {"role": "assistant", "content": "It shipped."},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [TOOL], "tool_choice": "required", "temperature": 0, "max_tokens": 64,
        "stream": True, "stream_options": {"include_usage": True}, "n": 1,
    }  # fmt: skip
    validate_chat_request(body)


def test_multipart_without_a_boundary_is_a_400(bare: LocalServer) -> None:
    response = httpx2.post(
        f"http://127.0.0.1:{bare.port}/v1/audio/transcriptions",
        content=b"--x\r\n\r\n--x--\r\n",
        headers={"content-type": "multipart/form-data"},
    )
    _assert_openai_error(response, 400)


def test_multipart_with_too_many_fields_is_a_400(bare: LocalServer) -> None:
    boundary = "b"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n'
        for i in range(1001)
    )
    response = httpx2.post(
        f"http://127.0.0.1:{bare.port}/v1/audio/transcriptions",
        content=f"{parts}--{boundary}--\r\n".encode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    _assert_openai_error(response, 400)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/nope", 404), ("GET", "/", 404), ("GET", "/v1/chat/completions", 405),
     ("DELETE", "/v1/models", 405)],
)  # fmt: skip
def test_unknown_paths_and_wrong_methods_answer_json(
    bare: LocalServer, method: str, path: str, status: int
) -> None:
    response = httpx2.request(method, f"http://127.0.0.1:{bare.port}{path}")
    _assert_openai_error(response, status)


# 5. a slow body times out; an injected fault is one log line


def _read_all(sock: socket.socket, deadline_s: float) -> bytes:
    """Everything the server sends until it closes the connection (or the deadline passes)."""
    sock.settimeout(deadline_s)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(
    ("path", "content_type", "start"),
    [("/v1/chat/completions", "application/json", b'{"'),
     ("/v1/audio/transcriptions", "multipart/form-data; boundary=b", b"--")],
)  # fmt: skip
def test_a_slow_body_times_out_with_408_and_the_connection_closes(
    bare: LocalServer, path: str, content_type: str, start: bytes
) -> None:
    assert bare.port is not None
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", bare.port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            "Content-Length: 100\r\n\r\n".encode()
            + start
        )
        received = _read_all(sock, deadline_s=SLOW_BODY_TIMEOUT_S + 10)
    elapsed = time.monotonic() - started
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), received[:200]
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert SLOW_BODY_TIMEOUT_S <= elapsed < SLOW_BODY_TIMEOUT_S + 5


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record of the server's and uvicorn's loggers (uvicorn's do not reach the root)."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("voicelab.server", "uvicorn", "asyncio")]
    level = loggers[0].level
    loggers[0].setLevel(logging.INFO)  # the server's notes on clients that left are INFO
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        loggers[0].setLevel(level)
        for logger in loggers:
            logger.removeHandler(handler)


def test_an_injected_drop_is_one_log_line_not_a_traceback(
    bare: LocalServer, server_logs: list[logging.LogRecord]
) -> None:
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.get(
            f"http://127.0.0.1:{bare.port}/v1/models",
            headers={FAULT_HEADER: json.dumps({"drop_rate": 1, "drop_after_chunks": 0})},
        )
    deadline = time.monotonic() + 5
    while not any("injected drop" in r.getMessage() for r in server_logs):
        assert time.monotonic() < deadline, [r.getMessage() for r in server_logs]
        time.sleep(0.01)
    # a request after the drop shows the server has finished with it (and logged all it will)
    assert httpx2.get(f"http://127.0.0.1:{bare.port}/v1/models").status_code == 200
    assert [r.getMessage() for r in server_logs if r.name != "voicelab.server"] == []
    drops = [r for r in server_logs if r.name == "voicelab.server" and r.levelno >= logging.WARNING]
    assert len(drops) == 1 and drops[0].exc_info is None, [r.getMessage() for r in drops]
    assert "/v1/models" in drops[0].getMessage()


# 6. audio too short to transcribe is a 400


def test_a_one_sample_upload_is_too_short(
    bare: LocalServer, no_speech_wavs: dict[str, Path]
) -> None:
    response = httpx2.post(
        f"http://127.0.0.1:{bare.port}/v1/audio/transcriptions",
        data={"model": "whisper-1"},
        files={"file": ("one.wav", no_speech_wavs["one-sample"].read_bytes(), "audio/wav")},
    )
    _assert_openai_error(response, 400, "file")
    assert response.json()["error"]["code"] == "audio_too_short"
    assert "Minimum audio length is 0.1 seconds" in response.json()["error"]["message"]


# 1. and 5. a client that leaves stops the model work it asked for (real models: slow)

# a call that cannot end early: 1500 characters of argument, ~50 s of tokens on this machine
LONG_CALL_TOOL = {
    "type": "function",
    "function": {
        "name": "write_story",
        "parameters": {
            "type": "object",
            "properties": {"story": {"type": "string", "minLength": 1500}},
            "required": ["story"],
        },
    },
}
LONG_CALL = {
    "model": "gpt-4o", "messages": [{"role": "user", "content": "Write a long story."}],
    "tools": [LONG_CALL_TOOL], "tool_choice": "required", "max_tokens": 1000,
}  # fmt: skip
STOPPED_WITHIN_S = 10.0


def _model_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "voicelab-model" and t.is_alive()}


def _assert_work_stops(before: set[threading.Thread], logs: list[logging.LogRecord]) -> None:
    """The model threads started for the request end soon after the client left, and the
    server says once that the client left."""
    deadline = time.monotonic() + STOPPED_WITHIN_S
    while (started := _model_threads() - before) or not any(
        "client left" in r.getMessage() for r in logs
    ):
        assert time.monotonic() < deadline, f"still working: {started}"
        time.sleep(0.05)
    assert not [r for r in logs if r.exc_info], [r.getMessage() for r in logs]


@pytest.mark.slow
def test_a_client_leaving_a_stream_stops_the_generation(
    server: LocalServer, server_logs: list[logging.LogRecord]
) -> None:
    before = _model_threads()
    with httpx2.stream(
        "POST", f"{server.base_url}/chat/completions", json={**LONG_CALL, "stream": True},
        timeout=120,
    ) as response:  # fmt: skip
        assert response.status_code == 200
        first = next(response.iter_bytes())
        assert first.startswith(b"data: ")
        assert _model_threads() - before, "the generation should be under way"
    _assert_work_stops(before, server_logs)


@pytest.mark.slow
def test_a_client_leaving_a_whole_completion_stops_the_generation(
    server: LocalServer, server_logs: list[logging.LogRecord]
) -> None:
    before = _model_threads()
    with pytest.raises(httpx2.ReadTimeout):  # the client gives up, closing its connection
        httpx2.post(f"{server.base_url}/chat/completions", json=LONG_CALL, timeout=2)
    _assert_work_stops(before, server_logs)


@pytest.mark.slow
def test_a_client_leaving_a_transcription_stops_it(
    server: LocalServer, server_logs: list[logging.LogRecord], shared_data: Path, tmp_path: Path
) -> None:
    clip, rate_hz = sf.read(shared_data / "ljspeech-sample" / "LJ001-0002.wav", dtype="float32")
    # 60 of Whisper's 30 s windows, each a sentence then silence: ~0.5 s of decoding apiece
    window = np.concatenate([clip, np.zeros(30 * rate_hz - len(clip), dtype=np.float32)])
    long_flac = tmp_path / "long.flac"  # silence compresses: 30 minutes in a small upload
    sf.write(long_flac, np.tile(window, 60), rate_hz)
    before = _model_threads()
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.post(
            f"{server.base_url}/audio/transcriptions",
            data={"model": "whisper-1"},
            files={"file": ("long.flac", long_flac.read_bytes(), "audio/flac")},
            timeout=3,
        )
    _assert_work_stops(before, server_logs)
