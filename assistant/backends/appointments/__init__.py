"""Appointments: the neutral contract (`base`) and one package per vendor (`jcc`, `qmatic`)."""

from assistant.backends.appointments.base import (
    SLOT_TAKEN,
    Appointment,
    AppointmentSystem,
    Customer,
    Location,
    Product,
)

__all__ = [
    "SLOT_TAKEN",
    "Appointment",
    "AppointmentSystem",
    "Customer",
    "Location",
    "Product",
]
