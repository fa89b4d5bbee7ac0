"""Reading feed files: JSON Lines or CSV with the same column names.

Yields (line number, dict) for each record, or (line number, FeedParseFout) for a line that cannot be
read. A file that cannot be read at all raises FeedParseFout with the line number.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterator

import orjson

from ._record import VELDEN


class FeedParseFout(ValueError):
    """A feed line or file that cannot be parsed; ``regel`` is the 1-based line number."""

    def __init__(self, regel: int | None, reden: str):
        self.regel, self.reden = regel, reden
        super().__init__(f"regel {regel}: {reden}" if regel else reden)


def formaat(naam: str, tekst: str) -> str:
    lower = naam.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith(".csv"):
        return "csv"
    return "jsonl" if tekst.lstrip().startswith("{") else "csv"


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FeedParseFout(line, f"geen UTF-8 (byte {exc.start})") from None


def lees(tekst: str, fmt: str) -> Iterator[tuple[int, dict | FeedParseFout, str]]:
    """(line number, record or parse error, raw line)."""
    if fmt == "jsonl":
        for n, line in enumerate(tekst.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:  # the standard parser decides (it accepts NaN, huge numbers) and explains
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield n, FeedParseFout(n, f"geen geldige JSON (kolom {exc.colno}: {exc.msg})"), line
                    continue
            if not isinstance(obj, dict):
                yield n, FeedParseFout(n, "verwacht een JSON-object per regel"), line
                continue
            yield n, obj, line
        return
    lines = tekst.splitlines()
    if not lines or not lines[0].strip():
        raise FeedParseFout(1, "CSV zonder kopregel met kolomnamen")
    dialect = csv.excel
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        pass
    reader = csv.reader(io.StringIO(tekst), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise FeedParseFout(1, f"kopregel onleesbaar ({exc})") from None
    if not any(h in VELDEN for h in header):
        raise FeedParseFout(1, f"kopregel noemt geen enkel bekend veld ({', '.join(VELDEN[:3])}, ...)")
    if len(set(header)) != len(header):
        raise FeedParseFout(1, "kopregel noemt een kolom twee keer")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FeedParseFout(reader.line_num, f"CSV onleesbaar ({exc})") from None
        n = reader.line_num
        raw_line = lines[n - 1] if n - 1 < len(lines) else ""
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            yield n, FeedParseFout(n, f"{len(row)} kolommen, kopregel heeft er {len(header)}"), raw_line
            continue
        yield n, dict(zip(header, row)), raw_line


def lees_bestand(path: Path) -> tuple[str, Iterator]:
    data = Path(path).read_bytes()
    tekst = decode(data)
    return tekst, lees(tekst, formaat(Path(path).name, tekst))
