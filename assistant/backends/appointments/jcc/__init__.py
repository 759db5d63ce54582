"""JCC-Afspraken REST ("WARP API"): `client` speaks HTTP, `types` types the wire, `plugin` maps."""

from assistant.backends.appointments.jcc.client import JccClient
from assistant.backends.appointments.jcc.plugin import JccAppointments

__all__ = ["JccAppointments", "JccClient"]
