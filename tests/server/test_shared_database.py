"""Several server processes on one project database (SQLite here; PostgreSQL in test_postgres.py): each
``Store`` caches which texts are labeled and skipped, so before serving a text it asks the database whether
another process got an answer (or this annotator's skip) for it since the cache was loaded."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from labelwise.server.store import Conflict, Store, utcnow
from labelwise.server.tables import Label, Lease


def _lease_of(store: Store, item_id: int) -> Lease | None:
    with store._session() as s:
        return s.get(Lease, item_id)


@pytest.fixture
def two_stores(make_store):
    """Two server processes on one SQLite file, both opened before anything is answered; annotator alice
    works through the first, bob through the second. A factory: the pool size varies."""
    opened = []

    def open_two(n: int) -> tuple[Store, Store, int, int]:
        first = make_store(n)
        second = Store(first.url)
        opened.append(second)
        return first, second, first.add_annotator("alice")[0], second.annotator_id("bob", create=True)

    yield open_two
    for store in opened:
        store.close()


def test_a_text_answered_through_another_store_is_never_served(two_stores):
    first, second, alice, bob = two_stores(12)
    answered = first.next_item(alice)["id"]
    assert answered == second._order[0]  # same seed: the text the second store would serve first
    first.submit(alice, answered, "pos")
    assert second.n_labeled == 0
    served = []
    for i in range(20):  # a fresh tab each time: every call leases a new text
        item = second.next_item(bob, session=f"tab{i}")
        if item is None:
            break
        served.append(item["id"])
    assert answered not in served
    assert sorted(served) == sorted(set(second.item_ids) - {answered})  # the rest, each once
    assert second.n_labeled == 1  # learned from the database
    assert _lease_of(second, answered) is None  # the lease taken before the check was given back
    with second._session() as s:
        assert s.scalar(select(func.count()).select_from(Label)) == 1


def test_submit_and_next_skips_a_text_answered_through_another_store(two_stores):
    first, second, alice, bob = two_stores(6)
    target, held = first.item_ids[4], first.item_ids[2]
    second.set_ranking([held, target])
    first.set_ranking([target])
    assert second.next_item(bob)["id"] == held  # bob holds `held` before alice answers `target`
    assert first.next_item(alice)["id"] == target
    first.submit(alice, target, "neu")
    nxt = second.submit(bob, held, "pos", next_item=True)["next"]
    assert nxt["id"] == next(i for i in second._order if i not in (target, held))
    assert _lease_of(second, nxt["id"]).annotator_id == bob
    assert second.n_labeled == 2


def test_a_text_held_through_another_store_cannot_be_answered_by_someone_else(two_stores):
    first, second, alice, bob = two_stores(5)
    held = second.next_item(bob)["id"]
    assert held not in first._leases  # the first store's cache knows nothing of bob's lease
    with pytest.raises(Conflict):  # the lease table does
        first.submit(alice, held, "pos")
    assert first.n_labeled == 0 and _lease_of(first, held).annotator_id == bob
    with first._session() as s:
        assert s.scalar(select(func.count()).select_from(Label)) == 0  # nothing half-written
    second.submit(bob, held, "neg")
    first.submit(alice, held, "pos")  # released: a second opinion is welcome
    assert first.n_labeled == 1


def test_a_held_text_answered_through_another_store_is_replaced(two_stores):
    first, second, alice, bob = two_stores(5)
    held = second.next_item(bob)["id"]
    with first._session() as s:  # bob's lease runs out before alice answers the text through the first store
        s.get(Lease, held).expires_at = utcnow()
        s.commit()
    first.submit(alice, held, "pos")
    again = second.next_item(bob)
    assert again["id"] != held and again["leased_to_me"]
    assert _lease_of(second, held) is None and _lease_of(second, again["id"]).annotator_id == bob
    assert second.next_item(bob)["id"] == again["id"]  # the new text is the one held now


def test_a_text_skipped_through_another_store_is_not_served_to_that_annotator(two_stores):
    first, second, alice, bob = two_stores(4)
    skipped = first.next_item(alice)["id"]
    first.skip(alice, skipped, next_item=False)
    got = second.next_item(alice, session="other")["id"]
    assert got != skipped
    assert _lease_of(second, skipped) is None
    assert second.next_item(bob)["id"] == skipped  # a skip only concerns the one who skipped
