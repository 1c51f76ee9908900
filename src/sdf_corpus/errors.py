"""Errors meant for the person running sdf-corpus, and the exit code of each.

Every exception here carries a message that names the file, field or line at
fault (or the provider and what it said) and says how to fix it. Each class
holds its exit code in `exit_code`; only the CLI (`cli/_common.py`) turns an
error into that code, at one place, as one line on stderr and no traceback.

    SdfError                      base; exit 2 unless stated
    ├── SpecError                 a corpus spec, genre, persona or constitution file is wrong
    ├── InputError                a file given to clean/augment/export/inspect, or an
    │                             output folder, is unusable
    ├── KeyMissingError           a backend needs an API key that the environment lacks
    ├── ProviderError             a provider call failed; normalised from the SDK's own
    │   │                         exceptions, never carrying an API key
    │   ├── RetryableError        429, 529/overloaded, 5xx, timeouts, connection errors
    │   │                         (`retry_after` when the provider said so); still failing
    │   │                         once `backend.max_attempts` are spent: exit 5
    │   ├── PermanentError        a 4xx request error: retrying cannot fix it (exit 2)
    │   └── AmbiguousCreateError  a batch create got no answer: the batch may exist (exit 4)
    ├── BudgetError               going on would cross --max-cost (exit 3)
    ├── ProviderStoppedError      the circuit breaker stopped a run: the provider keeps refusing
    │                             for the same account-level reason, or cannot be reached (exit 5)
    ├── IncompleteBuildError      a build ended empty or short of its budget (exit 6)
    ├── JudgeShortError           too few documents could be judged (exit 7)
    ├── EvalError                 Inspect could not finish an evaluation task (exit 1)
    └── Interrupted               Ctrl-C; committed work is kept (exit 130)

Backends raise only ProviderErrors, and the runners decide from the class
whether to retry (RetryableError) or fail the job at once (PermanentError).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AmbiguousCreateError",
    "BudgetError",
    "EvalError",
    "IncompleteBuildError",
    "InputError",
    "Interrupted",
    "JudgeShortError",
    "KeyMissingError",
    "PermanentError",
    "ProviderError",
    "ProviderStoppedError",
    "RetryableError",
    "SdfError",
    "SpecError",
]


class SdfError(Exception):
    """A user-facing error: one line, naming what is wrong and how to fix it."""

    exit_code: ClassVar[int] = 2
    # What the CLI prints before the message: a stop that keeps the run resumable
    # (--max-cost, an unanswered batch create, Ctrl-C) is not reported as an error.
    prefix: ClassVar[str] = "error: "


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


class ProviderError(SdfError):
    """A provider call failed. Messages never include API keys.

    `status` is the HTTP status when there was one. `connection` marks a failure
    to reach the provider at all (refused, DNS, reset before an answer): the
    circuit breaker treats those specially before the first success. Raised to
    the user only when no runner can absorb it (a batch create refused as sent),
    so the default exit is 2: the request, as configured, is wrong."""

    def __init__(
        self, message: str, *, status: int | None = None, connection: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.connection = connection


class RetryableError(ProviderError):
    """Worth sending again later. Reaching the user means every attempt failed."""

    exit_code = 5

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        connection: bool = False,
    ) -> None:
        super().__init__(message, status=status, connection=connection)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """The provider refused the request as sent (a 4xx other than 429)."""


class AmbiguousCreateError(ProviderError):
    """A batch create got no answer (timeout, dropped connection): the batch may exist,
    so nothing more is submitted; the next run adopts it or resubmits its requests."""

    exit_code = 4
    prefix = "stopped: "


class BudgetError(SdfError):
    """Going on would cross --max-cost."""

    exit_code = 3
    prefix = "stopped: "


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


class Interrupted(SdfError):
    """Ctrl-C: the run stopped after committing what it had in hand."""

    exit_code = 130
    prefix = ""  # the message starts "interrupted; ..."
