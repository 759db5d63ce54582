"""`make profile` (scripts/profile_turn.py): samples of a Rasa worker sorted into a turn's stages.

The input is py-spy's raw format, one stack per line ("outermost;...;innermost count").
"""

from __future__ import annotations

import re

from scripts.profile_turn import EVENT_LOOP, OTHER, Profile, stage_samples

SERVE = "serve (sanic/server/runners.py:155)"
TURN = (
    f"{SERVE};route (assistant/handoff/router.py:90);"
    "handle_message (rasa/core/agent.py:230);handle_message (rasa/core/processor.py:169)"
)


def test_each_sample_counts_for_the_innermost_stage_on_its_stack() -> None:
    site = "/work/main/.venv/lib/python3.10/site-packages"
    raw = [
        # An action's answer being checked inside the action run inside the turn.
        f"{TURN};_run_prediction_loop (rasa/core/processor.py:900);"
        "_run_action (rasa/core/processor.py:950);run (rasa/core/actions/action.py:760);"
        "_validate_action_result (rasa/core/actions/action.py:700);iter_errors (x.py:1) 7",
        # TED inside the policy ensemble; the path as py-spy gives it for some frames.
        f"{TURN};_predict_next_with_tracker ({site}/rasa/core/processor.py:1010);"
        f"predict_action_probabilities ({site}/rasa/core/policies/ted_policy.py:821);"
        "_call (tensorflow/python/eager/polymorphic_function.py:1) 5",
        # The ensemble itself, outside every policy.
        f"{TURN};_predict_next_with_tracker (rasa/core/processor.py:1010);"
        "past_states (rasa/shared/core/trackers.py:301) 2",
        # The tracker read inside the session update inside the turn.
        f"{TURN};fetch_tracker_and_update_session (rasa/core/processor.py:400);"
        "retrieve (rasa/core/tracker_store.py:1100) 3",
        f"{TURN};dumps (json/__init__.py:231) 1",
        f"{SERVE};http1 (sanic/http.py:120) 4",
        # The event loop itself: waiting for sockets, in uvloop's C code.
        f"{SERVE} 9",
        # Another thread (TensorFlow's pool, Rasa's executor): not the turn's work.
        "_bootstrap (threading.py:973);_worker (concurrent/futures/thread.py:81) 50",
        "",
    ]

    stages = stage_samples(raw)

    assert stages == {
        "action answer check (jsonschema)": 7,
        "policy: TED": 5,
        "policies: ensemble, states": 2,
        "tracker store: read and rebuild": 3,
        "processor: events, slots, session": 1,
        OTHER: 4,
        EVENT_LOOP: 9,
    }


def test_the_report_gives_milliseconds_per_message_and_shares() -> None:
    # 200 samples a second: 40 samples are 200 ms of CPU, over 20 messages 10 ms each.
    samples = [f"{TURN};_parse_message_with_graph (rasa/core/processor.py:1) 40", f"{SERVE} 60"]
    profile = Profile(
        stages=stage_samples(samples),
        messages=20,
        seconds=10,
        process_cpu={"action server": 0.1},
    )

    report = profile.report()

    nlu = next(line for line in report.splitlines() if line.strip().startswith("NLU graph"))
    assert nlu.split()[-2:] == ["10.0", "100%"]  # the waiting event loop is no part of a turn
    assert "2.0/s" in report
    # 0.1 s of the action server's CPU over 20 messages.
    assert re.search(r"^ +action server +5\.0$", report, re.MULTILINE)
