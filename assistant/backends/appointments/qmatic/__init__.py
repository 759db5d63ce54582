"""Qmatic Orchestra Calendar: `client` speaks HTTP, `types` types the wire, `plugin` maps."""

from assistant.backends.appointments.qmatic.client import QmaticClient
from assistant.backends.appointments.qmatic.plugin import QmaticAppointments

__all__ = ["QmaticAppointments", "QmaticClient"]
