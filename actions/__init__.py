"""Rasa SDK actions: read slots, look up facts or call a backend, choose a response."""

from assistant.privacy import install_log_redaction

# The SDK has set up its log handlers by the time it imports this package.
install_log_redaction()
