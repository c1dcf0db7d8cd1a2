"""Local LoRA / QLoRA fine-tuning: one config in, one registered adapter out.

A thin layer over TRL's ``SFTTrainer`` and PEFT: the examples are tokenised by
:mod:`fieldwise.finetune.encode` (loss on the completion only), checked by
:mod:`fieldwise.finetune.checks`, trained, saved with the tokenizer the run used, and
described by a ``run_card.json`` so that the result can be traced back to its config and
data. Multi-GPU runs go through ``accelerate launch -m fieldwise.finetune``; nothing
here is distributed by hand.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldwise.errors import UserError, require
from fieldwise.finetune import checks
from fieldwise.finetune.config import FinetuneConfig, load_config
from fieldwise.finetune.encode import Encoded, encode_all
from fieldwise.finetune.runcard import write_run_card
from fieldwise.models._local import require_model_folder
from fieldwise.tasks import Example, Task


@dataclass
class FinetuneResult:
    """What the CLI registers in the store: ``label``, ``spec`` and ``kind``."""

    label: str
    spec: str
    output_dir: Path
    base_model: str
    kind: str = "finetune"
    train_examples: int = 0
    first_loss: float | None = None
    final_loss: float | None = None
    train_seconds: float = 0.0
    tokens_per_s: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _step_timer() -> Any:
    """A trainer callback recording each optimiser step's wall time (for the run card)."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.times: list[float] = []
            self._last = 0.0

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._last = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.times.append(time.perf_counter() - self._last)

    return StepTimer()


def _log(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _device(config: FinetuneConfig) -> str:
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        raise UserError("device: cuda was asked for but no CUDA GPU is visible")
    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.device


def load_tokenizer(config: FinetuneConfig) -> Any:
    """The base model's tokenizer with the config's overrides; PAD falls back to EOS.

    PAD == EOS is safe here because the collator masks padding by position, not by id
    (the padding check verifies exactly that before training).
    """
    from transformers import AutoTokenizer

    require_model_folder(config.base_model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.base_model)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"cannot load the tokenizer of base_model '{config.base_model}': {exc}"
        ) from exc
    if config.eos_token:
        tokenizer.eos_token = config.eos_token
    if config.pad_token:
        tokenizer.pad_token = config.pad_token
    if config.chat_template:
        tokenizer.chat_template = config.chat_template
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _load_examples(config: FinetuneConfig, source: str) -> list[Example]:
    from fieldwise.data import load_examples
    from fieldwise.tasks import load_task

    dataset = load_examples(load_task(config.task), source, limit=config.limit)
    if not dataset.labelled:
        raise UserError(f"{source} is not labelled; fine-tuning needs targets")
    return dataset.examples


def _load_model(config: FinetuneConfig, device: str) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    if device == "cuda":
        kwargs["dtype"] = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if config.method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kwargs["dtype"],
        )
    try:
        model = AutoModelForCausalLM.from_pretrained(config.base_model, **kwargs)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load base_model '{config.base_model}': {exc}") from exc
    if config.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing
        )
    return model


def _check_method(config: FinetuneConfig, device: str) -> None:
    require("trl", "finetune")
    require("peft", "finetune")
    if config.method == "qlora":
        require("bitsandbytes", "qlora")
        if device != "cuda":
            raise UserError("method: qlora needs a CUDA GPU", hint="use method: lora on CPU")


def _sft_config(config: FinetuneConfig, device: str, progress: bool, has_eval: bool) -> Any:
    import torch
    from trl import SFTConfig

    on_gpu = device == "cuda"
    return SFTConfig(
        output_dir=config.output_dir,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accumulation,
        warmup_steps=config.warmup_ratio,
        seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="no",
        eval_strategy="epoch" if has_eval else "no",
        report_to=[],
        max_length=None,  # encode_all already left out what does not fit
        use_cpu=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        fp16=on_gpu and not torch.cuda.is_bf16_supported(),
        activation_checkpointing=on_gpu and config.gradient_checkpointing,
        disable_tqdm=not progress,
        dataloader_pin_memory=on_gpu,
    )


def _lora_config(config: FinetuneConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )


def _encode(
    config: FinetuneConfig,
    tokenizer: Any,
    examples: list[Example],
    what: str,
    task: Task | None = None,
) -> tuple[list[Encoded], list[str]]:
    from fieldwise.tasks import load_task
    from fieldwise.tasks.prompts import load_template

    template = load_template(config.template)
    encoded, skipped = encode_all(
        tokenizer,
        task or load_task(config.task),
        examples,
        config.layout,
        template,
        config.max_seq_length,
    )
    if not encoded:
        raise UserError(
            f"every {what} example is longer than max_seq_length ({config.max_seq_length})",
            hint="raise max_seq_length in the fine-tuning config",
        )
    if skipped:
        print(
            f"warning: {len(skipped)} {what} example(s) longer than max_seq_length "
            f"skipped: {', '.join(skipped[:5])}",
            file=sys.stderr,
        )
    return encoded, skipped


def run_finetune(
    config: FinetuneConfig,
    *,
    progress: bool = True,
    examples: list[Example] | None = None,
    task: Task | None = None,
) -> FinetuneResult:
    """Check, train, save and describe one LoRA/QLoRA adapter; return what to register.

    ``examples`` (with ``task``) train instead of ``config.train``: a cross-validation
    fold or a teacher's labels, already in memory (``config.train`` then names where they
    were written, for the run card)."""
    device = _device(config)
    _check_method(config, device)
    from datasets import Dataset
    from trl import SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    train_examples = examples if examples is not None else _load_examples(config, config.train)
    if not any(ex.gold is not None for ex in train_examples):
        raise UserError("fine-tuning needs labelled examples; none were given")
    train_examples = [ex for ex in train_examples if ex.gold is not None]
    eval_examples = _load_examples(config, config.eval) if config.eval else []
    tokenizer = load_tokenizer(config)
    checks.raise_for(checks.check_tokenizer(tokenizer, config.layout))
    encoded, skipped = _encode(config, tokenizer, train_examples, "train", task)
    eval_encoded = (
        _encode(config, tokenizer, eval_examples, "eval", task)[0] if eval_examples else []
    )
    collator = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id)
    checks.raise_for(checks.pre_checks(tokenizer, encoded, collator))
    _log(checks.show_example(tokenizer, encoded[0]), progress)

    model = _load_model(config, device)
    trainer = SFTTrainer(
        model=model,
        args=_sft_config(config, device, progress, bool(eval_encoded)),
        train_dataset=Dataset.from_list([e.as_row() for e in encoded]),
        eval_dataset=Dataset.from_list([e.as_row() for e in eval_encoded])
        if eval_encoded
        else None,
        processing_class=tokenizer,
        data_collator=collator,
        peft_config=_lora_config(config),
    )
    timer = _step_timer()
    trainer.add_callback(timer)
    if not progress:
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    _log(f"training {config.label}: {len(encoded)} examples on {device}", progress)
    started = time.perf_counter()
    output = trainer.train()
    train_seconds = time.perf_counter() - started

    out_dir = Path(config.output_dir)
    model = trainer.model
    assert model is not None
    # a collective call: under DeepSpeed ZeRO-3 it gathers the sharded weights on every rank
    state = trainer.accelerator.get_state_dict(model)
    if not trainer.is_world_process_zero():
        return FinetuneResult(config.label, "", out_dir, config.base_model)
    model.save_pretrained(out_dir, state_dict=state)  # type: ignore[operator]
    if config.layout == "template-free":
        # inference uses the adapter's tokenizer and its chat template when it has one
        tokenizer.chat_template = None
    tokenizer.save_pretrained(out_dir)

    post = checks.post_check(
        trainer.model, tokenizer, encoded, config.layout, config.post_check_examples
    )
    warnings = [] if post.ok else [f"post-training check: {post.message}"]
    losses = [
        {"step": int(row["step"]), "loss": float(row["loss"])}
        for row in trainer.state.log_history
        if "loss" in row
    ]
    eval_losses = [
        {"step": int(row["step"]), "eval_loss": float(row["eval_loss"])}
        for row in trainer.state.log_history
        if "eval_loss" in row
    ]
    tokens = _trained_tokens(trainer.state.log_history, encoded, output.global_step, config)
    result = FinetuneResult(
        label=config.label,
        spec=f"hf/{config.base_model}:{out_dir}",
        output_dir=out_dir,
        base_model=config.base_model,
        train_examples=len(encoded),
        first_loss=losses[0]["loss"] if losses else None,
        final_loss=losses[-1]["loss"] if losses else None,
        train_seconds=train_seconds,
        tokens_per_s=tokens / train_seconds if train_seconds > 0 else 0.0,
        warnings=warnings,
    )
    write_run_card(
        out_dir,
        config=config,
        result=result,
        examples=train_examples,
        skipped=skipped,
        losses=losses,
        eval_losses=eval_losses,
        steps=output.global_step,
        tokens=tokens,
        post=post,
        device=device,
        step_times=timer.times,
    )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if warnings and config.strict_checks:
        raise UserError(warnings[0], hint="train longer or check the data; strict_checks is on")
    _log(f"saved {out_dir} ({result.final_loss=:.4f})" if losses else f"saved {out_dir}", progress)
    return result


def _trained_tokens(
    log_history: Sequence[dict[str, Any]],
    encoded: Sequence[Encoded],
    steps: int,
    config: FinetuneConfig,
) -> int:
    """Tokens seen in training: TRL's own count when it logged one, else an estimate."""
    counted = [row["num_tokens"] for row in log_history if "num_tokens" in row]
    if counted:
        return int(counted[-1])
    mean = sum(len(e.input_ids) for e in encoded) / max(1, len(encoded))
    return int(mean * steps * config.batch_size * config.grad_accumulation)


def check_unique(configs: Sequence[tuple[Path, FinetuneConfig]]) -> None:
    """Refuse configs that would overwrite each other's adapter or share a store label."""
    seen: dict[tuple[str, str], Path] = {}
    for path, config in configs:
        for key in (("output_dir", str(config.output_dir)), ("name", config.label)):
            if key in seen:
                raise UserError(
                    f"{path} and {seen[key]} share the same {key[0]} '{key[1]}'",
                    hint="give each config its own output_dir and name",
                )
            seen[key] = Path(path)


def finetune_many(config_paths: Sequence[Path], *, progress: bool = True) -> list[FinetuneResult]:
    """Run several fine-tunes one after another.

    All configs are read and validated first, so a typo in the last file fails in a
    second rather than after hours of training the first ones.
    """
    if not config_paths:
        raise UserError("no fine-tuning config given")
    configs = [load_config(path) for path in config_paths]
    check_unique(list(zip(config_paths, configs, strict=True)))
    results = []
    for index, config in enumerate(configs, 1):
        _log(f"[{index}/{len(configs)}] {config.source}", progress)
        results.append(run_finetune(config, progress=progress))
    return results
