"""The store for idempotent requests (trajecten/opslag/idempotentie.py), on SQLite and PostgreSQL: a key is claimed
once, its first answer comes back on a retry, another request under the same key is refused, a key still in
flight is refused as "in behandeling" (and taken over once its request is surely dead), the answer commits
with the work or not at all, and old keys are cleared."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from trajecten.opslag import idempotentie as idem
from trajecten.opslag.models import Idempotentie

I = Idempotentie.__table__


def rijen(engine) -> list:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(I.c.actor, I.c.sleutel, I.c.status_code).order_by(I.c.id)).all()


def test_first_answer_is_returned_on_a_retry(engine):
    h = idem.verzoek_hash({"client_id": 1, "feiten": {"b": 2, "a": 1}})
    assert h == idem.verzoek_hash({"feiten": {"a": 1, "b": 2}, "client_id": 1})  # key order does not matter
    c = idem.claim(engine, "coach.oost.1", "k1", h)
    assert isinstance(c, idem.Claim)
    with engine.db.begin() as conn:
        idem.bewaar(engine, c, 201, {"traject_id": 7, "status": "actief"}, conn=conn)
    again = idem.claim(engine, "coach.oost.1", "k1", h)
    assert isinstance(again, idem.Antwoord)
    assert (again.status_code, again.antwoord) == (201, {"traject_id": 7, "status": "actief"})
    assert idem.lees(engine, "coach.oost.1", "k1").antwoord == {"traject_id": 7, "status": "actief"}
    # another request under the same key is refused; another user's same key is their own
    with pytest.raises(idem.AnderVerzoek):
        idem.claim(engine, "coach.oost.1", "k1", idem.verzoek_hash({"client_id": 2}))
    assert isinstance(idem.claim(engine, "coach.oost.2", "k1", h), idem.Claim)
    assert [(r.actor, r.status_code) for r in rijen(engine)] == [("coach.oost.1", 201), ("coach.oost.2", None)]


def test_a_key_in_flight_is_refused_then_taken_over_when_its_request_died(engine, clock):
    h = idem.verzoek_hash("start")
    eerste = idem.claim(engine, "a", "k", h)
    with pytest.raises(idem.InBehandeling):
        idem.claim(engine, "a", "k", h)
    assert idem.lees(engine, "a", "k") is None  # no answer yet
    clock.advance(idem.CLAIM_VERLOOPT + timedelta(seconds=1))
    tweede = idem.claim(engine, "a", "k", h)  # the first request never answered: taken over
    assert isinstance(tweede, idem.Claim) and tweede.op > eerste.op
    # the first request, slow rather than dead, cannot store its answer any more: its work rolls back
    with pytest.raises(idem.InBehandeling), engine.db.begin() as conn:
        conn.execute(I.insert().values(actor="werk", sleutel="van de eerste", verzoek_hash="x", status_code=200,
                                       antwoord={}, aangemaakt_op=clock.now()))
        idem.bewaar(engine, eerste, 201, {"traject_id": 1}, conn=conn)
    assert [r.actor for r in rijen(engine)] == ["a"]  # the first request's work is gone
    idem.bewaar(engine, tweede, 201, {"traject_id": 2})
    assert idem.claim(engine, "a", "k", h).antwoord == {"traject_id": 2}


def test_the_answer_commits_with_the_work_or_not_at_all(engine, clock):
    h = idem.verzoek_hash("x")
    c = idem.claim(engine, "a", "k", h)
    with pytest.raises(RuntimeError), engine.db.begin() as conn:
        idem.bewaar(engine, c, 201, {"traject_id": 1}, conn=conn)
        raise RuntimeError("de start faalt na het antwoord")
    with pytest.raises(idem.InBehandeling):  # no answer stored: the claim still waits (or is given back)
        idem.claim(engine, "a", "k", h)
    idem.geef_vrij(engine, c)
    assert rijen(engine) == []
    c2 = idem.claim(engine, "a", "k", h)  # free again: a retry acts anew
    assert isinstance(c2, idem.Claim)
    idem.bewaar(engine, c2, 201, {"traject_id": 3})
    idem.geef_vrij(engine, c2)  # giving back an answered key does nothing
    assert idem.claim(engine, "a", "k", h).antwoord == {"traject_id": 3}


def test_a_draft_is_replaced_and_old_keys_are_cleared(engine, clock):
    idem.vervang(engine, "a", "concept:1", {"feiten": {"x": "1"}})
    idem.vervang(engine, "a", "concept:1", {"feiten": {"x": "2"}})
    assert idem.lees(engine, "a", "concept:1").antwoord == {"feiten": {"x": "2"}}
    assert idem.lees(engine, "b", "concept:1") is None  # another user's draft is not theirs
    clock.advance(timedelta(hours=20))
    idem.bewaar(engine, idem.claim(engine, "a", "start:1", "h"), 303, {"traject_id": 9})
    clock.advance(timedelta(hours=5))  # the draft is 25 h old, the start 5 h
    assert idem.opruimen(engine) == 1
    assert [r.sleutel for r in rijen(engine)] == ["start:1"]
    assert idem.opruimen(engine, clock.now() + timedelta(days=1)) == 1
    assert rijen(engine) == []


def test_concurrent_claims_of_one_key_give_one_claim(engine):
    h = idem.verzoek_hash("samen")
    start = threading.Barrier(6)
    uit: list = []

    def probeer():
        start.wait()
        try:
            uit.append(idem.claim(engine, "a", "k", h))
        except idem.InBehandeling as exc:
            uit.append(exc)

    threads = [threading.Thread(target=probeer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(uit) == 6
    assert sum(isinstance(x, idem.Claim) for x in uit) == 1
    assert sum(isinstance(x, idem.InBehandeling) for x in uit) == 5
    assert len(rijen(engine)) == 1
