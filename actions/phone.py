"""What the dialogue does differently when the resident is on the phone.

The voice connectors (channels/voice/) name the input channel of every turn; a caller cannot
read a list of buttons or a link, and a person is reached by transferring the call rather than
by a chat queue. The words themselves differ through the `channel: voice` variants of the
responses, which Rasa picks by the output channel.
"""

from __future__ import annotations

from rasa_sdk import Tracker

# The input channels of the TwiML and AudioCodes connectors.
VOICE_CHANNELS = frozenset({"voice", "audiocodes"})
# Custom payloads the voice connectors act on: transfer the call, or hang up after speaking.
TRANSFER_KEY = "transfer"
HANGUP_KEY = "hangup"


def on_the_phone(tracker: Tracker) -> bool:
    return tracker.get_latest_input_channel() in VOICE_CHANNELS
