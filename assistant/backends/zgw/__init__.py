"""ZGW (zaakgericht werken) via Open Zaak: a resident's cases and their status, and new cases.

`client.py` speaks HTTP (one method per endpoint), `types.py` types the wire, `models.py` holds
the neutral domain types, and `cases.py` maps the wire onto them and is what actions use
(`CaseService`).
"""
