"""The circuit breaker: stop a run that cannot succeed instead of paying one
rejected request per job.

Two situations make every remaining request fail the same way:

- an account-level refusal (a bad key, a model id the provider does not serve,
  no access, no credit) repeats for `threshold` requests in a row with no
  success in between; one such refusal between successes is only counted;
- the provider cannot be reached at all before anything has succeeded: a
  request gives up on connection errors, or they go on for `connect_grace`
  seconds. Once a request has succeeded, a lost connection is an outage that
  today's backoff rides out.

Tripping raises `ProviderStoppedError` (exit 5) with one line naming the
provider, the URL, what it said and the setting to fix. The breaker is shared
by generation, batches and the judge; it never touches the ledger, so what was
committed stays committed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from sdf_corpus.errors import ProviderError, ProviderStoppedError

__all__ = ["CircuitBreaker", "account_refusal"]

_BY_STATUS = {401: "authentication", 402: "billing", 403: "permission", 404: "not_found"}
# 400s whose text says the account or the model id is at fault, not the request.
_BILLING = re.compile(r"credit balance|billing|insufficient[_ ]quota|payment", re.IGNORECASE)
_BAD_MODEL = re.compile(
    r"(model\W.*(not found|does not exist|not exist|unknown|invalid|not supported))"
    r"|((invalid|unknown) model)|model_not_found",
    re.IGNORECASE,
)
_KEY_VARIABLES = {"anthropic": "ANTHROPIC_API_KEY"}
_OTHER_KEYS = "the provider's key variable, e.g. OPENAI_API_KEY"


def account_refusal(exc: ProviderError) -> str | None:
    """The account-level class of a refusal ("authentication", "permission",
    "not_found", "invalid_model", "billing"), or None for anything else."""
    status = exc.status
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status == 400 or status is None:
        text = str(exc)
        if _BILLING.search(text):
            return "billing"
        if status == 400 and _BAD_MODEL.search(text):
            return "invalid_model"
    return None


class CircuitBreaker:
    """Counts consecutive refusals of one class; raises when the run should stop."""

    def __init__(
        self,
        threshold: int,
        *,
        provider: str,
        endpoint: str,
        setting: str = "backend",
        connect_grace: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold, self.connect_grace, self.clock = threshold, connect_grace, clock
        self.provider, self.endpoint, self.setting = provider, endpoint, setting
        self.kind: str | None = None
        self.streak = 0
        self.succeeded = False
        self.first_unreachable: float | None = None
        self.tripped: ProviderStoppedError | None = None

    def check(self) -> None:
        """Raise if the breaker has tripped: no request goes out after that."""
        if self.tripped is not None:
            raise self.tripped

    def success(self) -> None:
        self.kind, self.streak, self.succeeded = None, 0, True
        self.first_unreachable = None

    def failure(self, exc: ProviderError, count: int = 1) -> None:
        """Count `count` refused requests; raise ProviderStoppedError when it is time."""
        kind = account_refusal(exc)
        if kind is not None:
            self.streak = self.streak + count if kind == self.kind else count
            self.kind = kind
            if self.streak >= self.threshold:
                self._trip(self._refusal_line(kind, exc))
        elif exc.connection and not self.succeeded:
            now = self.clock()
            if self.first_unreachable is None:
                self.first_unreachable = now
            if now - self.first_unreachable >= self.connect_grace:
                self._trip(self._unreachable_line(exc))

    def gave_up(self, exc: ProviderError) -> None:
        """A request used all its attempts: on connection errors with nothing ever
        answered, the provider is unreachable, whatever the grace left."""
        if exc.connection and not self.succeeded:
            self._trip(self._unreachable_line(exc))

    def _trip(self, line: str) -> None:
        self.tripped = ProviderStoppedError(line)
        raise self.tripped

    def _refusal_line(self, kind: str, exc: ProviderError) -> str:
        said = str(exc).split("\n", 1)[0][:300]
        return (
            f"stopped: {self.provider} at {self.endpoint} refused {self.streak} requests in a "
            f"row ({said}); {self._fix(kind)}. Nothing more was sent; committed work is kept"
        )

    def _unreachable_line(self, exc: ProviderError) -> str:
        said = str(exc).split("\n", 1)[0][:200]
        return (
            f"stopped: cannot reach {self.provider} at {self.endpoint} ({said}); check "
            f"{self.setting}.api_base (or ANTHROPIC_BASE_URL for anthropic) and that the "
            "server is running. Nothing was generated; committed work is kept"
        )

    def _fix(self, kind: str) -> str:
        key = _KEY_VARIABLES.get(self.provider, _OTHER_KEYS)
        fixes = {
            "authentication": f"check the API key ({key}) and that {self.setting}.api_base "
            "is the provider it belongs to",
            "permission": f"the key may not use this model or feature: check {self.setting}.model "
            "or use a key with access",
            "not_found": f"check {self.setting}.model is a model id this provider serves, and "
            f"{self.setting}.api_base",
            "invalid_model": f"check {self.setting}.model is a model id this provider serves",
            "billing": "the account has no credit or billing is not set up: add credit or use "
            f"another key ({key})",
        }
        return fixes[kind]
