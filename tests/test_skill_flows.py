"""The skill end to end: real request envelopes through Flask, one turn and many."""

import pytest

from speech.ssml import build_ssml, check_ssml


def say(conversation, *paragraphs):
    """The SSML the skill should speak for these paragraphs."""
    return build_ssml(paragraphs, conversation.prompts.pronunciations)


def spoken(conversation, text):
    """A phrase as it appears inside the SSML (escaped, with the lexicon applied)."""
    return say(conversation, text)[len("<speak>") : -len("</speak>")]


def prompt(conversation, key, **values):
    return conversation.prompts.say(key, **values)


def follow_up(conversation, topic, part):
    """The offer that ends a topic's part: more of it, or the first related topic."""
    if part + 1 < topic.part_count:
        return prompt(conversation, "offer_more")
    related = conversation.guide.topic(topic.related[0])
    return prompt(conversation, "offer_related", topic=related.short_name)


def assert_topic(turn, conversation, topic_id, part=0, preface=()):
    topic = conversation.guide.topic(topic_id)
    assert turn.attributes["topic"] == topic_id, f"expected {topic_id}, got {turn.attributes}"
    assert turn.attributes["part"] == part
    assert turn.ssml == say(
        conversation, *preface, topic.spoken[part], follow_up(conversation, topic, part)
    )
    assert turn.card == {
        "type": "Simple",
        "title": topic.title,
        "content": f"{topic.guide_text}\n\n{conversation.prompts.disclaimer_full}",
    }
    assert turn.reprompt is not None and not turn.ends_session


def test_launch_welcomes_with_disclaimer_examples_and_reprompt(alexa, conversation):
    turn = alexa.launch()
    p = conversation.prompts
    examples = [e.text for e in p.example_questions]
    assert len(examples) == 3
    assert turn.ssml == say(
        conversation,
        prompt(
            conversation,
            "welcome",
            disclaimer=p.disclaimer_spoken,
            examples=f"{examples[0]}, {examples[1]}, and {examples[2]}",
        ),
    )
    assert turn.reprompt == say(conversation, prompt(conversation, "welcome_reprompt"))
    assert turn.card["title"] == "JAK Guide"
    assert p.disclaimer_full in turn.card["content"]
    assert not turn.ends_session


def test_every_topic_is_reached_through_its_own_intent(alexa, conversation):
    for topic in conversation.guide.topics:
        assert_topic(alexa.intent(topic.intent_name), conversation, topic.id)


def test_every_topic_is_reached_through_a_free_question(alexa, conversation):
    for topic in conversation.guide.topics:
        assert_topic(alexa.ask(topic.samples[0]), conversation, topic.id)


def test_example_questions_offered_at_launch_reach_their_topics(alexa, conversation):
    for example in conversation.prompts.example_questions:
        assert alexa.ask(example.text).attributes["topic"] == example.topic


def test_every_part_of_every_topic_is_valid_escaped_ssml_within_limits(alexa, conversation):
    for topic in conversation.guide.topics:
        turn = alexa.intent(topic.intent_name)
        for part in range(topic.part_count):
            check_ssml(turn.ssml)
            assert "JAK" not in turn.ssml.replace('<sub alias="jack">JAK</sub>', "")
            assert len(turn.card["content"]) <= 8000
            if part + 1 < topic.part_count:
                turn = alexa.intent("AMAZON.YesIntent")
                assert_topic(turn, conversation, topic.id, part + 1)


def test_a_conversation_across_many_turns(alexa, conversation):
    guide = conversation.guide
    alexa.launch()
    side_effects = guide.topic("risks_and_side_effects")
    assert_topic(alexa.ask("what are the side effects"), conversation, side_effects.id)

    # "yes" takes the offer: the next part, or else the related topic.
    turn = alexa.intent("AMAZON.YesIntent")
    if side_effects.part_count > 1:
        assert_topic(turn, conversation, side_effects.id, 1)
        turn = alexa.intent("AMAZON.YesIntent")
        last = side_effects.part_count - 1
    else:
        last = 0
    related = guide.topic(side_effects.related[0])
    assert_topic(turn, conversation, related.id)

    # "next" follows the guide's order; "repeat" says the same again, word for word.
    turn = alexa.intent("AMAZON.NextIntent")
    following = guide.topics[guide.index_of(related.id) + 1]
    expected_part = 0
    if related.part_count > 1:
        following, expected_part = related, 1
    assert_topic(turn, conversation, following.id, expected_part)
    again = alexa.intent("AMAZON.RepeatIntent")
    assert again.ssml == turn.ssml and again.reprompt == turn.reprompt
    assert again.attributes["topic"] == following.id

    # "go back" returns to where we were.
    back = alexa.intent("AMAZON.PreviousIntent")
    assert back.attributes["topic"] == related.id

    help_turn = alexa.intent("AMAZON.HelpIntent")
    assert help_turn.ssml == say(
        conversation,
        prompt(conversation, "help", disclaimer=conversation.prompts.disclaimer_spoken),
    )
    assert not help_turn.ends_session

    first = alexa.intent("AMAZON.FallbackIntent")
    assert first.ssml == say(conversation, prompt(conversation, "fallback_rephrase"))
    second = alexa.intent("AMAZON.FallbackIntent")
    assert second.ssml.startswith(say(conversation, prompt(conversation, "fallback_list"))[:-8])
    for section in (t for t in guide.topics if t.kind == "section"):
        assert spoken(conversation, section.short_name) in second.ssml
    assert second.attributes["offer"] == {"kind": "faq_list", "topics": []}
    assert not second.ends_session

    bye = alexa.intent("AMAZON.StopIntent")
    assert bye.ssml == say(conversation, prompt(conversation, "goodbye"))
    assert bye.ends_session and bye.reprompt is None
    assert last >= 0


def test_three_fallbacks_in_a_row_end_politely(alexa, conversation):
    alexa.launch()
    alexa.intent("AMAZON.FallbackIntent")
    alexa.intent("AMAZON.FallbackIntent")
    third = alexa.intent("AMAZON.FallbackIntent")
    assert third.ssml == say(conversation, prompt(conversation, "fallback_exit"))
    assert third.ends_session


def test_an_answer_resets_the_fallback_count(alexa, conversation):
    alexa.launch()
    alexa.intent("AMAZON.FallbackIntent")
    alexa.intent("DosageIntent")
    turn = alexa.intent("AMAZON.FallbackIntent")
    assert turn.ssml == say(conversation, prompt(conversation, "fallback_rephrase"))


def test_no_after_an_offer_keeps_listening_and_no_again_ends(alexa, conversation):
    alexa.intent("DosageIntent")
    turn = alexa.intent("AMAZON.NoIntent")
    assert turn.ssml == say(conversation, prompt(conversation, "anything_else"))
    assert not turn.ends_session
    bye = alexa.intent("AMAZON.NoIntent")
    assert bye.ends_session


def test_list_topics_then_yes_lists_the_common_questions(alexa, conversation):
    turn = alexa.intent("ListTopicsIntent")
    assert turn.attributes["offer"]["kind"] == "faq_list"
    faqs = alexa.intent("AMAZON.YesIntent")
    for faq in (t for t in conversation.guide.topics if t.kind == "faq"):
        assert spoken(conversation, faq.short_name) in faqs.ssml
    assert not faqs.ends_session


def test_start_over_goes_to_the_beginning_and_previous_there_says_so(alexa, conversation):
    alexa.intent("DosageIntent")
    first = conversation.guide.topics[0]
    assert_topic(alexa.intent("AMAZON.StartOverIntent"), conversation, first.id)
    turn = alexa.intent("AMAZON.PreviousIntent")
    assert turn.ssml == say(conversation, prompt(conversation, "start_of_guide"))


def test_next_past_the_last_topic_says_the_guide_has_ended(alexa, conversation):
    last = conversation.guide.topics[-1]
    alexa.intent(last.intent_name)
    for _ in range(last.part_count - 1):
        alexa.intent("AMAZON.NextIntent")
    turn = alexa.intent("AMAZON.NextIntent")
    assert turn.ssml == say(conversation, prompt(conversation, "end_of_guide"))
    assert not turn.ends_session


def test_repeat_before_anything_was_said(alexa, conversation):
    turn = alexa.intent("AMAZON.RepeatIntent")
    assert turn.ssml == say(conversation, prompt(conversation, "nothing_to_repeat"))


def test_navigate_home_returns_to_the_welcome(alexa, conversation):
    alexa.intent("DosageIntent")
    home = alexa.intent("AMAZON.NavigateHomeIntent")
    assert home.ssml == alexa.launch().ssml


def test_session_ended_request_gets_an_empty_response(client, make_request):
    reply = client.post("/", json=make_request("SessionEndedRequest"))
    assert reply.status_code == 200
    assert reply.get_json()["response"] == {}


EMERGENCIES = [
    ("i have chest pain", "medical"),
    ("I started jak inhibitors and now my chest hurts", "medical"),
    ("i can't breathe", "medical"),
    ("my throat is swelling up", "medical"),
    ("my face is swollen after the pill", "medical"),
    ("i think i'm having a stroke", "medical"),
    ("i took too many pills", "medical"),
    ("what if i overdose on jak inhibitors", "medical"),
    ("i want to kill myself", "suicide"),
    ("i've been having thoughts of suicide", "suicide"),
    ("sometimes i want to hurt myself", "suicide"),
]


@pytest.mark.parametrize("question, rule_id", EMERGENCIES)
def test_an_emergency_gets_emergency_guidance_only(alexa, conversation, question, rule_id):
    alexa.launch()
    turn = alexa.ask(question)
    rule = next(r for r in conversation.prompts.emergencies if r.id == rule_id)
    assert turn.ssml == say(conversation, rule.speech)
    assert turn.card == {"type": "Simple", "title": "Get help now", "content": rule.card}
    assert turn.ends_session


def test_emergency_guidance_names_the_numbers_to_call(conversation):
    by_id = {r.id: r for r in conversation.prompts.emergencies}
    assert "nine one one" in by_id["medical"].speech
    assert (
        "nine one one" in by_id["suicide"].speech and "nine eight eight" in by_id["suicide"].speech
    )
    assert "911" in by_id["medical"].card and "988" in by_id["suicide"].card


@pytest.mark.parametrize("rule_id", ["medical", "suicide"])
def test_emergency_intents_from_alexa_get_the_same_guidance(alexa, conversation, rule_id):
    from skill.handlers import emergency_intent_name

    rule = next(r for r in conversation.prompts.emergencies if r.id == rule_id)
    turn = alexa.intent(emergency_intent_name(rule_id))
    assert turn.ssml == say(conversation, rule.speech) and turn.ends_session


def test_a_likely_emergency_the_guide_cannot_answer_gets_the_guidance_and_an_open_door(
    alexa, conversation
):
    # No pattern names this; the safety classifier finds it likely. The guide has no answer,
    # so no decline follows the guidance; the session stays open in case of a false alarm.
    question = "i've given my dog away and written letters to everyone"
    assert conversation.router.best_topic(question).band == "unsure"
    rule = next(r for r in conversation.prompts.emergencies if r.id == "suicide")
    alexa.launch()
    turn = alexa.ask(question)
    assert turn.ssml == say(
        conversation, rule.speech, prompt(conversation, "likely_emergency_no_answer")
    )
    assert turn.reprompt == say(conversation, prompt(conversation, "anything_else_reprompt"))
    assert turn.card == {"type": "Simple", "title": "Get help now", "content": rule.card}
    assert not turn.ends_session and turn.attributes.get("offer") is None


def test_a_past_emergency_asked_about_gets_the_guidance_and_then_its_answer(alexa, conversation):
    question = "i fainted last year what should i tell my doctor before starting"
    decision = conversation.router.best_topic(question)
    assert decision.band == "sure" and decision.top.topic_id == "before_starting"
    rule = next(r for r in conversation.prompts.emergencies if r.id == "medical")
    turn = alexa.ask(question)
    topic = conversation.guide.topic("before_starting")
    assert turn.ssml == say(
        conversation,
        rule.speech,
        prompt(conversation, "likely_emergency_bridge"),
        topic.spoken[0],
        follow_up(conversation, topic, 0),
    )
    assert turn.attributes["topic"] == "before_starting" and not turn.ends_session
    content = f"{rule.card}\n\n{topic.guide_text}\n\n{conversation.prompts.disclaimer_full}"
    assert turn.card == {"type": "Simple", "title": "Get help now", "content": content}


def test_a_past_emergency_told_with_when_it_happened_gets_its_answer_alone(alexa, conversation):
    turn = alexa.ask(
        "i had a heart attack five years ago what should i tell my doctor before starting"
    )
    assert_topic(turn, conversation, "before_starting")
    assert not turn.ends_session


def test_every_topic_part_after_any_emergency_guidance_is_valid_ssml_within_limits(conversation):
    # A likely emergency says the guidance, then the usual reply: the longest of those must
    # still be speakable, and its card within Alexa's limit.
    from skill.dialog import DialogState

    for rule in conversation.prompts.emergencies:
        for topic in conversation.guide.topics:
            for part in range(topic.part_count):
                state = DialogState(topic=topic.id, part=max(part - 1, 0))
                usual = (
                    conversation.ask_topic(DialogState(), topic.id)
                    if part == 0
                    else conversation.more(state)
                )
                reply = conversation.likely_emergency(usual, rule)
                bridge = prompt(conversation, "likely_emergency_bridge")
                assert reply.speech[:2] == (rule.speech, bridge)
                assert topic.spoken[part] in reply.speech
                check_ssml(build_ssml(reply.speech, conversation.prompts.pronunciations))
                assert len(reply.card.text) <= 8000


def test_a_likely_personal_dose_request_hears_who_decides_before_the_usual_reply(
    alexa, conversation
):
    turn = alexa.ask("can i stop drinking coffee")
    assert turn.ssml == say(
        conversation, prompt(conversation, "likely_personal_dose"), prompt(conversation, "decline")
    )
    assert not turn.ends_session


@pytest.mark.parametrize(
    "question",
    [
        "how many milligrams should i take",
        "how much should i take each day",
        "can i stop taking my jak inhibitor",
        "should i double my dose",
        "is it okay to skip a dose",
        "what dose should i take",
    ],
)
def test_a_personal_dose_question_gets_the_dosage_answer_and_the_provider(
    alexa, conversation, question
):
    turn = alexa.ask(question)
    assert_topic(turn, conversation, "dosage", preface=(prompt(conversation, "personal_dose"),))


@pytest.mark.parametrize(
    "question",
    ["how many paracetamol can an adult take", "how much paracetamol can i take in a day"],
)
def test_a_dose_of_another_medicine_hears_who_decides_and_is_not_given_the_jak_dosage(
    alexa, conversation, question
):
    turn = alexa.ask(question)
    assert turn.ssml == say(
        conversation, prompt(conversation, "likely_personal_dose"), prompt(conversation, "decline")
    )
    assert not turn.ends_session


def test_a_dose_of_another_medicine_taken_with_them_is_answered_from_the_guide(
    alexa, conversation
):
    # The treatment is named too: the guide's answer on other medicines, after the provider.
    turn = alexa.ask("how many paracetamol can i take with my jak inhibitor")
    preface = (prompt(conversation, "personal_dose"),)
    assert_topic(turn, conversation, "faq_other_medications", preface=preface)


@pytest.mark.parametrize(
    "question, topic_id",
    [
        ("should i stop the tablets if i get side effects", "faq_side_effect_action"),
        ("should i stop my other tablets when i start these", "faq_other_medications"),
    ],
)
def test_a_request_to_stop_over_side_effects_or_other_medicines_gets_that_answer(
    alexa, conversation, question, topic_id
):
    turn = alexa.ask(question)
    assert_topic(turn, conversation, topic_id, preface=(prompt(conversation, "personal_dose"),))


def test_personal_dose_intent_gives_the_same_answer(alexa, conversation):
    turn = alexa.intent("PersonalDoseIntent")
    assert_topic(turn, conversation, "dosage", preface=(prompt(conversation, "personal_dose"),))


@pytest.mark.parametrize(
    "question",
    ["what's the weather tomorrow", "tell me a joke", "play some music", "how do i bake bread"],
)
def test_questions_outside_the_guide_are_declined(alexa, conversation, question):
    turn = alexa.ask(question)
    assert turn.ssml == say(conversation, prompt(conversation, "decline"))
    assert "healthcare provider" in prompt(conversation, "decline")
    assert not turn.ends_session


# Questions the router is unsure of but that come close to one topic. Which of them the tuned
# bands decline with an offer moves when the bands are retuned; at least one must.
NEARLY_ANSWERED = [
    "what should i mention to my doctor first",
    "is there a test i need first",
    "my neighbour says they are dangerous",
    "what do my blood results mean",
    "are these tablets strong",
    "is gardening good for my back",
    "what if it does not work for me",
    "when will it work",
    "how does it take the pain away",
    "what about my other stuff",
    "what is the last bit",
]


def test_a_question_the_guide_nearly_answers_is_declined_with_its_nearest_topic(
    alexa, conversation
):
    router = conversation.router
    offered = {}
    for question in NEARLY_ANSWERED:
        decision = router.best_topic(question)
        if decision.band == "unsure" and decision.nearest(router.bands):
            offered[question] = decision.nearest(router.bands)
    assert offered, "no question of NEARLY_ANSWERED is declined with an offer any more"
    for question, nearest in offered.items():
        alexa.attributes, alexa.in_session = {}, False
        name = conversation.guide.topic(nearest).short_name
        turn = alexa.ask(question)
        assert turn.ssml == say(conversation, prompt(conversation, "decline_nearest", topic=name))
        assert turn.attributes["offer"] == {"kind": "nearest", "topics": [nearest]}
        assert not turn.ends_session
        assert_topic(alexa.intent("AMAZON.YesIntent"), conversation, nearest)


def test_an_empty_question_is_treated_as_not_understood(alexa, conversation):
    turn = alexa.ask("   ")
    assert turn.ssml == say(conversation, prompt(conversation, "fallback_rephrase"))


def test_an_intent_the_skill_does_not_know_falls_back(alexa, conversation):
    turn = alexa.intent("SomeFutureIntent")
    assert turn.ssml == say(conversation, prompt(conversation, "fallback_rephrase"))


def test_garbage_session_attributes_are_ignored(client, conversation, make_request):
    envelope = make_request(
        intent="AMAZON.NextIntent",
        attributes={"topic": "no_such_topic", "part": "x", "offer": [1], "last_speech": 5},
    )
    reply = client.post("/", json=envelope)
    assert reply.status_code == 200
    assert reply.get_json()["sessionAttributes"]["topic"] == conversation.guide.topics[0].id


def test_every_intent_of_the_model_answers_with_valid_speech_and_a_reprompt_when_open(
    alexa, conversation
):
    from interaction_model.generate import interaction_model

    intents = interaction_model(conversation)["interactionModel"]["languageModel"]["intents"]
    for intent in intents:
        for attributes in (
            {},
            {"topic": "lifestyle", "part": 0, "offer": {"kind": "more", "topics": ["lifestyle"]}},
        ):
            alexa.attributes = dict(attributes)
            turn = alexa.intent(
                intent["name"], **({"query": "side effects"} if intent.get("slots") else {})
            )
            check_ssml(turn.ssml)
            assert "JAK" not in turn.ssml.replace('<sub alias="jack">JAK</sub>', ""), intent["name"]
            if turn.ends_session:
                assert turn.reprompt is None, intent["name"]
            else:
                assert turn.reprompt is not None, intent["name"]
                check_ssml(turn.reprompt)


CLARIFY = {
    "offer": {"kind": "clarify", "topics": ["risks_and_side_effects", "faq_side_effect_action"]}
}


@pytest.mark.parametrize(
    "reply, topic",
    [
        ("what to do about unexpected side effects", "faq_side_effect_action"),
        ("the risks and side effects", "risks_and_side_effects"),
    ],
)
def test_naming_one_of_the_offered_topics_resolves_did_you_mean(alexa, conversation, reply, topic):
    alexa.attributes = dict(CLARIFY)
    assert_topic(alexa.ask(reply), conversation, topic)


def test_yes_to_did_you_mean_takes_the_first_and_no_asks_again(alexa, conversation):
    alexa.attributes = dict(CLARIFY)
    assert_topic(alexa.intent("AMAZON.YesIntent"), conversation, "risks_and_side_effects")
    alexa.attributes = dict(CLARIFY)
    turn = alexa.intent("AMAZON.NoIntent")
    assert turn.ssml == say(conversation, prompt(conversation, "anything_else"))
    assert not turn.ends_session


def test_a_clear_new_question_after_did_you_mean_is_answered_as_asked(alexa, conversation):
    alexa.attributes = dict(CLARIFY)
    assert_topic(alexa.ask("how do i take jak inhibitors"), conversation, "dosage")
