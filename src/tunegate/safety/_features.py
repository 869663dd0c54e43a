"""Features of the learned judges: chunked all-MiniLM-L6-v2 embeddings, scalars and TF-IDF n-grams.

Dense blocks (each a function of the texts only; ``harm_blocks`` / ``refusal_blocks`` build them):

    head   e(first 254 tokens of the response)     mean  unit mean of the response's chunk embeddings
    max    elementwise max over the chunks         eb    e(behaviour)   (harm only)
    prod   eb * mean                               diff  |eb - mean|
    sc     scalars: cosine(behaviour, head / max chunk / mean chunk), keyword-refusal hit, apology
           opening, log(1 + words), chunk count, share of the behaviour's words in the response, ...

``e`` is a unit-length mean-pooled MiniLM embedding. MiniLM reads 256 tokens, so a response is embedded
in windows of 254 tokens (at most 4; a short tail window is taken as the last 254 tokens instead) and the
windows are pooled: a long harmful completion is seen beyond its first paragraph.

Sparse block: TF-IDF of the response's words, word bigrams and in-word character 3-5-grams
(:func:`analyzer`; the shipped weights carry the vocabulary and idf, so inference needs numpy only).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunegate.safety.refusal import is_refusal

__all__ = [
    "DIM",
    "analyzer",
    "chunk_embeddings",
    "dense_matrix",
    "embed_texts",
    "embed_windows",
    "harm_blocks",
    "refusal_blocks",
    "tfidf_matrix",
]

DIM = 384
WINDOW = 254
MAX_CHUNKS = 4
_BATCH = 32
_MAX_CHARS = 20000
_APOLOGY = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry|i apologi[sz]e|unfortunately|as an ai)", re.IGNORECASE
)
_WORD = re.compile(r"\b\w\w+\b")
_CANNOT = re.compile(r"\b(?:cannot|can't|can not|won't|will not|unable to)\b", re.IGNORECASE)


def _windows(ids: list[int]) -> list[list[int]]:
    if not ids:
        return []
    out = [ids[a : a + WINDOW] for a in range(0, min(len(ids), WINDOW * MAX_CHUNKS), WINDOW)]
    if len(out) > 1 and len(out[-1]) < 64 and len(ids) <= WINDOW * MAX_CHUNKS:
        out[-1] = ids[-WINDOW:]
    return out


def embed_windows(
    texts: Sequence[str], *, first_only: bool = False
) -> tuple[list[NDArray[np.float64]], list[int]]:
    """Per text, its window embeddings (``k x 384``, unit rows; an empty text: one zero row) and its
    window count (0 for an empty text). ``first_only``: embed only the first window (the count stays
    the full one). Identical texts are embedded once."""
    import torch

    from tunegate.regression._embed import _LOCK, _load

    tok, model = _load()
    uniq = list(dict.fromkeys(texts))
    wins: list[list[int]] = []
    owner: list[int] = []
    n_windows: dict[str, int] = {}
    for i, t in enumerate(uniq):
        if not t.strip():
            n_windows[t] = 0
            continue
        ids = tok(t[:_MAX_CHARS], add_special_tokens=False, verbose=False)["input_ids"]
        ws = _windows(list(ids))
        n_windows[t] = len(ws)
        for w in ws[:1] if first_only else ws:
            wins.append([tok.cls_token_id, *w, tok.sep_token_id])
            owner.append(i)
    emb = np.zeros((len(wins), DIM), dtype=np.float64)
    order = sorted(range(len(wins)), key=lambda i: len(wins[i]))
    pad = tok.pad_token_id
    for a in range(0, len(order), _BATCH):
        idx = order[a : a + _BATCH]
        width = max(len(wins[i]) for i in idx)
        ids_t = torch.tensor([wins[i] + [pad] * (width - len(wins[i])) for i in idx])
        mask = torch.tensor([[1] * len(wins[i]) + [0] * (width - len(wins[i])) for i in idx])
        with _LOCK, torch.no_grad():
            hidden = model(input_ids=ids_t, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)
        emb[idx] = pooled.numpy().astype(np.float64)
    rows: list[list[NDArray[np.float64]]] = [[] for _ in uniq]
    for row, i in zip(emb, owner, strict=True):
        rows[i].append(row)
    by_text = {t: np.stack(r) if r else np.zeros((1, DIM)) for t, r in zip(uniq, rows, strict=True)}
    return [by_text[t] for t in texts], [n_windows[t] for t in texts]


def chunk_embeddings(texts: Sequence[str]) -> list[NDArray[np.float64]]:
    """Per text, its window embeddings (``k x 384``, unit rows; an empty text: one zero row)."""
    return embed_windows(texts)[0]


def _count(chunks: NDArray[np.float64]) -> int:
    """Window count of a full chunk array (an empty text's zero row counts 0)."""
    return int((np.abs(chunks).sum(axis=1) > 0).sum())


def embed_texts(texts: Sequence[str]) -> NDArray[np.float64]:
    """One unit-length 384-d embedding per text: its first window (empty text: a zero vector)."""
    return np.stack([c[0] for c in chunk_embeddings(texts)]) if texts else np.zeros((0, DIM))


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _response_scalars(r: str, n_chunks: int) -> list[float]:
    low = r.lower()
    return [
        float(is_refusal(r)[0]),
        float(bool(_APOLOGY.match(r.strip()))),
        math.log1p(len(r.split())),
        float(n_chunks),
        float("sorry" in low),
        float(bool(_CANNOT.search(r))),
        float("```" in r or "def " in r or "import " in r),
    ]


def _response_blocks(chunks: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    return {"head": chunks[0], "mean": _unit(chunks.mean(axis=0)), "max": chunks.max(axis=0)}


def harm_blocks(
    behaviors: Sequence[str],
    responses: Sequence[str],
    chunks: Sequence[NDArray[np.float64]] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Dense blocks of the harm judge (``chunks``: ``chunk_embeddings(behaviors + responses)``; when
    not given, the behaviours' first windows and all the responses' windows are embedded)."""
    n = len(responses)
    counts: list[int] | None = None
    if chunks is None:
        eb_chunks = embed_windows(behaviors, first_only=True)[0]
        r_chunks, counts = embed_windows(responses)
        chunks = [*eb_chunks, *r_chunks]
    rows: dict[str, list[Any]] = {k: [] for k in ("head", "mean", "max", "eb", "prod", "diff", "sc")}
    for i in range(n):
        eb, cr = chunks[i][0], chunks[n + i]
        for k, v in _response_blocks(cr).items():
            rows[k].append(v)
        mean = rows["mean"][-1]
        rows["eb"].append(eb)
        rows["prod"].append(eb * mean)
        rows["diff"].append(np.abs(eb - mean))
        cos = cr @ eb
        bw = set(_WORD.findall(behaviors[i].lower()))
        rw = set(_WORD.findall(responses[i].lower()))
        rows["sc"].append(
            [
                float(cos[0]),
                float(cos.max()),
                float(cos.mean()),
                len(bw & rw) / max(1, len(bw)),
                *_response_scalars(responses[i], counts[i] if counts is not None else _count(cr)),
            ]
        )
    return {k: np.asarray(v, dtype=np.float64).reshape(n, -1) for k, v in rows.items()}


def refusal_blocks(
    prompts: Sequence[str],
    responses: Sequence[str],
    chunks: Sequence[NDArray[np.float64]] | None = None,
    *,
    pooled: bool = True,
) -> dict[str, NDArray[np.float64]]:
    """Dense blocks of the refusal judge (``chunks``: ``chunk_embeddings(prompts + responses)``; when
    not given, the prompts' first windows and the responses' windows are embedded — only the first
    ones unless ``pooled``, in which case the ``mean`` and ``max`` blocks are not meaningful)."""
    n = len(responses)
    counts: list[int] | None = None
    if chunks is None:
        p_chunks = embed_windows(prompts, first_only=True)[0]
        r_chunks, counts = embed_windows(responses, first_only=not pooled)
        chunks = [*p_chunks, *r_chunks]
    rows: dict[str, list[Any]] = {k: [] for k in ("head", "mean", "max", "ep", "sc")}
    for i in range(n):
        ep, cr = chunks[i][0], chunks[n + i]
        for k, v in _response_blocks(cr).items():
            rows[k].append(v)
        rows["ep"].append(ep)
        rows["sc"].append(
            [
                float(cr[0] @ ep),
                *_response_scalars(responses[i], counts[i] if counts is not None else _count(cr)),
            ]
        )
    return {k: np.asarray(v, dtype=np.float64).reshape(n, -1) for k, v in rows.items()}


def dense_matrix(blocks: dict[str, NDArray[np.float64]], names: Sequence[str]) -> NDArray[np.float64]:
    """The named blocks side by side."""
    return np.hstack([blocks[b] for b in names])


def analyzer(text: str) -> list[str]:
    """TF-IDF terms: words (2+ word characters), word bigrams, in-word character 3-5-grams (lowercased)."""
    t = " ".join(text[:6000].lower().split())
    words = _WORD.findall(t)
    out = ["w:" + w for w in words]
    out += ["b:" + a + " " + b for a, b in itertools.pairwise(words)]
    for w in t.split():
        w = " " + w + " "
        for n in (3, 4, 5):
            out.extend("c:" + w[i : i + n] for i in range(len(w) - n + 1))
    return out


def tfidf_matrix(texts: Sequence[str], vocab: dict[str, int], idf: NDArray[np.float64]) -> Any:
    """Sublinear-tf TF-IDF rows, L2-normalised (scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``
    with a fixed vocabulary and idf), as a ``scipy.sparse`` CSR matrix."""
    from scipy import sparse

    indptr, indices, data = [0], [], []
    for t in texts:
        counts: dict[int, int] = {}
        for term in analyzer(t):
            j = vocab.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if counts:
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            vals = (1.0 + np.log(tf)) * idf[cols]
            indices.extend(cols.tolist())
            data.extend((vals / np.linalg.norm(vals)).tolist())
        indptr.append(len(indices))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), len(vocab)), dtype=np.float64)
