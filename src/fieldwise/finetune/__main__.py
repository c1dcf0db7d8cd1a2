"""``python -m fieldwise.finetune CONFIG.yaml [...]``: the entry point for launchers.

Multi-GPU training runs this module under accelerate (``accelerate launch -m
fieldwise.finetune CONFIG.yaml``), which starts one process per GPU; the trainer does
the distribution and only the main process writes the run card and prints results.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fieldwise.errors import UserError


def main(argv: list[str] | None = None) -> int:
    from fieldwise.finetune.local import finetune_many

    parser = argparse.ArgumentParser(
        prog="python -m fieldwise.finetune", description="Run local LoRA fine-tunes."
    )
    parser.add_argument("configs", nargs="+", type=Path, help="fine-tuning YAML file(s)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    try:
        results = finetune_many(args.configs, progress=not args.quiet)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        if result.spec:
            print(json.dumps({"label": result.label, "spec": result.spec, "kind": result.kind}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
