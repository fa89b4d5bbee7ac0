"""Property-based API tests: schemathesis generates requests from the app's own OpenAPI document.

Every operation of /openapi.json is called with generated path, query and body values (the examples,
coverage and fuzzing phases), twice: as a beheerder (bearer token: every route is open to that role,
so the inputs reach the handlers) and without any credentials. The properties:

* authenticated: never a 5xx, whatever the input (validation answers 4xx naming the field);
* unauthenticated: always 401 with ``WWW-Authenticate: Bearer``: no input gets past the login (only
  a body that cannot be parsed at all is answered 400/422 first: FastAPI parses it before the login check).

Bounded for CI: a few examples per operation and a deadline per example; the whole file runs in well
under two minutes. The database is a real SQLite file with a client, trajectories, a task, payouts, a
batch and a quarantined feed record, so small ids hit existing rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import open_engine
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.web import create_app, maak_token

from .test_autorisatie import maak_zaak, vul_gebruikers

MAX_EXAMPLES = 12
DEADLINE = timedelta(seconds=2)  # per generated example (one request), generous for a slow CI machine
pytestmark = pytest.mark.slow


def _api():
    """The app on a fresh SQLite file with some data, and a beheerder token. Built when the module is
    imported: schemathesis' pytest integration needs the schema at collection time (its fixture-based
    lazy loader does not work with pytest 9)."""
    import atexit
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="trajecten-schemathesis-")
    url = f"sqlite:///{tmp}/api.db"
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    engine = open_engine(url, clock)
    vul_gebruikers(engine)
    maak_zaak(engine, clock)
    app = create_app(engine, secret_key="schemathesis")
    token = maak_token(engine, "schemathesis", "beheerder")

    def opruimen():
        engine.db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    atexit.register(opruimen)
    return app, token


APP, TOKEN = _api()
schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # the UWV feed push: JSON Lines as text
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
BOUNDED = settings(max_examples=MAX_EXAMPLES, deadline=DEADLINE, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


@schema.parametrize()
@BOUNDED
def test_no_5xx_as_beheerder(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error])


@schema.parametrize()
@BOUNDED
def test_unauthenticated_is_always_401(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.cookies = {}
    r = case.call()
    if case.method.upper() != case.operation.method.upper():  # the coverage phase also tries other methods
        # 405, or 401 when another route matches (GET /api/clients/zoek is /api/clients/{client_id})
        assert r.status_code in (401, 405), (case.method, case.formatted_path, r.status_code)
        return
    if r.status_code == 400 and r.json() == {"detail": "There was an error parsing the body"}:
        return  # see the next line
    if r.status_code == 422 and all(e.get("type") == "json_invalid" for e in r.json()["detail"]):
        return  # FastAPI decodes a JSON body before it runs any dependency: an unparseable body is 400/422
        # even without login; it says nothing about data (the same for every request of that route)
    assert r.status_code == 401, (case.method, case.formatted_path, r.status_code, r.text[:200])
    assert r.headers.get("www-authenticate") == ["Bearer"], r.headers
