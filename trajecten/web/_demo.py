"""Demo users, one per role and area team, matching the demo caseload's coaches (``coach.<gebied>.<n>``)."""

from __future__ import annotations

import sqlalchemy as sa

from trajecten.demo import GEBIEDEN
from trajecten.clienten.gebieden import centrale_doelgroepen
from trajecten.web._auth import A, G, maak_gebruiker, maak_token, token_hash

DEMO_WACHTWOORD = "demo-wachtwoord"  # demo only: printed at start
DEMO_TOKEN = "demo-uwv-feed-token"  # the demo feed push token (role koppeling)


def _lijst() -> list[tuple[str, str, str | None, str]]:
    out = []
    teams = list(GEBIEDEN) + sorted(set(centrale_doelgroepen().values()))  # area teams, then central teams
    for g in teams:
        for n in range(1, 4 if g in GEBIEDEN else 2):  # the demo caseload's coaches: 3 per area team
            out.append((f"coach.{g.lower()}.{n}", "coach", g, f"Coach {g} {n}"))
    for g in teams:
        out.append((f"teamleider.{g.lower()}", "teamleider", g, f"Teamleider {g}"))
    out += [("teamleider", "teamleider", None, "Teamleider (alle gebieden)"),
            ("financien", "financien", None, "Financiën"), ("beleid", "beleid", None, "Beleid"),
            ("beheerder", "beheerder", None, "Beheerder")]
    return out


def demo_gebruikers(engine, wachtwoord: str = DEMO_WACHTWOORD) -> list[dict]:
    """Create the demo users that do not exist yet (and the feed token); returns the table to print."""
    with engine.db.connect() as conn:
        bestaand = set(conn.execute(sa.select(G.c.gebruikersnaam)).scalars())
    rows = []
    for naam, rol, gebied, volledig in _lijst():
        if naam not in bestaand:
            maak_gebruiker(engine, naam, wachtwoord, rol, naam=volledig, gebied=gebied,
                           email=f"{naam}@{engine.settings.mail_domein}")
        rows.append({"gebruikersnaam": naam, "rol": rol, "gebied": gebied or "alle", "wachtwoord": wachtwoord})
    with engine.db.connect() as conn:
        has_token = conn.execute(sa.select(A.c.id).where(A.c.token_hash == token_hash(DEMO_TOKEN))).first()
    if not has_token:
        maak_token(engine, "uwv-feed (demo)", "koppeling", token=DEMO_TOKEN)
    return rows
