"""The bulk writes of the hot paths (feed, sweep) store exactly what SQLAlchemy's own INSERT stores.

``bulk_insert_kolommen`` takes rows column by column plus values shared by every row; on PostgreSQL from
``COPY_FROM`` rows on it writes with binary COPY. Both databases, both sizes.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from trajecten.privacy import logboek
from trajecten.privacy import verwerkingsregister
from trajecten.basis.bsn import synthetisch
from trajecten.opslag.models import Client, Traject, Verwerking
from trajecten.opslag.bulk import COPY_FROM, allocate_ids, bulk_insert_kolommen
from trajecten.basis.tijd import TZ

C, T, V = Client.__table__, Traject.__table__, Verwerking.__table__
NOW = datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=TZ)


def _traject_rows(conn, ids) -> list[tuple]:
    cols = [c for c in T.c if c.key != "id"]
    return [tuple(r) for r in conn.execute(sa.select(*cols).where(T.c.id.in_(ids)).order_by(T.c.id))]


@pytest.mark.parametrize("n", [3, COPY_FROM + 50])  # a handful (INSERT) and a batch (PostgreSQL: COPY)
def test_column_wise_rows_equal_sqlalchemys_rows(engine, n):
    starts = [date(2026, 1, 1) + timedelta(days=i % 40) for i in range(n)]
    feiten = [{"i": i, "datum": "2026-03-01", "tekst": "ë ' \" \\ \t"} for i in range(n)]
    with engine.db.begin() as conn:
        cid = conn.execute(C.insert().values(bsn="123456782", naam="", aangemaakt_op=NOW).returning(C.c.id)).scalar()
        gedeeld = {"client_id": cid, "instrument": "ww_preventie", "definitie_versie": 1, "gestart_door": "t",
                   "aangemaakt_op": NOW}
        ref = [conn.execute(T.insert().values(start_datum=s, feiten=f, **gedeeld).returning(T.c.id)).scalar()
               for s, f in zip(starts, feiten)]
        ids = allocate_ids(conn, T, n)
        bulk_insert_kolommen(conn, T, {"id": ids, "start_datum": starts, "feiten": feiten}, gedeeld)
    with engine.db.connect() as conn:
        via_sa, via_bulk = _traject_rows(conn, ref), _traject_rows(conn, ids)
    assert len(via_bulk) == n
    assert via_bulk == via_sa  # defaults (status 'actief'), dates, the moment and JSON stored alike
    assert {r[T.c.keys().index("status") - 1] for r in via_bulk} == {"actief"}


def test_allocated_ids_are_new_and_later_inserts_do_not_collide(engine):
    with engine.db.begin() as conn:
        cid = conn.execute(C.insert().values(bsn="123456782", naam="", aangemaakt_op=NOW).returning(C.c.id)).scalar()
        ids = allocate_ids(conn, C, 5)
        assert len(set(ids)) == 5 and cid not in ids
        bulk_insert_kolommen(conn, C, {"id": ids, "bsn": ["111222333", "222333444", "333444555", "444555666",
                                                            "555666777"]}, {"aangemaakt_op": NOW})
        later = conn.execute(C.insert().values(bsn="666777888", aangemaakt_op=NOW).returning(C.c.id)).scalar()
    assert later not in ids and later != cid


def test_bulk_logboek_records_one_per_person_and_activity_sharing_the_processing(engine):
    bsns = [synthetisch(random.Random(i)) for i in range(2)]
    items = [(bsns[0], "uwv_feed"), (bsns[0], "uwv_feed"), (bsns[1], "uwv_feed"),
             (bsns[0], "instrument:ww_preventie")]
    records = logboek.rijen_voor_bsns(engine, items, "systeem:test", naam="bulk", component="test")
    assert len(records) == 3  # the repeated pair once
    logboek.schrijf(engine, records)
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(V)).mappings().all()
    assert len(rows) == 3
    assert len({r["span_id"] for r in rows}) == 3
    assert {(r["trace_id"], r["naam"], r["gebruiker"], r["component"], r["betrokkene_type"]) for r in rows} == {
        (rows[0]["trace_id"], "bulk", "systeem:test", "test", "BSN")}
    sleutel = engine.settings.logboek_sleutel.get_secret_value()
    assert sorted((r["betrokkene"], r["activiteit"]) for r in rows) == sorted(
        (logboek.pseudoniem(b, sleutel), verwerkingsregister.register().get(a).uri) for b, a in dict.fromkeys(items))
    assert not any(b in str(dict(r)) for r in rows for b in bsns)
