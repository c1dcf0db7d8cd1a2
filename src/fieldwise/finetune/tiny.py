"""Build a tiny causal language model from scratch, offline, for tests and CPU demos.

Nothing is downloaded: a byte-level BPE tokenizer is trained on the given texts with the
``tokenizers`` library and a small Llama-architecture model gets random weights. The
result is a normal Hugging Face model directory (safetensors + tokenizer + chat template)
that every local backend, the fine-tuner and the server load like any other model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '</s>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

_DEFAULT_TEXTS = [
    '{"name":"x","start_date":"2011-01-01","event_type":["detention"],"province":["kabul"]}',
    "An Afghan and coalition security force detained several suspected insurgents.",
    'true false null 0 1 2 3 4 5 6 7 8 9 [ ] { } : , "',
]


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 600,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    seed: int = 0,
) -> Path:
    """Train a tokenizer on ``texts`` and save a randomly initialised tiny Llama model."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corpus = list(texts or []) + _DEFAULT_TEXTS

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS, UNK, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    hf_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=list(ROLE_TOKENS),
    )
    hf_tokenizer.chat_template = CHAT_TEMPLATE
    hf_tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(hf_tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=max(1, num_heads // 2),
        max_position_embeddings=4096,
        bos_token_id=hf_tokenizer.bos_token_id,
        eos_token_id=hf_tokenizer.eos_token_id,
        pad_token_id=hf_tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = hf_tokenizer.pad_token_id
    model.generation_config.eos_token_id = hf_tokenizer.eos_token_id
    model.save_pretrained(out, safe_serialization=True)
    return out


def task_texts(task_name: str = "isaf", data: str | Path | None = None) -> list[str]:
    """Prompts and targets of a task's examples, so the tiny tokenizer covers them well.

    ``data`` defaults to the task's packaged sample; without one, the system prompt alone.
    """
    from fieldwise.tasks import Example, load_task
    from fieldwise.tasks.prompts import render_messages, render_target

    task = load_task(task_name)
    source = data if data is not None else task.sample_path
    examples: list[Example] = []
    if source is not None and Path(source).is_file():
        from fieldwise.data import load_examples

        examples = load_examples(task, source).examples
    texts = [m["content"] for m in render_messages(task, Example("tiny", "-"))]
    for example in examples:
        texts += [m["content"] for m in render_messages(task, example)]
        if example.gold is not None:
            texts.append(render_target(task, example.gold))
    return texts


def main(argv: list[str] | None = None) -> None:
    """``python -m fieldwise.finetune.tiny OUT_DIR [--task T] [--data FILE]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m fieldwise.finetune.tiny",
        description="Build a tiny random Llama model + tokenizer for a task, offline.",
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--task", default="isaf")
    parser.add_argument("--data", default=None, help="examples to train the tokenizer on")
    parser.add_argument("--vocab-size", type=int, default=1000)
    args = parser.parse_args(argv)
    path = build_tiny_model(
        args.out_dir, task_texts(args.task, args.data), vocab_size=args.vocab_size
    )
    print(path)


if __name__ == "__main__":
    main()
