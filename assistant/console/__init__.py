"""The KCC staff console: the web application KCC employees (Klantcontactcentrum) log in to.

This package is its secure foundation: accounts with Argon2id passwords and an optional
authenticator app (`accounts.py`), server-side sessions in SQL (`sessions.py`), CSRF and Origin
checks (`csrf.py`), security headers (`headers.py`), the Dutch login pages (`login.py`,
`templates/`) and the application that wires them (`app.py`, `create_app`). The live queue and
taking over chats are added as routes through `create_app(config, extra_routes=...)`.

Create the first account with `python -m assistant.console.admin create-user`; run the console
alone with `python -m assistant.console`.
"""
