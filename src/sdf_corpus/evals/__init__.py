"""Evaluating a model on a probe set with Inspect: tasks, grading, eval.json/html.

Importing this package does not import Inspect; `sdf_corpus.evals.tasks` does.
"""
