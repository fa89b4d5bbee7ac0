"""The UWV handover feed: strict validation, quarantine with reasons, duplicates counted, files and an
HTTP pull against a real local server (pages, a cursor, a 500 and a timeout on the way)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.uwv import VELDEN, FeedClient, FeedOphaalFout, RetryPolicy, haal_op, importeer_bestand, lees_cursor, verwerk
from connectors.uwv import herverwerk
from trajecten.basis.bsn import synthetisch
from trajecten.opslag.models import Client, Quarantaine, Traject, UwvOverdracht

TODAY = date(2026, 1, 5)  # the clock fixture's day


def rec(i: int, **kw) -> dict:
    import random

    r = {"uwv_referentie": f"UWV-{i}", "bsn": synthetisch(random.Random(i)), "geboortedatum": "1975-04-12",
         "postcode": "9713 AB", "ww_startdatum": "2025-06-01",
         "ww_einddatum": (TODAY + timedelta(days=120 + i % 200)).isoformat(), "risico_langdurig": True}
    r.update(kw)
    return {k: v for k, v in r.items() if v is not ...}


def counts(engine) -> tuple:
    with engine.reader.connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                     for t in (Client.__table__, Traject.__table__, UwvOverdracht.__table__, Quarantaine.__table__))


def items(records):
    return [(i, r, json.dumps(r)) for i, r in enumerate(records, 1)]


def test_record_outcomes_and_summary(engine):
    records = [
        rec(1),  # starts now: WW ends in < 6 months
        rec(2, ww_einddatum=(TODAY + timedelta(days=400)).isoformat()),  # scheduled at end - 6 months
        rec(3, risico_langdurig=False),  # accepted, no trajectory
        rec(1),  # same reference: a duplicate
        rec(4, bsn=rec(1)["bsn"]),  # same person again: already has a running preventie trajectory
        rec(5, ww_einddatum=TODAY.isoformat()),  # WW already ended: rejected with the reason
        rec(6, postcode="1012 AB"),  # outside the municipality
        rec(7, kleur="blauw"),  # unknown field: reported, not fatal
    ]
    s = verwerk(engine, items(records), "test")
    assert (s.ontvangen, s.geaccepteerd, s.gestart, s.gepland, s.geen_risico, s.al_lopend, s.dubbel, s.quarantaine) == (
        8, 5, 2, 1, 1, 1, 1, 2)
    assert dict(s.per_reden) == {"ww_einddatum": 1, "postcode": 1}
    assert dict(s.onbekende_velden) == {"kleur": 1}
    with engine.reader.connect() as conn:
        tr = {r.feiten["uwv_referentie"]: r for r in conn.execute(sa.select(Traject.__table__))}
        q = conn.execute(sa.select(Quarantaine.__table__).order_by(Quarantaine.__table__.c.id)).all()
    assert tr["UWV-1"].status == "actief" and tr["UWV-1"].start_datum == TODAY
    ends = date.fromisoformat(rec(2, ww_einddatum=(TODAY + timedelta(days=400)).isoformat())["ww_einddatum"])
    assert tr["UWV-2"].status == "gepland" and tr["UWV-2"].start_datum == date(ends.year - (ends.month <= 6),
                                                                                  (ends.month - 7) % 12 + 1, ends.day)
    assert [x["veld"] for x in q[0].redenen] == ["ww_einddatum"] and "geëindigd" in q[0].redenen[0]["reden"]
    assert json.loads(q[0].inhoud)["uwv_referentie"] == "UWV-5"  # the raw content is kept
    assert q[1].redenen == [{"veld": "postcode", "reden": "1012 ligt buiten de gemeente Groningen"}]


def test_chunks_of_three_give_what_one_transaction_gives(engine):
    """Chunk boundaries (and on PostgreSQL the two writers) change nothing: a duplicate reference, a second
    record of the same person and a rejected record in later chunks are seen as in one transaction."""
    records = [rec(i) for i in range(1, 9)] + [rec(3), rec(20, bsn=rec(2)["bsn"]), rec(21, bsn=rec(5)["bsn"]),
                                               rec(22, postcode="1012 AB"), rec(23, risico_langdurig=False)]
    s = verwerk(engine, items(records), "test", chunk=3)
    assert (s.ontvangen, s.geaccepteerd, s.gestart, s.gepland, s.geen_risico, s.al_lopend, s.dubbel, s.quarantaine) == (
        13, 11, 8, 0, 1, 2, 1, 1)
    assert counts(engine) == (9, 8, 11, 1)  # clients, trajectories, handovers, quarantine


def test_same_file_twice_changes_nothing(engine, tmp_path):
    path = tmp_path / "overdracht.jsonl"
    lines = [json.dumps(rec(i)) for i in range(1, 40)] + ["{kapot", json.dumps(rec(99, bsn="123456789"))]
    path.write_text("\n".join(lines) + "\n")
    first = importeer_bestand(engine, path)
    assert (first.geaccepteerd, first.quarantaine) == (39, 2)
    before = counts(engine)
    second = importeer_bestand(engine, path)
    assert (second.geaccepteerd, second.dubbel, second.quarantaine) == (0, 39, 2)
    assert counts(engine) == before  # nothing new: no client, trajectory, handover or quarantine row


def test_csv_same_columns_and_unparseable_file(engine, tmp_path):
    csv_path = tmp_path / "overdracht.csv"
    cols = list(VELDEN[:7])
    rows = [",".join(cols)] + [",".join(str(rec(i)[c]).lower() if c == "risico_langdurig" else str(rec(i)[c])
                                         for c in cols) for i in (11, 12)]
    rows.append("UWV-13,123")  # too few columns
    csv_path.write_text("\n".join(rows) + "\n")
    s = importeer_bestand(engine, csv_path)
    assert (s.ontvangen, s.geaccepteerd, s.quarantaine) == (3, 2, 1)
    bad = tmp_path / "kapot.csv"
    bad.write_bytes(b"uwv_referentie,bsn\nabc,\xff\xfe\n")
    s = importeer_bestand(engine, bad)
    assert s.bestand_fout and "regel 2" in s.bestand_fout and "UTF-8" in s.bestand_fout
    with engine.reader.connect() as conn:
        q = conn.execute(sa.select(Quarantaine.__table__).where(Quarantaine.__table__.c.bron == "kapot.csv")).one()
    assert q.redenen[0]["veld"] == "bestand" and q.regelnr == 2


def test_quarantined_record_reprocessed_after_correction(engine):
    s = verwerk(engine, items([rec(21, bsn="123456789")]), "test")
    assert s.quarantaine == 1
    with engine.reader.connect() as conn:
        qid = conn.execute(sa.select(Quarantaine.__table__.c.id)).scalar()
    still_bad = herverwerk(engine, qid, rec(21, bsn="12345"), door="medewerker.a")
    assert still_bad.quarantaine == 1 and still_bad.per_reden["bsn"] == 1
    ok = herverwerk(engine, qid, rec(21), door="medewerker.a")
    assert (ok.geaccepteerd, ok.gestart) == (1, 1)
    with engine.reader.connect() as conn:
        q = conn.execute(sa.select(Quarantaine.__table__)).one()
    assert (q.status, q.verwerkt_door) == ("verwerkt", "medewerker.a")


# --------------------------------------------------------------------------- property: 10,000 records

BROKEN = {
    "uwv_referentie": st.sampled_from(["", " ", "a" * 80, "héé", 12, None]),
    # "12345678²" and Arabic-Indic digits: str.isdigit() accepts them, int() refused them (crashed the import)
    "bsn": st.sampled_from(["123456789", "12345", "abcdefghi", 111222333.0, True, "", None, "12345678²",
                            "١٢٣٤٥٦٧٨٢"]),
    "geboortedatum": st.sampled_from(["1980-02-30", "01-02-1980", "2999-01-01", 19800101, "", None]),
    "postcode": st.sampled_from(["12345", "9713 SA", "AB 9713", "1012 AB", 9713, "", None]),
    "ww_startdatum": st.sampled_from(["2025-13-01", "gisteren", 5, "", None, "2099-01-01"]),
    "ww_einddatum": st.sampled_from(["2026-02-30", "2020-01-01", "2026-01-05", 7, "", None]),
    "risico_langdurig": st.sampled_from(["misschien", 2, [], "", None]),
    "telefoon": st.sampled_from(["12", "telefoon", 612345678, "+31 6 1234 5678 999999999"]),
    "email": st.sampled_from(["geen-mail", "a@b", 5, "x@@y.nl"]),
    "opmerking": st.sampled_from(["x" * 501, 42, ["lijst"]]),
}

record_strategy = st.tuples(st.sampled_from([None, *BROKEN]), st.data())


@st.composite
def feed_records(draw, n: int):
    out = []
    for i in range(n):
        field = draw(st.sampled_from([None, None, *BROKEN]))
        r = rec(i)
        if field is not None:
            value = draw(BROKEN[field])
            if value is None:
                r.pop(field, None)
            else:
                r[field] = value
        out.append((field, r))
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                   HealthCheck.function_scoped_fixture])
@given(batch=feed_records(500))
def test_every_record_is_accepted_or_quarantined_naming_its_field(engine, batch):
    # 20 examples x 500 records = 10,000 generated records, valid and broken in every field
    with engine.db.begin() as conn:  # each example starts from an empty feed
        for t in (UwvOverdracht.__table__, Quarantaine.__table__):
            conn.execute(t.delete())
    recs = [r for _, r in batch]
    s = verwerk(engine, items(recs), "hypothesis")
    assert s.ontvangen == len(recs)
    assert s.geaccepteerd + s.dubbel + s.quarantaine == s.ontvangen
    assert s.gestart + s.gepland + s.geen_risico + s.al_lopend == s.geaccepteerd
    with engine.reader.connect() as conn:
        reasons = {q.inhoud_hash: {x["veld"] for x in q.redenen}
                   for q in conn.execute(sa.select(Quarantaine.__table__))}
        accepted = set(conn.execute(sa.select(UwvOverdracht.__table__.c.referentie)).scalars())
    for field, r in batch:
        raw = json.dumps(r)
        digest = hashlib.sha256(raw.encode()).hexdigest()
        if digest in reasons:
            assert reasons[digest] <= set(VELDEN) | {"regel"}, reasons[digest]
            if field is not None:
                assert field in reasons[digest], (field, reasons[digest])
        elif field in ("telefoon", "email", "opmerking", None) and r.get("uwv_referentie") in accepted:
            continue  # a valid record, or one whose broken optional field was accepted as absent
        else:
            assert r.get("uwv_referentie") in accepted, (field, r)


# --------------------------------------------------------------------------- HTTP pull against a real server


class _Feed:
    def __init__(self, records, page=3):
        self.records, self.page = records, page
        self.calls: list[dict] = []
        self.fail_next_500 = False
        self.slow_next = 0.0
        self.token_seen = None


def _server(feed: _Feed):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def do_GET(self):  # noqa: N802
            q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            feed.calls.append(q)
            feed.token_seen = self.headers.get("Authorization")
            if feed.fail_next_500:
                feed.fail_next_500 = False
                self.send_response(500)
                self.end_headers()
                return
            if feed.slow_next:
                delay, feed.slow_next = feed.slow_next, 0.0
                time.sleep(delay)
            start = int(q.get("cursor", "0"))
            limit = min(int(q.get("limit", "100")), feed.page)
            chunk = feed.records[start:start + limit]
            body = json.dumps({"records": chunk, "volgende_cursor": str(start + len(chunk)),
                               "meer": start + len(chunk) < len(feed.records)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.handle_error = lambda *a: None  # the client hanging up on the slow answer is the point of that test
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/uwv/overdrachten"


@pytest.fixture
def feed_server():
    feed = _Feed([rec(i) for i in range(1, 8)])
    srv, url = _server(feed)
    yield feed, url
    srv.shutdown()
    srv.server_close()


def test_http_pull_pages_cursor_retries(engine, feed_server):
    feed, url = feed_server
    feed.fail_next_500 = True  # the first request fails with a 500
    client = FeedClient(url, token="geheim", timeout_s=0.5, retry=RetryPolicy(pogingen=4, start_s=0.01), sleep=lambda s: None)
    res = haal_op(engine, client, limit=3)
    assert res.samenvatting.geaccepteerd == 7 and res.paginas == 3 and res.herhaald == 1
    assert lees_cursor(engine) == "7" and feed.token_seen == "Bearer geheim"
    # new records arrive; a timeout on the way is retried; the re-run fetches only what is new
    feed.records += [rec(i) for i in range(8, 10)]
    feed.slow_next = 1.0
    calls_before = len(feed.calls)
    res2 = haal_op(engine, client, limit=3)
    assert res2.samenvatting.ontvangen == 2 and res2.samenvatting.geaccepteerd == 2 and res2.herhaald == 1
    assert [c.get("cursor") for c in feed.calls[calls_before:]] == ["7", "7"]  # timed out, then again from 7
    client.close()


def test_http_pull_gives_up_clearly(engine):
    client = FeedClient("http://127.0.0.1:9/niets", timeout_s=0.2, retry=RetryPolicy(pogingen=3, start_s=0.01),
                        sleep=lambda s: None)
    with pytest.raises(FeedOphaalFout, match="niet bereikbaar na 3 pogingen"):
        haal_op(engine, client)
    assert lees_cursor(engine) is None
    client.close()


def test_published_schema_is_current_and_matches_the_validator():
    from pathlib import Path

    from connectors.uwv import VERPLICHT, json_schema

    doc = Path(__file__).resolve().parent.parent / "docs" / "uwv-feed.schema.json"
    schema = json.loads(doc.read_text(encoding="utf-8"))
    assert schema == json_schema(), "docs/uwv-feed.schema.json is stale: regenerate with write_json_schema"
    assert set(schema["properties"]) == set(VELDEN) and set(schema["required"]) == set(VERPLICHT)
