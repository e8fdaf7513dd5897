"""Start and stop the local server: in-process (a uvicorn thread) or as a subprocess."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from types import TracebackType

import uvicorn

from voicelab.errors import ServerError
from voicelab.server.app import create_app
from voicelab.server.state import ServerConfig, ServerState
from voicelab.server.streams import CutStreamFilter

_START_TIMEOUT_S = 120.0  # loading the three models takes a few seconds; building caches more
_POLL_S = 0.02
_SHUTDOWN_GRACE_S = 2  # a stalled stream (fault injection) must not hold shutdown forever
# Idle keep-alive connections stay open longer than clients keep them (httpx: 5 s, uvicorn's
# default too): a server closing one just as a client reuses it fails that request.
KEEP_ALIVE_S = 65
_CUT_STREAM_FILTER = CutStreamFilter()  # one instance: adding it again is a no-op


class LocalServer:
    """``with LocalServer(ServerConfig(port=0)) as server: server.base_url`` — in this process."""

    def __init__(
        self, config: ServerConfig | None = None, state: ServerState | None = None
    ) -> None:
        self.config = config or ServerConfig(port=0)
        self.state = state or ServerState(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, what ``OPENAI_BASE_URL`` should be."""
        return f"http://{self.config.host}:{self.port}/v1"

    @property
    def realtime_url(self) -> str:
        """``ws://host:port/v1/realtime``."""
        return f"ws://{self.config.host}:{self.port}/v1/realtime"

    def start(self, load_models: bool = True) -> LocalServer:
        """Load the models, bind, and return once the server accepts connections."""
        if load_models:
            self.state.load_models()
        app = create_app(state=self.state)
        uv_config = uvicorn.Config(
            app, host=self.config.host, port=self.config.port, log_level="warning",
            ws="websockets-sansio", lifespan="off", timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=_SHUTDOWN_GRACE_S,
        )  # fmt: skip
        # after uvicorn configured its loggers: a stream cut on purpose is logged once, by us
        logging.getLogger("uvicorn.error").addFilter(_CUT_STREAM_FILTER)
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(target=self._server.run, name="voicelab-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerError(
                    f"local server did not start on {self.config.host}:{self.config.port}"
                )
            time.sleep(_POLL_S)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
        self._server = self._thread = None
        self.state.request_log.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SubprocessServer:
    """``voicelab serve`` in a child process, on a free port; stops it on exit."""

    def __init__(self, *args: str, api_key: str | None = None) -> None:
        self._args = args
        self._api_key = api_key
        self._process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._drain: threading.Thread | None = None
        self.base_url = ""

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def output(self) -> str:
        """Everything the server printed so far."""
        return "".join(self._lines)

    def __enter__(self) -> SubprocessServer:
        env = dict(os.environ)
        if self._api_key:
            env["VOICELAB_SERVER_API_KEY"] = self._api_key
        self._process = subprocess.Popen(
            [sys.executable, "-m", "voicelab.cli", "serve", "--port", "0", *self._args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        assert self._process.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        for line in self._process.stdout:
            self._lines.append(line)
            found = re.search(r"(http://\S+/v1)", line)
            if found:
                self.base_url = found.group(1)
                stdout = self._process.stdout
                # keep reading, or a full pipe would block the server's logging
                self._drain = threading.Thread(
                    target=self._lines.extend, args=(stdout,), daemon=True
                )
                self._drain.start()
                return self
            if time.monotonic() > deadline:
                break
        self.__exit__(None, None, None)
        raise ServerError("voicelab serve did not print its address")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
            if self._drain is not None:
                self._drain.join(timeout=5)
            self._process = None
