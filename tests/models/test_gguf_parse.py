"""One shared GGUF header parse during conversion: same fields and tensors, the patch undone after."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from tunegate.models._gguf_parse import one_gguf_parse


def _write(path: Path) -> None:
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_token_list([f"tok{i}" for i in range(300)])
    w.add_token_scores([float(-i) for i in range(300)])
    w.add_tensor("token_embd.weight", np.arange(24, dtype=np.float32).reshape(4, 6))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _summary(reader: object) -> tuple[object, ...]:
    fields = reader.fields  # type: ignore[attr-defined]
    tokens = fields["tokenizer.ggml.tokens"]
    words = [bytes(tokens.parts[i]).decode() for i in tokens.data]
    (t,) = reader.tensors  # type: ignore[attr-defined]
    return (list(fields), words, t.name, np.asarray(t.data).tolist())


def test_one_parse_per_file_with_the_same_content(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    _write(path)
    plain = gguf.GGUFReader(path)
    original = gguf.GGUFReader
    with one_gguf_parse():
        first = gguf.GGUFReader(path)
        again = gguf.GGUFReader(str(path))
        assert first is again  # transformers' three reads share one parse
        assert type(first.data) is np.ndarray  # slices of a plain array, not of a memmap subclass
        assert _summary(first) == _summary(plain)
        assert _summary(first)[1][:3] == ["tok0", "tok1", "tok2"]
    assert gguf.GGUFReader is original
    assert gguf.GGUFReader(path) is not first  # outside the block: a fresh reader each time


def test_the_patch_is_undone_when_the_block_raises(tmp_path: Path) -> None:
    original = gguf.GGUFReader
    try:
        with one_gguf_parse():
            raise RuntimeError("conversion failed")
    except RuntimeError:
        pass
    assert gguf.GGUFReader is original
