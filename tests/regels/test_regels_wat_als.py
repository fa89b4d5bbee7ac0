"""What-if over a caseload: gained/lost eligibility, money effect, ids."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from regels import beslis, wat_als


def _client(bijstand_sinds: str, werk_nog_op: str | None = None) -> dict:
    return {
        "bijstand_sinds": bijstand_sinds,
        "werk_start": "2021-03-01",
        "uren_per_week": 20,
        "contract_maanden": 12,
        "geboortedatum": "1980-06-15",
        "werk_nog_op": werk_nog_op,
    }


PEIL = date(2021, 10, 1)
CASELOAD = [
    ("a", _client("2017-01-01", "2021-09-01"), PEIL),  # eligible either way, 1200
    ("b", _client("2018-09-01", "2021-09-01"), PEIL),  # 30 months: only with 24, 1200
    ("c", _client("2019-09-01"), PEIL),  # 18 months: never
    ("d", dict(_client("2017-01-01"), uren_per_week=-1), PEIL),  # bad facts
]


def test_wat_als_min_bijstand_24():
    r = wat_als("premie_op_werk", CASELOAD, {"premie_op_werk.min_bijstand_maanden": 24})
    assert r.aantal == 3
    assert (r.ja_voor, r.ja_na) == (1, 2)
    assert r.gewonnen == ("b",) and r.verloren == ()
    assert (r.aantal_gewonnen, r.aantal_verloren) == (1, 0)
    assert r.bedrag_voor == Decimal("1200.00") and r.bedrag_na == Decimal("2400.00")
    assert r.geldeffect == Decimal("1200.00")
    assert [i for i, _ in r.fouten] == ["d"] and "uren_per_week" in r.fouten[0][1]
    assert r.to_json()["geldeffect"] == "1200.00"
    assert "+1" in r.samenvatting()


def test_wat_als_verliezen_en_laat_niets_achter():
    r = wat_als("premie_op_werk", CASELOAD[:3], {"premie_op_werk.min_uren_per_week": 24})
    assert r.verloren == ("a",) and r.gewonnen == ()
    assert r.geldeffect == Decimal("-1200.00")
    # later decisions are untouched
    assert beslis("premie_op_werk", CASELOAD[0][1], PEIL).uitkomst is True


def test_wat_als_bedrag():
    r = wat_als("premie_op_werk", CASELOAD[:1], {"premie_op_werk.bedrag_deel_2": "1000.00"})
    assert r.geldeffect == Decimal("100.00") and r.gewonnen == r.verloren == ()
