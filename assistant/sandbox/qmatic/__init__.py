"""A stand-in for Qmatic Orchestra Calendar (Public Appointment API) for Zwolle, over real HTTP.

Same paths (`v1/...`, `v2/...` with matrix parameters such as `;servicePublicId=X`), `X-Api-Key`
authentication (401 without a known key), list envelopes, status codes and the `error_message`
header of a 500, so the client is tested over the wire. Mount it anywhere
(`root.add_subapp("/qmatic/", create_app(...))`); the mount point is the API root.

Slots: every 15 minutes from 08:30 (the last one 16:15-16:30) on office days (no weekends or
Dutch public holidays) from tomorrow for six weeks, one desk per branch, minus those booked. A
unique constraint on (branch, start) makes a double booking impossible even under concurrency.

`app` is the HTTP side, `store` the tables (prefixed `qmatic_`) and the seed.
"""

from assistant.sandbox.qmatic.app import create_app, matrix_parameters

__all__ = ["create_app", "matrix_parameters"]
