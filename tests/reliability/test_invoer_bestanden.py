"""Input hardening, file imports: the UWV feed import (``trajecten feed importeer`` and the scheduled
folder job both call ``importeer_bestand``) fed random bytes, broken CSV and broken JSON Lines
(hypothesis), on SQLite and PostgreSQL.

The feed's promise is "nothing silently dropped": what cannot be read goes to quarantine with its reason.
So the properties are: no exception escapes; nothing is accepted; every received record is accounted
for (quarantined, or a duplicate of one); each quarantine row names the field (or ``bestand``) and the
reason; and every other table (clients, trajectories, steps, events, ...) is exactly as before.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.uwv import _record
from tests.conftest import open_engine
from tests.reliability.harness import LOGBOEK, snapshot
from trajecten.beheer.koppelingen import uwv_feed
from trajecten.opslag.models import Quarantaine
from trajecten.basis.tijd import TZ, FixedClock

import sqlalchemy as sa
from datetime import datetime

VELDEN = list(_record.VELDEN)
junk_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | junk_text,
                          lambda kids: st.lists(kids, max_size=3) | st.dictionaries(junk_text, kids, max_size=3),
                          max_leaves=8)
jsonl_line = st.one_of(
    st.dictionaries(st.sampled_from(VELDEN) | junk_text, json_value, max_size=len(VELDEN)).map(json.dumps),
    json_value.map(json.dumps),
    junk_text.filter(lambda s: "\n" not in s and "\r" not in s),
)
csv_cell = junk_text.map(lambda s: s.replace("\n", " ").replace("\r", " "))
csv_file = st.tuples(st.lists(st.sampled_from(VELDEN) | csv_cell, min_size=1, max_size=9),
                     st.lists(st.lists(csv_cell, max_size=10), max_size=6), st.sampled_from([",", ";", "\t"])).map(
    lambda t: t[2].join(t[0]) + "\n" + "\n".join(t[2].join(r) for r in t[1]))
files = st.one_of(
    st.tuples(st.just(".jsonl"), st.lists(jsonl_line, min_size=1, max_size=8).map(lambda ls: "\n".join(ls).encode())),
    st.tuples(st.just(".csv"), csv_file.map(lambda s: s.encode("utf-8", "surrogatepass"))),
    st.tuples(st.sampled_from([".jsonl", ".csv", ".txt"]), st.binary(min_size=1, max_size=400)),
)
Q = Quarantaine.__table__


@pytest.fixture
def feed_engine(db_url):
    eng = open_engine(db_url, FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ)))
    eng.add_client("123456782", naam="Bestaand", coach="coach.a")  # something that must stay as it is
    yield eng
    eng.db.dispose()


def test_broken_feed_files_are_quarantined_with_reasons_and_change_nothing_else(feed_engine, tmp_path):
    eng = feed_engine
    feed = uwv_feed(eng.settings)
    n = [0]

    @settings(max_examples=30, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(files)
    def prop(item):
        suffix, data = item
        n[0] += 1
        path = tmp_path / f"overdracht-{n[0]}{suffix}"
        path.write_bytes(data)
        before = snapshot(eng.db, exclude=LOGBOEK | {"quarantaine"})
        with eng.db.connect() as conn:
            q_before = conn.execute(sa.select(sa.func.max(Q.c.id))).scalar() or 0
        s = feed.importeer_bestand(eng, path)
        assert s.geaccepteerd == 0 and s.gestart == 0 and s.gepland == 0, s.as_dict()
        assert s.ontvangen == s.quarantaine + s.dubbel, s.as_dict()  # every record accounted for
        assert snapshot(eng.db, exclude=LOGBOEK | {"quarantaine"}) == before, "a refused file changed the database"
        with eng.db.connect() as conn:
            new = conn.execute(sa.select(Q).where(Q.c.id > q_before)).all()
        assert len(new) <= s.quarantaine
        for row in new:
            assert row.redenen and all(r["veld"] and r["reden"] for r in row.redenen), row.redenen
            assert "123456782" not in json.dumps(row.redenen)  # a reason never quotes a BSN

    prop()
