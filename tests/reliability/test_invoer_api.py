"""Input hardening, REST API: every JSON endpoint of the app (taken from its own routes and OpenAPI
document, each in ROUTE_ROLES) is fed broken input (hypothesis) as a beheerder, on SQLite and PostgreSQL:
a body that is not a JSON object, a declared field with a value of the wrong type, an undeclared field,
a path id that is no number or out of range, a query parameter of the wrong type. Each answer is 422
naming the broken field in ``detail[].loc`` (never a 5xx, never a success), and the database is exactly as
before (row count and content hash of every table). The UWV push endpoint takes a file: broken files go
to quarantine (see test_invoer_bestanden.py), so there only quarantine rows may appear.

(test_schemathesis.py checks "no 5xx" from the schema's generated requests; this adds "names the field"
and "changes nothing".)
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import open_engine
from tests.reliability.harness import LOGBOEK, snapshot
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.web import ROUTE_ROLES, create_app, maak_token

from ..test_autorisatie import JSON_BODIES, maak_zaak, vul_gebruikers

from datetime import datetime

EXAMPLES = 40  # over all endpoints, per backend
MAX_ID = 2_147_483_647
PUSH = ("POST", "/api/feeds/uwv")


@pytest.fixture
def api(db_url):
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    eng = open_engine(db_url, clock)
    vul_gebruikers(eng)
    zaak = maak_zaak(eng, clock)
    app = create_app(eng, secret_key="invoer")
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {maak_token(eng, 'invoer', 'beheerder')}"
    yield app, client, eng, zaak
    eng.db.dispose()


def _operations(app) -> list[dict]:
    """The JSON API operations with the inputs they declare (path, query, JSON body properties)."""
    spec = app.openapi()
    comps = spec.get("components", {}).get("schemas", {})

    def deref(s):
        while isinstance(s, dict) and "$ref" in s:
            s = comps[s["$ref"].rsplit("/", 1)[1]]
        return s

    ops = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            key = (method.upper(), path)
            if key not in ROUTE_ROLES or not path.startswith("/api/"):
                continue
            params = op.get("parameters", [])
            body = deref(op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema"))
            if body and "anyOf" in body:  # Optional[Model]
                body = next((deref(x) for x in body["anyOf"] if deref(x).get("type") == "object"), None)
            ops.append({"key": key, "path": [p["name"] for p in params if p["in"] == "path"],
                        "query": {p["name"]: deref(p.get("schema", {})) for p in params if p["in"] == "query"},
                        "body": {k: deref(v) for k, v in (body or {}).get("properties", {}).items()} if body else None,
                        "json_body": body is not None})
    return ops


def _types(schema: dict) -> set[str]:
    """The JSON types a schema accepts ("any" when it does not say)."""
    if not schema:
        return {"any"}
    alts = schema.get("anyOf") or schema.get("oneOf")
    if alts:
        return set().union(*(_types(a) for a in alts))
    t = schema.get("type")
    if t is None:
        return {"any"}
    return {"number", "integer"} if t == "number" else {t}


def _wrong(schema: dict):
    """A JSON value of a type the schema does not accept (None when it accepts anything)."""
    ts = _types(schema)
    if "any" in ts:
        return None
    for value, kind in (({"zz": [1]}, "object"), ([[1]], "array"), ("zz-geen-waarde", "string"), (True, "boolean")):
        if kind not in ts:
            return value
    return None


def _wrong_query(schema: dict) -> str | None:
    """A query string value the parameter does not accept."""
    alts = schema.get("anyOf") or [schema]
    alts = [a for a in alts if a.get("type") != "null"]
    if not alts:
        return None
    if all(a.get("type") in ("integer", "number") for a in alts):
        return "zz-geen-getal"
    if all(a.get("type") == "boolean" for a in alts):
        return "misschien"
    if all("enum" in a for a in alts):
        return "zz-geen-keuze"
    if all(a.get("type") == "string" and a.get("maxLength") for a in alts):
        return "x" * (max(a["maxLength"] for a in alts) + 1)
    return None


def _kinds(op) -> list[str]:
    kinds = []
    if op["json_body"]:
        kinds += ["not_object", "extra"]
        if any(_wrong(s) is not None for s in op["body"].values()):
            kinds.append("wrong_type")
    if op["path"]:
        kinds.append("path")
    if any(_wrong_query(s) is not None for s in op["query"].values()):
        kinds.append("query")
    return kinds


def _fill(path: str, zaak: dict) -> str:
    ids = {"client_id": zaak["client_id"], "traject_id": zaak["traject_id"], "taak_id": zaak["taak_id"],
           "uitbetaling_id": zaak["uitbetaling_id"]}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


def _base_body(key, zaak) -> dict:
    raw = json.dumps(JSON_BODIES.get(key, {}))
    raw = raw.replace('"{client_id}"', str(zaak["client_id"])).replace("{rol}", "invoer")
    return json.loads(raw)


@st.composite
def broken_request(draw, ops, zaak):
    op = draw(st.sampled_from(ops))
    method, path = op["key"]
    kind = draw(st.sampled_from(_kinds(op)))
    url, body, field, query = _fill(path, zaak), None, None, {}
    if op["json_body"]:
        body = _base_body(op["key"], zaak)
    if kind == "not_object":
        body = draw(st.one_of(st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=20), st.none(),
                              st.booleans()))
        field = "body"
    elif kind == "extra":
        field = "zz_" + draw(st.from_regex(r"[a-z]{1,12}", fullmatch=True))
        body[field] = draw(st.one_of(st.integers(), st.text(max_size=50)))
    elif kind == "wrong_type":
        field = draw(st.sampled_from(sorted(k for k, s in op["body"].items() if _wrong(s) is not None)))
        body[field] = _wrong(op["body"][field])
    elif kind == "path":
        field = draw(st.sampled_from(op["path"]))
        bad = draw(st.one_of(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.sampled_from(["0", "-1", "1.5"]),
                             st.integers(MAX_ID + 1, 10**30).map(str)))
        url = re.sub(r"\{(\w+)\}", lambda m: bad if m.group(1) == field else m.group(0), path)
        url = _fill(url, zaak)
    elif kind == "query":
        field = draw(st.sampled_from(sorted(k for k, s in op["query"].items() if _wrong_query(s) is not None)))
        query[field] = _wrong_query(op["query"][field])
    return method, url, body, field, query, kind


def test_every_endpoint_refuses_broken_input_naming_the_field_and_changes_nothing(api):
    app, client, eng, zaak = api
    ops = [op for op in _operations(app) if op["key"] != PUSH]
    assert len(ops) >= 20, [op["key"] for op in ops]
    no_input = sorted(op["key"] for op in ops if not _kinds(op))  # e.g. GET /api/ik: nothing to break
    ops = [op for op in ops if _kinds(op)]
    assert len(ops) >= 15, no_input
    seen = set()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(broken_request(ops, zaak))
    def prop(req):
        method, url, body, field, query, kind = req
        seen.add((method, url.split("?")[0], kind))
        before = snapshot(eng.db)
        if body is None:
            r = client.request(method, url, params=query)
        else:
            r = client.request(method, url, params=query, content=json.dumps(body),
                               headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (method, url, kind, field, r.status_code, r.text[:400])
        locs = [[str(x) for x in e.get("loc", [])] for e in r.json()["detail"]]
        assert any(field in loc for loc in locs), (method, url, kind, field, locs)
        assert snapshot(eng.db) == before, f"{method} {url} ({kind}) changed the database"

    prop()
    assert len({s[0:2] for s in seen}) >= 10, "too few endpoints reached"


def test_the_feed_push_never_fails_on_junk_and_only_quarantines(api):
    app, client, eng, zaak = api

    @settings(max_examples=15, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=300))
    def prop(data):
        before = snapshot(eng.db, exclude=LOGBOEK | {"quarantaine"})
        r = client.post("/api/feeds/uwv", content=data, headers={"Content-Type": "application/x-ndjson"})
        assert r.status_code < 500, r.text[:300]
        if r.status_code == 200:
            assert r.json()["geaccepteerd"] == 0
        assert snapshot(eng.db, exclude=LOGBOEK | {"quarantaine"}) == before

    prop()
