#!/usr/bin/env bash
# Build the llama.cpp server (llama-cpp-python[server]) into a venv of its own, once per machine.
#
#   bash scripts/engines/llamacpp.sh          # prints the venv's python; instant when already built
#
# The venv lives at $TUNEGATE_ENGINES/llamacpp-$VERSION (default ~/.cache/tunegate/engines), keyed by
# version, so a version bump builds a new one. It is a source build (~3 min on 2 cores):
# GGML_NATIVE=OFF gives a portable binary (no -march=native), so a cache copied between machines of
# one kind still runs. The stamp file is written only after the build and an import check succeed;
# a failed or interrupted build removes its folder, so no half cache is ever used.
# tests/models/test_llamacpp_server.py and bench/openai_server.py find the venv the same way.
set -euo pipefail

VERSION="${LLAMACPP_VERSION:-0.3.16}"
PYTHON="${PYTHON:-python3}"
ROOT="${TUNEGATE_ENGINES:-$HOME/.cache/tunegate/engines}"
DIR="$ROOT/llamacpp-$VERSION"
STAMP="$DIR/.tunegate-built"

check() { "$DIR/bin/python" -c "import llama_cpp, llama_cpp.server.app; assert llama_cpp.__version__ == '$VERSION'"; }

mkdir -p "$ROOT"
exec 9>"$ROOT/llamacpp-$VERSION.lock"
flock 9  # one build at a time per machine; a second caller waits, then finds the stamp

if [[ -f "$STAMP" ]] && check 2>/dev/null; then
    echo "llama.cpp server $VERSION: cached at $DIR" >&2
    echo "$DIR/bin/python"
    exit 0
fi

echo "llama.cpp server $VERSION: building into $DIR (source build, ~3 min on 2 cores)" >&2
rm -rf "$DIR"
trap 'rm -rf "$DIR"; echo "llama.cpp build failed; removed $DIR" >&2' ERR INT TERM
started=$SECONDS
"$PYTHON" -m venv "$DIR"
"$DIR/bin/python" -m pip install -q --upgrade pip
CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$DIR/bin/python" -m pip install -q "llama-cpp-python[server]==$VERSION"
check
date -u +%FT%TZ >"$STAMP"
trap - ERR INT TERM
echo "llama.cpp server $VERSION: built in $((SECONDS - started)) s" >&2
echo "$DIR/bin/python"
