"""Probe sets for measuring what a corpus did: generated from the same constitution
and subject through the corpus engine, evaluated with Inspect (sdf_corpus.evals)."""
