"""A tiny transformers causal LM built in memory from a config: random weights, no download.

The tokenizer is byte-level (every UTF-8 byte is a token, no merges), built with the ``tokenizers``
library, so it needs no vocabulary file from a hub.
"""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]


def build_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_chars = list(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(SPECIALS + sorted(byte_chars))}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tk.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )


def build_tiny_model(folder: Path, seed: int = 0, untied: bool = False) -> Path:
    """Write a tiny Gemma-3-shaped model (random weights) and its tokenizer to ``folder``.

    With tied embeddings the random model mostly repeats its last token; ``untied`` gives it an output
    layer of its own, so its greedy text varies and sometimes ends with EOS (for generation tests).
    """
    import torch
    from transformers import AutoModelForCausalLM, Gemma3TextConfig

    tok = build_tokenizer()
    cfg = Gemma3TextConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=512,
        sliding_window=64,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        layer_types=["sliding_attention", "full_attention"],
        tie_word_embeddings=not untied,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    with torch.no_grad():  # bigger random weights so the model's choices are not all ties
        for p in model.parameters():
            p.normal_(0, 0.5)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_tiny_adapter(model_dir: Path, folder: Path, seed: int = 1) -> Path:
    """Write a LoRA adapter with random (non-zero) weights for the tiny model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(folder)
    return folder
