"""The review queue as a Label Studio project, and corrections read back from its export.

Import side (Label Studio's "basic JSON format" with pre-annotations): one task per value
to review. ``data`` holds the document (``text``) and what to show about the value;
``predictions[0].result`` holds two regions, which Label Studio displays and lets the
reviewer edit:

- ``evidence`` (a ``labels`` region on the text, ``value: {start, end, text, labels}``):
  where the value is written, one region per span found (none when it is nowhere);
- ``corrected`` (a ``textarea``, ``value: {text: [...]}``): the model's value as text,
  which the reviewer submits as it is (the value is right) or edits (the right value).

Offsets are Python string (code point) offsets, which is what Label Studio stores for a
``Text`` tag. :func:`label_config` is the labeling configuration that names these
regions; create the project with it, then import ``labelstudio.json``.

Export side (:func:`read_export`): Label Studio's JSON export (tasks with their
``annotations``) or JSON-MIN (one flat object per task, the textarea's text under
``corrected``); the latest annotation that was not skipped counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from fieldwise.review.queue import ReviewItem

__all__ = ["CONFIG_FILE", "TASKS_FILE", "label_config", "read_export", "tasks", "value_text"]

TASKS_FILE, CONFIG_FILE = "labelstudio.json", "labelstudio.xml"
EVIDENCE, CORRECTED, TEXT = "evidence", "corrected", "text"


def value_text(value: Any) -> str:
    """How a value is shown and edited: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def label_config() -> str:
    """The labeling configuration for :func:`tasks` (XML)."""
    hint = escape(
        'the right value: text as it is; a list, number, true/false or null as JSON ("null" '
        "for no value); submit unchanged to confirm the model's value",
        {'"': "&quot;"},
    )
    return f"""<View>
  <Header value="$model: $path ($reasons; confidence $confidence)"/>
  <Labels name="{EVIDENCE}" toName="{TEXT}">
    <Label value="{EVIDENCE}" background="#ffd54f"/>
  </Labels>
  <Text name="{TEXT}" value="${TEXT}"/>
  <Header value="The model's value: $value" size="5"/>
  <TextArea name="{CORRECTED}" toName="{TEXT}" editable="true" maxSubmissions="1" rows="2"
            placeholder="{hint}"/>
</View>
"""


def tasks(items: Sequence[ReviewItem]) -> list[dict[str, Any]]:
    """One Label Studio task per item (see the module)."""
    out = []
    for n, item in enumerate(items):
        shown = value_text(item.value)
        result: list[dict[str, Any]] = [
            {
                "id": f"ev{n}-{k}",
                "from_name": EVIDENCE,
                "to_name": TEXT,
                "type": "labels",
                "value": {
                    "start": start,
                    "end": end,
                    "text": item.text[start:end],
                    "labels": [EVIDENCE],
                },
            }
            for k, (start, end, _) in enumerate(item.evidence)
        ]
        result.append(
            {
                "id": f"value{n}",
                "from_name": CORRECTED,
                "to_name": TEXT,
                "type": "textarea",
                "value": {"text": [shown]},
            }
        )
        out.append(
            {
                "data": {
                    TEXT: item.text,
                    "id": item.id,
                    "path": item.path,
                    "value": shown,
                    "model": item.model,
                    "run": item.run,
                    "dataset": item.dataset,
                    "confidence": "none" if item.confidence is None else f"{item.confidence:.3f}",
                    "reasons": ", ".join(item.reasons),
                    "grounding": item.grounding or "",
                },
                "predictions": [
                    {
                        "model_version": item.model,
                        "score": item.confidence if item.confidence is not None else 0.0,
                        "result": result,
                    }
                ],
            }
        )
    return out


def read_export(data: Any, where: str) -> list[dict[str, Any]]:
    """``[{"dataset", "run", "id", "path", "value", "corrected"}]`` from a Label Studio
    export (``corrected``: the submitted text, ``None`` for a task nobody submitted)."""
    if not isinstance(data, list):
        raise ValueError(f"{where}: a Label Studio export is a JSON list of tasks")
    out = []
    for n, task in enumerate(data):
        if not isinstance(task, Mapping):
            raise ValueError(f"{where}: task {n + 1} is not an object")
        fields = task.get("data") if "data" in task else task
        if not isinstance(fields, Mapping):
            raise ValueError(f"{where}: task {n + 1} has no data")
        if "annotations" in task:
            corrected = _submitted(task.get("annotations"))
        else:  # JSON-MIN: the textarea's text under its name
            corrected = _text(fields.get(CORRECTED))
        out.append(
            {
                "dataset": fields.get("dataset"),
                "run": fields.get("run"),
                "id": fields.get("id"),
                "path": fields.get("path"),
                "value": fields.get("value"),
                "corrected": corrected,
                "where": f"{where}: task {n + 1}",
            }
        )
    return out


def _submitted(annotations: Any) -> str | None:
    kept = [
        a
        for a in annotations or []
        if isinstance(a, Mapping) and not a.get("was_cancelled") and not a.get("skipped")
    ]
    if not kept:
        return None
    latest = max(enumerate(kept), key=lambda pair: (str(pair[1].get("updated_at") or ""), pair[0]))[
        1
    ]
    for region in latest.get("result") or []:
        if isinstance(region, Mapping) and region.get("from_name") == CORRECTED:
            value = region.get("value")
            return _text(value.get("text") if isinstance(value, Mapping) else None)
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        texts = [v for v in value if isinstance(v, str)]
        return texts[-1] if texts else None
    return value if isinstance(value, str) else None
