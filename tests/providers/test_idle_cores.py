"""Prefill and decode threads by the cores idle at the request: the decision, the machine's own
count, and the engine using it, with real busy processes holding the cores."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from voicelab import ConfigError
from voicelab.pipelines.chained.config import ChainedLocalConfig
from voicelab.providers import idle_cores
from voicelab.providers.idle_cores import (
    burst_threads,
    parse_runnable,
    runnable_threads,
    threads_for_bursts,
    usable_cores,
)
from voicelab.providers.llama_chat import LlamaChatEngine
from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.local_models import new_scoring_llama, set_threads

LINUX = Path("/proc/loadavg").exists()


def test_parse_runnable_reads_the_fourth_field() -> None:
    assert parse_runnable("0.52 1.05 0.87 3/412 98765\n") == 3


@pytest.mark.parametrize("line", ["", "0.5 0.4 0.3", "0.5 0.4 0.3 412 7", "a b c x/y z"])
def test_parse_runnable_refuses_what_is_not_a_loadavg_line(line: str) -> None:
    with pytest.raises(ValueError):
        parse_runnable(line)


def test_runnable_threads_is_none_where_the_system_does_not_say(tmp_path: Path) -> None:
    assert runnable_threads(tmp_path / "missing") is None
    garbled = tmp_path / "loadavg"
    garbled.write_text("not a load line")
    assert runnable_threads(garbled) is None


@pytest.mark.parametrize(
    ("wanted", "baseline", "runnable", "cores", "threads"),
    [
        (2, 1, 1, 2, 2),  # only the caller runs: the other core is idle
        (2, 1, 2, 2, 1),  # one other thread holds the other core
        (2, 1, 5, 2, 1),
        (4, 1, 2, 8, 4),  # six idle cores: as many as wanted
        (4, 1, 6, 8, 3),  # two idle cores: the caller and two more
        (2, 1, None, 2, 1),  # load unknown: the baseline
        (2, 1, 1, None, 1),
        (1, 1, 1, 2, 1),  # switched off
        (2, 3, 1, 8, 3),  # never below the baseline
    ],
)
def test_burst_threads_uses_idle_cores_only(
    wanted: int, baseline: int, runnable: int | None, cores: int | None, threads: int
) -> None:
    assert burst_threads(wanted, baseline, runnable, cores) == threads


def test_idle_thread_settings_below_one_are_refused() -> None:
    with pytest.raises(ConfigError, match="idle_prefill_threads"):
        LlamaConfig(idle_prefill_threads=0)
    with pytest.raises(ConfigError, match="llm_idle_prefill_threads"):
        ChainedLocalConfig(llm_idle_prefill_threads=0)
    with pytest.raises(ConfigError, match="idle_decode_threads"):
        LlamaConfig(idle_decode_threads=0)
    with pytest.raises(ConfigError, match="llm_idle_decode_threads"):
        ChainedLocalConfig(llm_idle_decode_threads=0)
    with pytest.raises(ConfigError, match="idle_decode_chars"):
        LlamaConfig(idle_decode_chars=-1)
    with pytest.raises(ConfigError, match="llm_idle_decode_chars"):
        ChainedLocalConfig(llm_idle_decode_chars=-1)


@pytest.fixture
def every_core_busy() -> Iterator[int]:
    """One busy-looping process per usable core, running until the test ends; yields the cores."""
    cores = usable_cores()
    assert cores is not None
    # each spins while this process lives: not even a crash of this one leaves them running
    spin = "import os\nparent = os.getppid()\nwhile os.getppid() == parent: pass"
    hogs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(cores)]
    try:
        deadline = time.monotonic() + 30
        while (runnable_threads() or 0) <= cores:  # the hogs plus this reader
            assert time.monotonic() < deadline, "the busy processes never showed as runnable"
            time.sleep(0.05)
        yield cores
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.mark.skipif(not LINUX, reason="the runnable count comes from Linux's /proc/loadavg")
def test_no_extra_thread_while_every_core_is_busy(every_core_busy: int) -> None:
    assert (runnable_threads() or 0) > every_core_busy
    assert threads_for_bursts((every_core_busy + 1, 1), (2, 1)) == (1, 1)


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="the runnable count comes from Linux's /proc/loadavg")
def test_engine_prefills_and_decodes_on_its_baseline_while_every_core_is_busy(
    every_core_busy: int,
) -> None:
    engine = LlamaChatEngine(LlamaConfig(idle_prefill_threads=2, idle_decode_threads=2))
    engine.complete({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 2})
    stats = engine.last_prefill
    assert stats is not None and (stats.threads, stats.decode_threads) == (1, 1)
    context = engine._llm._ctx.ctx
    assert (llama_cpp.llama_n_threads_batch(context), llama_cpp.llama_n_threads(context)) == (1, 1)


@pytest.fixture
def idle_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The load reading says only the caller runs (every other core idle): the decision is
    tested here; the reading itself above, with real busy processes."""
    monkeypatch.setattr(idle_cores, "runnable_threads", lambda: 1)


@pytest.mark.slow
@pytest.mark.usefixtures("idle_machine")
def test_an_answer_decodes_on_idle_cores_until_its_first_words_are_out() -> None:
    engine = LlamaChatEngine(LlamaConfig(idle_decode_threads=2, idle_decode_chars=16))
    if (usable_cores() or 1) < 2:
        pytest.skip("one usable core: there is no idle core to decode on")
    request = {"messages": [{"role": "user", "content": "Tell me a long story about a cat."}]}
    seen = []  # (text before a piece, threads that decoded the piece)
    text = ""
    for chunk in engine.stream({**request, "max_tokens": 24}):
        delta = chunk["choices"][0]["delta"] if chunk["choices"] else {}
        if delta.get("content"):
            seen.append((len(text), llama_cpp.llama_n_threads(engine._llm._ctx.ctx)))
            text += delta["content"]
    assert engine.last_prefill is not None and engine.last_prefill.decode_threads == 2
    assert len(text) > 16, text
    # the text's first 16 characters decode on 2 threads; once they are out, the rest on 1
    assert any(chars >= 16 for chars, _ in seen), seen
    assert all(threads == (2 if chars < 16 else 1) for chars, threads in seen), seen


@pytest.mark.slow
@pytest.mark.usefixtures("idle_machine")
def test_idle_decoding_can_be_switched_off() -> None:
    for config in (LlamaConfig(idle_decode_threads=1), LlamaConfig(idle_decode_chars=0)):
        engine = LlamaChatEngine(config)
        engine.complete({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 2})
        assert engine.last_prefill is not None and engine.last_prefill.decode_threads == 1


@pytest.mark.slow
@pytest.mark.parametrize("path", ["prefill", "decode"])
def test_threads_do_not_change_the_logits(path: str) -> None:
    # llama.cpp gives each output row to one thread: 1 or 2 threads compute the same numbers,
    # so choosing them by the machine's load cannot change an answer
    llm = new_scoring_llama(LlamaConfig(), 256)
    tokens = llm.tokenize(b"Where is my order 4521? It has not arrived and I am worried.")
    logits = []
    for threads in (1, 2):
        llm.reset()
        if path == "prefill":  # the prompt in one batch
            set_threads(llm, 1, threads)
            llm.eval(tokens)
        else:  # one token at a time, after a short batch
            set_threads(llm, threads, 1)
            llm.eval(tokens[:4])
            for token in tokens[4:]:
                llm.eval([token])
        context = llm._ctx.ctx
        used = llama_cpp.llama_n_threads_batch if path == "prefill" else llama_cpp.llama_n_threads
        assert used(context) == threads
        logits.append(np.array(llm.scores[: len(tokens)]))
    assert np.array_equal(logits[0], logits[1])
