"""Extensions of the Rasa SDK action server, found through the SDK's own plugin mechanism.

At start-up the SDK imports a top-level package named `rasa_sdk_plugins` and calls
`init_hooks(manager)` (rasa_sdk/plugin.py), so `python -m rasa_sdk --actions actions` picks these
up without a start script of our own.
"""

from __future__ import annotations

import pluggy

from assistant import action_server_guard


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(action_server_guard)
