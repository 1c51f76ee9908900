"""The closed loop's decision: send while the projection is under the target."""

from __future__ import annotations

from sdf_corpus.budget.gate import BudgetGate
from sdf_corpus.budget.yields import Meter


def _gate(**meters: Meter) -> BudgetGate:
    return BudgetGate(
        targets={"a": 1000.0, "b": 1000.0},
        prior={"a": 200.0, "b": 200.0},
        caps={"a": 50, "b": 50},
        meters={"a": meters.get("a", Meter()), "b": meters.get("b", Meter())},
    )


def test_jobs_in_flight_count_at_the_measured_yield() -> None:
    gate = _gate(a=Meter(done=3, kept=1500))  # 500 per job measured: over 200 expected
    assert gate.need("a") == -500  # already over the target: send nothing
    assert not gate.wants("a")
    assert gate.wants("b") and gate.jobs_needed("b") == 5
    for k in range(5):
        assert gate.admit(f"b{k}", "b")
    assert not gate.wants("b")  # five in flight at 200 each meet it
    gate.finished("b0", "b", 0)  # one dropped: the yield falls and b wants again
    assert gate.wants("b")


def test_a_genre_with_every_job_dropped_counts_half_the_expectation() -> None:
    gate = _gate(a=Meter(done=4, kept=0))
    assert gate.yield_of("a") == 100
    assert gate.jobs_needed("a") == 10


def test_the_cap_stops_a_genre_that_never_keeps_anything() -> None:
    gate = _gate()
    gate.caps = {"a": 2, "b": 2}
    assert gate.admit("a0", "a") and gate.admit("a1", "a")
    gate.finished("a0", "a", 0)
    gate.finished("a1", "a", 0)
    assert not gate.wants("a")


def test_a_job_already_in_flight_is_not_counted_twice() -> None:
    gate = _gate()
    assert gate.admit("a0", "a")
    assert not gate.admit("a0", "a")
    assert gate.flying("a") == 1


def test_a_first_batch_sends_a_share_of_the_expected_need() -> None:
    gate = _gate()
    gate.first_share = 0.5
    sent = 0
    while gate.wants("a"):
        gate.admit(f"a{sent}", "a")
        sent += 1
    assert sent == 3  # 1000 / 200 = 5 expected; half of it (rounded up) before anything lands
