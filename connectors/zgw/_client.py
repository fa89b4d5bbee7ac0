"""A small client for the three Zaken API 1.x calls we need (as Open Zaak implements them).

All network I/O goes through :meth:`ZakenClient._request` (one call, errors translated at the edge);
tests plug in an ``httpx.MockTransport`` or run the stand-in as a real local server. Each operation is
idempotent: it looks before it creates, so a retry after a timeout in which the service did create
the object finds it instead of creating a second one.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any, Callable, TypeVar

import httpx
import jwt

from trajecten.basis.herhalen import RetryPolicy
from trajecten.basis.tijd import SystemClock

from ._exceptions import Geweigerd, Onbereikbaar, Serverfout, TijdelijkeFout

CRS = "EPSG:4326"  # the Zaken API requires Accept-Crs / Content-Crs on /zaken (zaakgeometrie), even without geometry
R = TypeVar("R")


# one call within a run: 3 attempts, 0.5 s then 1 s apart (trajecten.RetryPolicy; setting zgw_verzoek_pogingen)
VERZOEK = RetryPolicy(pogingen=3, start_s=0.5, max_s=5.0)


class ZakenClient:
    """``base_url`` is the Zaken API root, e.g. ``https://openzaak.example.nl/zaken/api/v1``."""

    def __init__(self, base_url: str, client_id: str, secret: str, *, timeout: float = 10.0,
                 retry: RetryPolicy = VERZOEK, transport: httpx.BaseTransport | None = None,
                 user_id: str = "trajecten", user_representation: str = "Trajectenmotor",
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self._client_id, self._secret = client_id, secret
        self._user = (user_id, user_representation)
        self.retry = retry
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"Accept": "application/json", "User-Agent": "trajecten-zgw/1"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ZakenClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ operations

    def registreer_zaak(self, body: dict[str, Any]) -> dict:
        """The zaak with ``body['identificatie']`` for ``body['bronorganisatie']``: found, or created.

        Looking first (every attempt) makes a retry safe: a POST that timed out after the service stored
        the zaak is found by the next attempt instead of creating a second zaak."""

        def once(_poging: int) -> dict:
            found = self.zoek_zaak(body["identificatie"], body["bronorganisatie"])
            if found is not None:
                return found
            try:
                return self._request("POST", "/zaken", json=body, crs=True)
            except Geweigerd as exc:
                # created meanwhile by someone else (Open Zaak: identificatie unique per bronorganisatie)
                if any(p.get("code") == "identificatie-niet-uniek" for p in exc.invalid_params):
                    again = self.zoek_zaak(body["identificatie"], body["bronorganisatie"])
                    if again is not None:
                        return again
                raise

        return self._retrying(once)

    def zoek_zaak(self, identificatie: str, bronorganisatie: str) -> dict | None:
        page = self._request("GET", "/zaken", params={"identificatie": identificatie,
                                                      "bronorganisatie": bronorganisatie}, crs=True)
        results = page.get("results") or []
        return results[0] if results else None

    def zet_status(self, zaak_url: str, statustype: str, gezet_op: datetime, toelichting: str = "") -> dict:
        """A status of ``statustype`` on the zaak; after a failed attempt, an existing one is reused."""
        body = {"zaak": zaak_url, "statustype": statustype, "datumStatusGezet": _iso(gezet_op)}
        if toelichting:
            body["statustoelichting"] = toelichting[:1000]

        def once(poging: int) -> dict:
            if poging > 1:
                found = self._first("/statussen", {"zaak": zaak_url, "statustype": statustype})
                if found is not None:
                    return found
            return self._request("POST", "/statussen", json=body)

        return self._retrying(once)

    def zet_resultaat(self, zaak_url: str, resultaattype: str, toelichting: str = "") -> dict:
        """The resultaat of the zaak (a zaak has at most one); an existing one is reused."""
        body = {"zaak": zaak_url, "resultaattype": resultaattype}
        if toelichting:
            body["toelichting"] = toelichting[:1000]

        def once(_poging: int) -> dict:
            found = self._first("/resultaten", {"zaak": zaak_url})
            if found is not None:
                return found
            return self._request("POST", "/resultaten", json=body)

        return self._retrying(once)

    def _first(self, path: str, params: dict) -> dict | None:
        page = self._request("GET", path, params=params)
        if isinstance(page, list):  # some list endpoints are not paginated
            return page[0] if page else None
        results = page.get("results") or []
        return results[0] if results else None

    # ------------------------------------------------------------------ the narrow part

    def _retrying(self, once: Callable[[int], R]) -> R:
        for poging in range(1, self.retry.pogingen + 1):
            try:
                return once(poging)
            except TijdelijkeFout:
                if poging >= self.retry.pogingen:
                    raise
                self._sleep(self.retry.seconden(poging))
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self) -> str:
        claims = {"iss": self._client_id, "iat": int(SystemClock().now().timestamp()), "client_id": self._client_id,
                  "user_id": self._user[0], "user_representation": self._user[1]}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def _request(self, method: str, path: str, *, json: dict | None = None, params: dict | None = None,
                 crs: bool = False) -> Any:
        """One HTTP call. Errors leave here as :class:`TijdelijkeFout` or :class:`Geweigerd` only."""
        headers = {"Authorization": f"Bearer {self._token()}"}
        if crs:
            headers["Accept-Crs"] = CRS
            if json is not None:
                headers["Content-Crs"] = CRS
        url = path if path.startswith("http") else self.base_url + path
        try:
            resp = self._http.request(method, url, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise Onbereikbaar(f"{method} {path}: timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Onbereikbaar(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise Serverfout(f"{method} {path}: HTTP {resp.status_code}", status=resp.status_code)
        if resp.status_code >= 400:
            raise _geweigerd(method, path, resp)
        return resp.json() if resp.content else {}


def _geweigerd(method: str, path: str, resp: httpx.Response) -> Geweigerd:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    params = data.get("invalidParams") or data.get("invalid_params") or []
    detail = "; ".join(f"{p.get('name')}: {p.get('code')} ({p.get('reason')})" for p in params if isinstance(p, dict))
    detail = detail or data.get("detail") or data.get("title") or resp.text[:300]
    return Geweigerd(f"{method} {path}: HTTP {resp.status_code} {data.get('code', '')}: {detail}".strip(),
                     status=resp.status_code, code=str(data.get("code", "")), invalid_params=params)


def _iso(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("naive datetime refused: give a timezone")
        return moment.isoformat()
    return moment.isoformat()
