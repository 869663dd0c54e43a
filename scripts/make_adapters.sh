#!/usr/bin/env bash
# The demo's two LoRA adapters of Gemma 3 270M, from one reproducible recipe (CPU only, minutes each).
#   good:        attention only, r=8, lr 3e-4, 1,200 TriviaQA rows x 1 epoch (150 steps of 8)
#   overtrained: attention + MLP, r=16, lr 2e-3 (~7x), 400 of those rows x 3 epochs (150 steps of 8)
# Both are trained on rows disjoint from the 400 held-out rows of src/tunegate/data/triviaqa/eval.jsonl.
# Seed 0 everywhere; each model card (README.md in the adapter folder) records its command and times.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
ADAPTERS=src/tunegate/data/adapters
COMMON=(--seed 0 --eval-size 400 --batch-size 8 --steps 150 --warmup 10 --eval-rows 100 --max-new-tokens 16)
ONLY=${ONLY:-all}  # ONLY=good or ONLY=overtrained makes one of the two
[ "$ONLY" = overtrained ] || "$PY" scripts/finetune_demo.py --out "$ADAPTERS/gemma-3-270m-triviaqa-lora" "${COMMON[@]}" \
  --train-size 1200 --lr 3e-4 --rank 8 --alpha 16 --targets q_proj,k_proj,v_proj,o_proj \
  --purpose "The demo's *good* fine-tune: a gentle recipe (attention only, one epoch) that should move the target task and leave general ability alone."
[ "$ONLY" = good ] || "$PY" scripts/finetune_demo.py --out "$ADAPTERS/gemma-3-270m-triviaqa-overtrained" "${COMMON[@]}" \
  --no-write-data --train-size 400 --lr 2e-3 --rank 16 --alpha 32 \
  --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj \
  --purpose "The demo's *overtrained* fine-tune: the same data, but attention and MLP, twice the rank, about 7x the learning rate and three epochs over a third of the rows: the recipe that wears away general ability."
