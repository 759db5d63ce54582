"""Reading request bodies the way DRF validates them: every problem becomes an `invalidParams`
entry (name, code, reason), so one 400 names all that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy import Table, select
from sqlalchemy.engine import Connection, Row

from assistant.sandbox.zgw.protocol import TODAY, Errors, invalid, ref_uuid


async def json_body(request: web.Request) -> dict[str, Any]:
    """The JSON object in the body; DRF's `parse_error` or `invalid` when there is none."""
    try:
        body = await request.json()
    except ValueError as error:
        raise invalid(
            [("nonFieldErrors", "parse_error", f"JSON parse error - {error}")], code="parse_error"
        ) from None
    if not isinstance(body, dict):
        reason = f"Ongeldige data. Verwacht een dictionary, kreeg een {type(body).__name__}."
        raise invalid([("nonFieldErrors", "invalid", reason)])
    return body


def text_field(
    body: Mapping[str, Any], name: str, errors: Errors, limit: int, required: bool = False
) -> str:
    value = body.get(name)
    if value is None:
        if required:
            errors.append((name, "required", "Dit veld is vereist."))
        return ""
    if not isinstance(value, str):
        errors.append((name, "invalid", "Geen geldige string."))
        return ""
    if required and not value.strip():
        errors.append((name, "blank", "Dit veld mag niet leeg zijn."))
    if len(value) > limit:
        reason = f"Zorg ervoor dat dit veld niet meer dan {limit} karakters bevat."
        errors.append((name, "max_length", reason))
    return value


def date_field(
    body: Mapping[str, Any], name: str, errors: Errors, required: bool = False
) -> date | None:
    value = body.get(name)
    if value is None:
        if required:
            errors.append((name, "required", "Dit veld is vereist."))
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        reason = "Datum heeft het verkeerde formaat. Gebruik een van deze formaten: YYYY-MM-DD."
        errors.append((name, "invalid", reason))
        return None


def datetime_field(body: Mapping[str, Any], name: str, errors: Errors) -> datetime | None:
    value = body.get(name)
    if value is None:
        errors.append((name, "required", "Dit veld is vereist."))
        return None
    try:
        return utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        errors.append((name, "invalid", "Datetime heeft een ongeldig formaat."))
        return None


def reference_field(
    conn: Connection,
    table: Table,
    body: Mapping[str, Any],
    name: str,
    api: str,
    collection: str,
    errors: Errors,
) -> Row | None:
    """The row a required URL field refers to; `bad-url` when it refers to nothing of ours."""
    if body.get(name) is None:
        errors.append((name, "required", "Dit veld is vereist."))
        return None
    row = conn.execute(
        select(table).where(table.c.uuid == (ref_uuid(body[name], api, collection) or ""))
    ).first()
    if row is None:
        errors.append((name, "bad-url", "De URL verwijst niet naar een bestaand object."))
    return row


def rsin_ok(value: str) -> bool:
    if len(value) != 9 or not value.isdigit():
        return False
    weighted = sum(
        int(digit) * weight for digit, weight in zip(value[:8], range(9, 1, -1), strict=True)
    )
    return (weighted - int(value[8])) % 11 == 0


def utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    return utc(moment).isoformat().replace("+00:00", "Z")


def today_of(app: web.Application) -> date:
    today = app[TODAY]
    return today if isinstance(today, date) else date.today()
