"""A person takes over a conversation: the router, the queue, the live bus and the desk.

Every channel hands a resident's message to the router (`router.py`), which sends it to Rasa or,
while a KCC employee has the conversation, records it for them. The queue of handoff requests
and callback requests lives in SQL (`store.py`, `callbacks.py`), the live events between
residents and employees on streams (`bus.py`: Redis in production, in-process for `make run`),
and what an employee does goes through the desk (`desk.py`), which the staff console calls.
`runtime.py` builds one set of these per Rasa process.
"""
