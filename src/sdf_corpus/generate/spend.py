"""The spend cap: one worst-case cost per request and one guard that refuses
whatever could take spend past --max-cost.

Immediate requests, batches and the judge all reserve through `CostGuard`, so a
run stops at the same limit for the same request whichever way it is sent.
"""

from __future__ import annotations

from sdf_corpus.errors import BudgetError
from sdf_corpus.pricing.prices import BATCH_DISCOUNT, ModelPrice
from sdf_corpus.sampling import Request

__all__ = ["CostGuard", "worst_case_cost"]

# Tokens are never fewer than chars / 3 in any tokenizer we price (English runs ~4).
_CHARS_PER_TOKEN = 3


def _tokens(chars: int) -> int:
    return chars // _CHARS_PER_TOKEN + 1 if chars else 0


def worst_case_cost(price: ModelPrice | None, request: Request, *, batch: bool = False) -> float:
    """Most one request can cost: every input char a token's third, the shared
    prefix at the dearer of a cache write and plain input (a first request of a
    genre writes the cache; a backend that cannot cache sends it as input), and
    all of max_tokens generated. `batch` applies the Message Batches discount."""
    if price is None:
        return 0.0
    plain = _tokens(len(request.prompt) + len(request.system) + len(request.prefill)) or 1
    prefix = _tokens(len(request.cache_prefix))
    usd = (
        plain * price.input
        + prefix * max(price.input, price.cache_write)
        + request.max_tokens * price.output
    ) / 1_000_000
    return usd * BATCH_DISCOUNT if batch else usd


class CostGuard:
    """Spent so far, reserved for what is in flight, and the limit both must stay under."""

    def __init__(
        self, limit: float | None, spent: float, price: ModelPrice | None, *, batch: bool = False
    ) -> None:
        self.limit, self.spent, self.price, self.batch = limit, spent, price, batch
        self.reserved = 0.0

    def worst_case(self, request: Request, price: ModelPrice | None = None) -> float:
        """`price`: the request's own model's (a stage on another model), else the run's."""
        return worst_case_cost(price or self.price, request, batch=self.batch)

    def room_for(self, amount: float) -> bool:
        """Whether `amount` more in flight keeps the worst case within the limit."""
        return self.limit is None or self.spent + self.reserved + amount <= self.limit

    def reserve(self, request: Request, price: ModelPrice | None = None) -> float:
        """Hold the request's worst case; BudgetError if it does not fit."""
        estimate = self.worst_case(request, price)
        if not self.room_for(estimate):
            raise BudgetError(
                f"stopping before --max-cost {self.limit:.2f} USD would be crossed "
                f"(spent {self.spent:.4f}, in flight up to {self.reserved:.4f})"
            )
        self.reserved += estimate
        return estimate

    def settle(self, estimate: float, actual: float) -> None:
        """A reserved request ended: release its hold, count what it cost."""
        self.reserved -= estimate
        self.spent += actual
