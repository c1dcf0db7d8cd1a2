"""Trust and review for stored runs: ``fieldwise trust RUN`` and the review queue.

- :func:`~fieldwise.review.runs.assess_runs`: a run's grounding and calibrated
  confidence per field (the numbers of :mod:`fieldwise.trust.confidence`).
- :mod:`fieldwise.review.queue`: ``fieldwise review export``, a run's low-confidence and
  ungrounded values as CSV, JSONL and a Label Studio import file.
- :mod:`fieldwise.review.corrections`: ``fieldwise review import``, reviewed values read
  back as a new gold version of the run's dataset.
"""
