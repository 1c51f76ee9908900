"""Inspect's entry point (pyproject: [project.entry-points.inspect_ai]): importing
this registers the tasks as sdf_corpus/mcq, sdf_corpus/attachment and
sdf_corpus/scenarios."""

from sdf_corpus.evals.tasks import attachment, mcq, scenarios

__all__ = ["attachment", "mcq", "scenarios"]
