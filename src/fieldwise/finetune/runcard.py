"""The run card: what a fine-tuned adapter was trained on, how, and how it went.

``run_card.json`` sits next to the adapter so that a score in a report can be traced to
the exact config, data fingerprint, loss curve and package versions; ``README.md`` says
the same for a person browsing the folder. The inference backend also reads ``layout``
and ``template`` from the card to rebuild the training prompt.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldwise import __version__
from fieldwise._hashing import content_hash
from fieldwise.tasks import Example

if TYPE_CHECKING:
    from fieldwise.finetune.checks import PostCheck
    from fieldwise.finetune.config import FinetuneConfig
    from fieldwise.finetune.local import FinetuneResult

RUN_CARD = "run_card.json"


def dataset_fingerprint(examples: Sequence[Example]) -> str:
    """sha256 of the canonical JSON of the examples (ids, texts, labels, in order)."""
    return content_hash([{"id": e.id, "text": e.text, "gold": e.gold} for e in examples])


def _versions() -> dict[str, str]:
    out = {"fieldwise": __version__}
    for package in ("torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def write_run_card(
    out_dir: Path,
    *,
    config: FinetuneConfig,
    result: FinetuneResult,
    examples: Sequence[Example],
    skipped: Sequence[str],
    losses: list[dict[str, Any]],
    eval_losses: list[dict[str, Any]],
    steps: int,
    tokens: int,
    post: PostCheck,
    device: str,
    step_times: Sequence[float] = (),
) -> Path:
    """Write ``run_card.json`` and ``README.md`` into ``out_dir``; return the card's path."""
    card = {
        "label": result.label,
        "spec": result.spec,
        "kind": result.kind,
        "base_model": config.base_model,
        "task": config.task,
        "layout": config.layout,
        "template": config.template or "default",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.model_dump(mode="json"),
        "dataset": {
            "source": config.train,
            "examples": len(examples),
            "trained_examples": result.train_examples,
            "skipped_too_long": list(skipped),
            "fingerprint": dataset_fingerprint(examples),
        },
        "training": {
            "device": device,
            "steps": steps,
            "tokens": tokens,
            "seconds": round(result.train_seconds, 3),
            "tokens_per_s": round(result.tokens_per_s, 1),
            "step_s": round(result.train_seconds / steps, 4) if steps else None,
            "step_times_s": [round(t, 4) for t in step_times],
            "first_loss": _round(result.first_loss),
            "final_loss": _round(result.final_loss),
            "loss_curve": losses,
            "eval_loss_curve": eval_losses,
        },
        "post_check": {
            "n": post.n,
            "stopped": post.stopped,
            "parsed_json": post.parsed,
            "exact": post.exact,
            "max_new_tokens": post.max_new_tokens,
            "samples": post.samples,
        },
        "warnings": result.warnings,
        "versions": _versions(),
    }
    path = out_dir / RUN_CARD
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(_readme(card), encoding="utf-8")
    return path


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def read_run_card(adapter_dir: str | Path) -> dict[str, Any] | None:
    """The run card of an adapter directory, or ``None`` when it has none."""
    path = Path(adapter_dir) / RUN_CARD
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def _readme(card: dict[str, Any]) -> str:
    training, dataset, post = card["training"], card["dataset"], card["post_check"]
    lora = card["config"]["lora"]
    lines = [
        f"# {card['label']}",
        "",
        f"A {card['config']['method'].upper()} adapter for `{card['base_model']}` on the "
        f"fieldwise task `{card['task']}`, trained by fieldwise "
        f"{card['versions']['fieldwise']}.",
        "",
        f"- model spec: `{card['spec']}`",
        f"- prompt layout: `{card['layout']}`, template `{card['template']}`",
        f"- data: `{dataset['source']}`, {dataset['trained_examples']} examples "
        f"(fingerprint `{dataset['fingerprint'][:16]}`)",
        f"- LoRA: r={lora['r']}, alpha={lora['alpha']}, dropout={lora['dropout']}, "
        f"targets {lora['target_modules']}",
        f"- training: {training['steps']} steps on {training['device']} in {training['seconds']} s "
        f"({training['tokens_per_s']} tokens/s); loss {training['first_loss']} → "
        f"{training['final_loss']}",
        f"- after training: {post['stopped']}/{post['n']} greedy generations stopped, "
        f"{post['parsed_json']}/{post['n']} parsed as JSON",
        "",
        "Evaluate it with `fieldwise run` using the model spec above; the full record is "
        "in `run_card.json`.",
    ]
    if card["warnings"]:
        lines += ["", "Warnings:", *[f"- {w}" for w in card["warnings"]]]
    return "\n".join(lines) + "\n"
