"""The idea pool: a cell's ideas asked for in shared list requests, kept apart, one per job.

One door in: `fill_pool(corpus, ledger, jobs, caller)` ensures a pool idea for exactly the
given jobs (callable per wave); the jobs' idea stage is then read from the ledger like any
committed stage. See docs/genres.md, "The idea pool".

    config.py  the spec's `ideas:` section
    cells.py   where the pool applies, which stage it answers, a job's cell
    prompt.py  the list request (frame in genres/pool/request.yaml) and its parsing
    check.py   exact and embedding-near repeats against the cell's ideas
    fill.py    the requests, their commits, re-asks and fallbacks

The package imports nothing itself: the spec imports `ideas.config`, which must stay a
leaf, so callers import `sdf_corpus.ideas.fill` (the door) directly.
"""
