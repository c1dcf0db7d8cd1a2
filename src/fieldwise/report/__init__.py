"""Report: one self-contained HTML page that shows who won and why.

``write_report(task, examples, results, out_dir)`` writes ``out_dir/report.html`` (CSS,
script and charts embedded; nothing loaded from the network) and the charts as PNG files
in ``out_dir/charts/``.
"""

from __future__ import annotations

from fieldwise.report._write import pairwise_file, write_report

__all__ = ["pairwise_file", "write_report"]
