"""WhatsApp Cloud API channel: `channels.whatsapp.WhatsAppInput` in credentials.yml.

Modules, one job each:

- channel   the Rasa input channel: the webhook (handshake, signature, 200 at once)
- config    the WHATSAPP_* environment variables
- security  the signature check and the conversation id that hides the phone number
- messages  our types for a resident's message and a delivery status
- inbound   Meta's webhook bodies read into those types (pure)
- render    the assistant's messages as Graph API message parts (pure)
- queue     the durable work queue (Redis stream, or in-process)
- dedup     message ids already seen (Redis, or in-process)
- contacts  the contact book: conversation id -> number, for the 24-hour window
- statuses  delivery statuses in the handoff database
- handler   what happens to one queued message or status
- consumer  the queue's worker in each process
- outbound  sending, and the router's push hook
- runtime   the parts of one process, started and stopped with the server
- texts     what the channel itself says to residents (Dutch)
"""

from channels.whatsapp.channel import WhatsAppInput

__all__ = ["WhatsAppInput"]
