"""What changed since the ledger last saw the spec, in terms of stages.

Job ids hash only what shapes the jobs themselves (`planner.plan_fingerprint`);
each stage's output is stored under its own key (`chain.stage_key`). Two things
follow at every plan sync (`rounds.sync_plan` calls `refresh_chains`):

1. **A changed chain reopens its genre's finished jobs.** A genre's chain
   fingerprint hashes every stage's prompts, switches and model. When it differs
   from the one the ledger recorded, the genre's done jobs go back to pending; the
   generation loop walks each again, reads back every stage whose key is unchanged,
   and requests only the changed stage and those after it (none at all when the
   rewrite was switched off: the job is done with its drafts).

2. **An old ledger's jobs move to their new ids, once.** Before stage keys, a job id
   hashed every prompt and the model (`_legacy_fingerprints`, kept here verbatim).
   A ledger migrated to version 2 carries the meta flag `adopt_ids`: for each job of
   the current plan, the id the old formula gives is looked up and, when found,
   renamed to the new id with its outputs, attempts and batch requests. A match
   means the old job was planned from exactly these prompts and this model, so its
   outputs answer exactly the requests the current chain renders: each gets that
   request's key. Then the flag is cleared. Jobs planned from another spec keep
   their old ids (inactive, as before the upgrade).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sdf_corpus.chain import build_request, parse_output, stage_key, stages_for
from sdf_corpus.plan.job import Job, job_id
from sdf_corpus.prompts import job_context
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import StageKeys, Store
from sdf_corpus.targets import stage_target

__all__ = ["adopt_legacy_ids", "chain_fingerprint", "refresh_chains"]

_FIELDS = (
    "corpus",
    "genre",
    "principle_id",
    "ai_id",
    "about",
    "author_id",
    "author_role",
    "audience_id",
    "attributes",
    "seed",
    "target_tokens",
)


def chain_fingerprint(corpus: Corpus, genre: str) -> str:
    """Hash of everything that shapes a genre's requests: prompts, switches, models."""
    spec = corpus.spec
    g = corpus.genres[genre]
    targets = [
        [s.name, *_target_fields(corpus, genre, s.name)]
        for s in stages_for(g, spec.backend.provider)
    ]
    blob = json.dumps([g.fingerprint(), spec.backend.provider, targets], sort_keys=True)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def _target_fields(corpus: Corpus, genre: str, stage: str) -> list[str]:
    t = stage_target(corpus.spec, genre, stage)
    return [t.provider, t.model]


def refresh_chains(corpus: Corpus, store: Store) -> dict[str, int]:
    """Reopen the done jobs of every genre whose chain changed; jobs reopened per genre."""
    keys = StageKeys(store)
    reopened: dict[str, int] = {}
    provider = corpus.spec.backend.provider
    chains = {g: [s.name for s in stages_for(corpus.genres[g], provider)] for g in corpus.genres}
    with store.transaction(immediate=True):
        # The report reads which stages each genre runs now (stages_held says why).
        store.set_meta("stage_chains", json.dumps(chains))
        for genre in corpus.genres:
            now = chain_fingerprint(corpus, genre)
            meta = f"chain:{genre}"
            before = store.get_meta(meta)
            if before is not None and before != now:
                reopened[genre] = keys.reopen(genre)
            store.set_meta(meta, now)
    return reopened


def _legacy_fingerprints(corpus: Corpus) -> dict[str, str]:
    """Job ids' fingerprints before stage keys (ledger version 1): every prompt and the model."""
    spec = corpus.spec
    shared = hashlib.blake2b(
        (
            corpus.constitution.text
            + "\x00"
            + spec.backend.provider
            + "\x00"
            + spec.backend.model
            + "\x00"
            + json.dumps(corpus.personas.model_dump(), sort_keys=True)
            + json.dumps(
                [spec.subject.model_dump(mode="json"), spec.excluded_names], sort_keys=True
            )
        ).encode(),
        digest_size=16,
    ).hexdigest()
    return {name: g.fingerprint() + shared for name, g in corpus.genres.items()}


def legacy_id(job: Job, fingerprints: dict[str, str]) -> str:
    fields = {name: getattr(job, name) for name in _FIELDS}
    return job_id(fields, fingerprints[job.genre])


def adopt_legacy_ids(corpus: Corpus, store: Store, jobs: Iterable[Job]) -> int:
    """Rename an old ledger's jobs to their new ids and key their outputs (module doc);
    a no-op unless the ledger was migrated from version 1. Returns jobs renamed."""
    if store.get_meta("adopt_ids") != "1":
        return 0
    keys = StageKeys(store)
    fingerprints = _legacy_fingerprints(corpus)
    renamed = 0
    with store.transaction(immediate=True):
        for job in jobs:
            old = legacy_id(job, fingerprints)
            if old == job.id or not keys.rename_job(old, job.id, job.to_json()):
                continue
            renamed += 1
            _key_outputs(corpus, store, keys, job)
        keys.adopted()
    return renamed


def _key_outputs(corpus: Corpus, store: Store, keys: StageKeys, job: Job) -> None:
    """Give each output of an adopted job the key of the request it answered."""
    provider = corpus.spec.backend.provider
    outputs = store.outputs(job.id)
    context = job_context(corpus, job)
    key = job.id
    for stage in stages_for(corpus.genres[job.genre], provider):
        out = outputs.get(stage.name)
        if out is None:
            return
        request = build_request(corpus, job, stage, context, provider)
        key = stage_key(key, stage_target(corpus.spec, job.genre, stage.name), request)
        keys.set_key(job.id, stage.name, key)
        context["stages"][stage.name] = parse_output(stage, out.text, job)
