"""Stand-ins for the municipality's back-office systems, for `make run`, the demo and the tests.

Each module is a real aiohttp server for one standard, with the reference's paths, auth checks,
status codes and error bodies, backed by a real database. The clients in `assistant.backends`
cannot tell them from the real systems; pointing a municipality at its real systems is
configuration only. `server.py` mounts all five in one server, which `python -m
assistant.sandbox` runs.
"""
