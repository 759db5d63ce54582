"""The conversation router: per conversation, whether a message goes to Rasa or to the KCC employee
who took it over.

Its parts: the handoff state store (waiting, taken by whom, closed), the live message bus between
residents and employees (`bus.py`), and the KCC's hours. Production keeps state in PostgreSQL and
the bus in Redis streams; `make run` uses SQLite and in-process streams behind the same interfaces.
"""
