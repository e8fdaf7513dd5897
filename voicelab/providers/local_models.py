"""Explicit, cached factories: each local model loads once per process and configuration."""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from voicelab._imports import require
from voicelab.errors import ModelError
from voicelab.providers.local_config import LlamaConfig, PiperConfig, WhisperConfig


def load_whisper(config: WhisperConfig) -> Any:
    """A faster-whisper ``WhisperModel`` for ``config`` (configs differing only in how it is
    called share one)."""
    return _load_whisper(config.model_path, config.compute_type, config.cpu_threads)


@lru_cache(maxsize=4)
def _load_whisper(model_path: str, compute_type: str, cpu_threads: int) -> Any:
    faster_whisper = require("faster_whisper")
    try:
        return faster_whisper.WhisperModel(
            model_path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads
        )
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelError(f"cannot load Whisper model from {model_path}: {e}") from e


@lru_cache(maxsize=4)
def load_piper(config: PiperConfig) -> Any:
    """A ``piper.PiperVoice`` for ``config``."""
    piper = require("piper")
    try:
        voice = piper.PiperVoice.load(config.model_path)
        if config.threads is not None:  # piper's loader takes no session options
            voice.session = _onnx_session(config.model_path, config.threads)
        return voice
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelError(f"cannot load Piper voice from {config.model_path}: {e}") from e


def _onnx_session(model_path: str, threads: int) -> Any:
    """An onnxruntime CPU session using at most ``threads`` threads, none of them spinning."""
    onnxruntime = require("onnxruntime")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        model_path, sess_options=options, providers=["CPUExecutionProvider"]
    )


@dataclass(frozen=True)
class _LlamaLoad:
    """What loading a llama.cpp model depends on (the rest of ``LlamaConfig`` is per request)."""

    model_path: str
    n_ctx: int
    n_threads: int
    n_threads_batch: int
    seed: int
    extra_buffer_types: bool
    logits_all: bool

    @classmethod
    def of(cls, config: LlamaConfig, logits_all: bool, n_ctx: int | None = None) -> _LlamaLoad:
        return cls(
            config.model_path,
            config.n_ctx if n_ctx is None else n_ctx,
            config.n_threads,
            config.n_threads_batch,
            config.seed,
            config.extra_buffer_types,
            logits_all,
        )


def load_llama(config: LlamaConfig) -> Any:
    """A ``llama_cpp.Llama`` for ``config``; configs that differ only in how requests are
    served (not in how the model is loaded) share one."""
    return _load_llama(_LlamaLoad.of(config, logits_all=False))


@lru_cache(maxsize=4)
def _load_llama(load: _LlamaLoad) -> Any:
    return _new_llama(load)


def load_llamas_anew() -> None:
    """Make ``load_llama`` load a new model from now on, even for settings loaded before:
    what holds a model already keeps it, and its KV cache, to itself (so arms of a comparison
    do not meet each other's cached prompts)."""
    _load_llama.cache_clear()


def _new_llama(load: _LlamaLoad) -> Any:
    llama_cpp = require("llama_cpp")
    try:
        with _model_defaults(llama_cpp, load.extra_buffer_types):
            llm = llama_cpp.Llama(
                model_path=load.model_path,
                n_ctx=load.n_ctx,
                n_threads=load.n_threads,
                n_threads_batch=load.n_threads_batch,
                seed=load.seed,
                logits_all=load.logits_all,
                verbose=False,
            )
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelError(f"cannot load GGUF model from {load.model_path}: {e}") from e
    _close_at_exit(llm)
    return llm


def _close_at_exit(llm: Any) -> None:
    """Free ``llm`` at exit while the interpreter is whole (llama.cpp's finaliser fails at
    module teardown), without keeping it alive until then: a model nobody holds is freed."""
    held = weakref.ref(llm)

    def close() -> None:
        alive = held()
        if alive is not None:
            alive.close()

    atexit.register(close)


def new_scoring_llama(config: LlamaConfig, n_ctx: int) -> Any:
    """A new ``llama_cpp.Llama`` over ``config``'s weights (not cached: each call is a context
    of its own) that keeps the logits of every position, to score text rather than generate."""
    return _new_llama(_LlamaLoad.of(config, logits_all=True, n_ctx=n_ctx))


_DEFAULTS_LOCK = threading.Lock()


@contextmanager
def _model_defaults(llama_cpp: Any, extra_buffer_types: bool) -> Iterator[None]:
    """While a ``Llama`` is built: llama.cpp's model defaults, with its extra weight buffers
    switched off unless ``extra_buffer_types`` (``Llama`` takes no argument for them, so its
    source of defaults is swapped for the build and put back, under a lock every build holds).
    A llama-cpp-python without the setting builds with llama.cpp's defaults unchanged."""
    module = llama_cpp.llama_cpp
    with _DEFAULTS_LOCK:  # held either way: no build sees another's swapped defaults
        if extra_buffer_types or not hasattr(module.llama_model_params, "use_extra_bufts"):
            yield
            return
        default = module.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = default()
            params.use_extra_bufts = False
            return params

        module.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            module.llama_model_default_params = default


def set_threads(llm: Any, n_threads: int, n_threads_batch: int) -> None:
    """Threads of ``llm``'s next evaluations: one token at a time, and prompt batches
    (llama.cpp reads both at every evaluation)."""
    llm._ctx.set_n_threads(n_threads, n_threads_batch)


@lru_cache(maxsize=16)
def model_lock(model_id: int) -> threading.Lock:
    """The one lock of a loaded model: every wrapper around the same weights shares it, since
    llama.cpp, CTranslate2 and piper objects serve one call at a time."""
    return threading.Lock()
