"""Errors meant for the person running sdf-corpus.

Every exception here carries a message that names the file, field or line at
fault and says how to fix it. Only the CLI turns them into exit codes.

    SdfError                    base; exit 2 unless stated
    ├── SpecError               a corpus spec, genre, persona or constitution file is wrong
    ├── InputError              a file given to clean/augment/export/inspect, or an
    │                           output folder, is unusable
    ├── KeyMissingError         a backend needs an API key that the environment lacks
    ├── BackendError            a provider refused a request for a reason retrying cannot fix
    ├── BudgetError             a spend limit would be crossed (exit 3)
    ├── ProviderStoppedError    the circuit breaker stopped a run: the provider keeps refusing
    │                           for the same account-level reason, or cannot be reached (exit 5)
    ├── IncompleteBuildError    a build ended empty or short of its budget (exit 6)
    ├── JudgeShortError         too few documents could be judged (exit 7)
    └── EvalError               Inspect could not finish an evaluation task (exit 1)
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BudgetError",
    "EvalError",
    "IncompleteBuildError",
    "InputError",
    "JudgeShortError",
    "KeyMissingError",
    "ProviderStoppedError",
    "SdfError",
    "SpecError",
]


class SdfError(Exception):
    """A user-facing error: one line, naming what is wrong and how to fix it."""

    exit_code = 2


def _located(where: str, problem: str, fix: str) -> str:
    message = f"{where}: {problem}" if problem else where
    return f"{message} ({fix})" if fix else message


class SpecError(SdfError):
    """A spec, library or constitution file is malformed or inconsistent."""

    def __init__(self, where: str, problem: str, fix: str = "") -> None:
        self.where = where
        self.problem = problem
        self.fix = fix
        super().__init__(_located(where, problem, fix))

    def __reduce__(self) -> tuple[type[SpecError], tuple[str, str, str]]:
        # Raised in a `generate --workers` process, it must cross back to the parent.
        return (type(self), (self.where, self.problem, self.fix))


class InputError(SdfError):
    """An input dataset (JSONL, Parquet) or an output folder cannot be used as given.

    Either one finished message, or (where, problem, fix) as SpecError takes them.
    """

    def __init__(self, where: str, problem: str = "", fix: str = "") -> None:
        super().__init__(_located(where, problem, fix))


class KeyMissingError(SdfError):
    """A backend needs a key; the message names the environment variable to set."""


class BackendError(SdfError):
    """A provider rejected a request permanently (a 4xx other than 429)."""


class BudgetError(SdfError):
    """Going on would cross --max-cost."""

    exit_code = 3


class ProviderStoppedError(SdfError):
    """The circuit breaker stopped the run: retrying every job would fail the same way.

    Raised when the same account-level refusal (authentication, permission, not
    found, invalid model, billing) repeats for `backend.breaker_threshold`
    requests with no success in between, or when the provider cannot be reached
    before any request has succeeded. Work already committed is kept."""

    exit_code = 5


class IncompleteBuildError(SdfError):
    """A build ended with no documents, or short of its budget, for a reason other
    than --max-cost; the message says why in words."""

    exit_code = 6


class JudgeShortError(SdfError):
    """The judge scored fewer than `judge.min_judged_share` of the documents; the
    spend stays recorded in the ledger."""

    exit_code = 7


class EvalError(SdfError):
    """An evaluation task did not finish; the message names its Inspect log."""

    exit_code = 1
