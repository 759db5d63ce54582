"""Rasa input channels: each translates one medium's protocol to and from Rasa's messages."""

from assistant.privacy import install_log_redaction

# Rasa has set up its log handlers before it loads the channels named in credentials.yml.
install_log_redaction()
