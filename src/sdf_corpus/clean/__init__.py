"""The clean stage: quality filters, exact + near dedup, Parquet shards.

Entry points (imported from their modules, so that loading a corpus spec,
which needs only `config.CleanConfig`, does not import pyarrow or datasketch):

    sdf_corpus.clean.config.CleanConfig     the `clean:` section of a spec
    sdf_corpus.clean.pipeline.clean         Documents -> shards, manifest, stats
    sdf_corpus.clean.inputs.read_documents  JSONL/Parquet files -> Documents

See docs/clean.md for the order of steps and every output format.
"""
