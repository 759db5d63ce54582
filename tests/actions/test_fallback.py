from rasa_sdk import Tracker

from actions.fallback import earlier_fallbacks_in_a_row, suggestions
from tests.actions.calls import action_call, responses, run

DOMAIN = {
    "responses": {
        "utter_topic_document_apply": [{"text": "Paspoort, ID-kaart of rijbewijs aanvragen"}],
        "utter_topic_appointment_book": [{"text": "Afspraak maken"}],
        "utter_topic_waste_collection": [{"text": "Afval en grofvuil"}],
        "utter_topic_move_report": [{"text": "Verhuizing doorgeven"}],
        "utter_topic_human_handoff": [{"text": "Medewerker spreken"}],
    }
}


def user(text: str) -> dict:
    return {"event": "user", "text": text}


def action(name: str) -> dict:
    return {"event": "action", "name": name}


def tracker(events: list[dict], ranking: list[dict] | None = None) -> Tracker:
    latest = {"text": "x", "intent_ranking": ranking or []}
    return Tracker("s", {}, latest, events, False, None, None, "action_listen")


def test_first_misunderstanding_counts_no_earlier_fallbacks() -> None:
    events = [user("hoi"), action("action_answer_greet"), action("action_listen"), user("???")]
    assert earlier_fallbacks_in_a_row(tracker(events)) == 0


def test_second_misunderstanding_in_a_row_is_counted() -> None:
    events = [user("???"), action("action_fallback"), action("action_listen"), user("!!!")]
    assert earlier_fallbacks_in_a_row(tracker(events)) == 1


def test_an_understood_message_in_between_starts_over() -> None:
    events = [
        user("???"),
        action("action_fallback"),
        user("ik ga verhuizen"),
        action("action_answer_move_report"),
        user("!!!"),
    ]
    assert earlier_fallbacks_in_a_row(tracker(events)) == 0


def test_suggestions_follow_the_ranking_and_skip_non_topics() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "move_report", "confidence": 0.3},
        {"name": "greet", "confidence": 0.2},
        {"name": "waste_collection", "confidence": 0.1},
    ]
    assert suggestions(tracker([], ranking), DOMAIN) == ["move_report", "waste_collection"]


def test_without_a_ranking_common_topics_are_suggested() -> None:
    assert suggestions(tracker([]), DOMAIN) == ["document_apply", "appointment_book"]


async def test_on_the_phone_the_menu_comes_after_the_second_miss_and_a_person_after_the_third() -> (
    None
):
    first = [user("???")]
    second = [*first, action("action_fallback"), action("action_listen"), user("???")]
    third = [*second, action("action_fallback"), action("action_listen"), user("???")]
    said = []
    for events in (first, second, third):
        for event in events:
            if event["event"] == "user":
                event["input_channel"] = "voice"
        call = action_call("action_fallback", "???", "nlu_fallback")
        call["tracker"]["events"] = [*call["tracker"]["events"][:-2], *events]
        said.append(responses(await run(call)))
    assert said == [
        ["utter_fallback_rephrase"],
        ["utter_fallback_suggest"],
        ["utter_fallback_handoff"],
    ]
