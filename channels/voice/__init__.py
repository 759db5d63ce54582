"""The voice channel: phone calls to the assistant, one telephony-neutral core and two connectors.

The platform does the speech recognition and synthesis; Rasa exchanges text. Connectors only
translate their protocol into turns and the core's steps back into their protocol:

- twiml.py (+ twiml_wire.py): Twilio and TwiML-compatible platforms, ``/webhooks/voice/``;
- audiocodes.py (+ audiocodes_wire.py): AudioCodes VoiceAI Connect, ``/webhooks/audiocodes/``.

The core (core.py) manages the turn-taking: greeting, silence, keys and menus, confirming doubtful
transcripts, the offer to send links by text message (sms.py). What to say, transfer or hang up
is the dialogue's decision (dialogue.py sends each turn through the conversation router; answer.py
reads the reply, speech.py makes it fit to be spoken). turns.py is the contract between them;
state.py keeps each call's state (Redis or in-process), caller.py the caller's number
(encrypted), hints.py the speech hints, config.py the environment.
"""
