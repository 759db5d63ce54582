"""A stand-in for JCC-Afspraken REST ("WARP API") for Utrecht, served over real HTTP.

Same paths, OAuth2 client-credentials token endpoint, status codes and bodies as JCC, so the
client is tested over the wire. Mount it anywhere (`root.add_subapp("/jcc/", create_app(...))`);
the mount point is the base URL, and `{base}connect/token` issues the tokens. Tokens are opaque
random strings kept in memory (`TOKENS`): a restart forgets them, and a client must cope with the
resulting 401 as it would with a revoked token.

Slots: every 20 minutes from 09:00 (the last one 16:20-16:40) on office days (no weekends or Dutch
public holidays) from tomorrow for six weeks, one desk per location, minus those booked. A unique
constraint on (location, start) makes a double booking impossible even when two requests race.

`app` is the HTTP side, `store` the tables (prefixed `jcc_`) and the seed.
"""

from assistant.sandbox.jcc.app import TOKENS, create_app

__all__ = ["TOKENS", "create_app"]
