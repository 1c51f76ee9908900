"""The optional judge stage: score each kept document against a rubric (reasoning,
inner state, fidelity to its principle, realism, freedom from meta-text), record
the scores in the ledger, drop documents below `judge.min_scores`, and add the
scores to the shards as a `judge` column."""
