"""The router's behaviour on fixed examples: bands, mishearings, fillers, numbers, keywords.

Accuracy figures come from the benchmark (`python -m benchmarks.routing`), not from here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from skill.dialog import Conversation, DialogState, Offer
from skill.guide import Guide, GuideError
from skill.prompts import load_prompts
from skill.router import (
    ROUTER_VOCABULARY_FILE,
    TEXT_CACHE_SIZE,
    Bands,
    RouteDecision,
    Router,
    ScoredTopic,
    Weights,
    band_for,
    load_vocabulary,
    phonetic_key,
    stem,
)
from skill.safety import check_question


@pytest.fixture(scope="module")
def router(guide: Guide) -> Router:
    return Router(guide)


def routed(router: Router, question: str) -> tuple[str, str | None]:
    decision = router.best_topic(question)
    return decision.band, decision.top.topic_id if decision.top else None


# --- the three bands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, topic",
    [
        ("what are the side effects", "risks_and_side_effects"),
        ("how soon do jak inhibitors start working", "faq_time_to_improve"),
        ("can jak inhibitors cure my ankylosing spondylitis", "faq_cure"),
        ("will i have to see my doctor regularly while taking it", "monitoring"),
        ("can i take jak inhibitors with my other medicines", "faq_other_medications"),
        ("how do these medicines work", "how_jak_inhibitors_work"),
        ("adverse reaction", "risks_and_side_effects"),
    ],
)
def test_a_clear_question_is_answered_sure(router, question, topic):
    assert routed(router, question) == ("sure", topic)


def test_a_close_call_asks_which_of_the_two(router):
    decision = router.best_topic("how do jak inhibitors calm down my immune system")
    assert decision.band == "clarify"
    offered = set(decision.choices(router.bands))
    assert offered == {"how_jak_inhibitors_work", "what_are_jak_inhibitors"}


@pytest.mark.parametrize(
    "question",
    [
        "what's the weather",
        "what's the weather tomorrow",
        "tell me a joke",
        "play some music",
        "how do i bake bread",
        "what is diabetes",
        "how much does xeljanz cost",
        "can i take jak inhibitors while pregnant",
        "what's your name",
        "good morning",  # "good" and "morning" are the guide's words, but this is a greeting
        "are you a real person",
        "read me my messages",
        "book an appointment with my g p",
        "how long does it take to boil an egg",
        "is the keto diet good for inflammation",  # a named diet, not the guide's healthy weight
        "book me a doctor's appointment",
        "when is my next appointment",
    ],
)
def test_a_question_outside_the_guide_is_declined(router, question):
    assert router.best_topic(question).band == "unsure"


def test_nothing_to_go_on_is_unsure_with_no_topics(router):
    for question in ("", "   ", "um", "alexa please", "thank you alexa"):
        decision = router.best_topic(question)
        assert decision.band == "unsure"
        assert decision.ranked == ()
        assert decision.top is None


# --- reading what was heard ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, topic",
    [
        ("what are the side affects of jack in hibitors", "risks_and_side_effects"),
        ("what is and closing spondylitis", "understanding_as"),
        ("tell me about ankle losing spondy light is", "understanding_as"),
        ("what does janice kinase mean", "what_are_jak_inhibitors"),
        ("what's the dose age", "dosage"),
        ("do they come as tab lets", "dosage"),
        ("does acu puncture help", "lifestyle"),
        ("what are the sideeffects", "risks_and_side_effects"),
        ("how does a jock inhibitor work", "how_jak_inhibitors_work"),
        ("what are j a k inhibitors", "what_are_jak_inhibitors"),
        ("is it safe for the long hall", "faq_long_term_safety"),
        ("can jak inhibitors cure ace", "faq_cure"),  # "A S" heard as one word
        ("what are the symptoms of ace", "understanding_as"),
        ("what are the sign effects of jak inhibitors", "risks_and_side_effects"),
        ("does a healthy wait help with as", "lifestyle"),
        ("is there a queue for ankylosing spondylitis", "faq_cure"),
        ("what is any closing spondylitis", "understanding_as"),
        ("what are the wrists of jak inhibitors", "risks_and_side_effects"),
        ("can you some up jack inhibitors for me", "closing"),
        ("does act you puncture help", "lifestyle"),
        ("are jack inhibitors taken aurally", "dosage"),
        ("do jag inhibitors have drug inner actions", "faq_other_medications"),
        ("are there cider effects with the jack pills", "risks_and_side_effects"),
        ("can i take jak inhibitors a long side my pills", "faq_other_medications"),
    ],
)
def test_misheard_forms_reach_the_right_topic(router, question, topic):
    assert routed(router, question) == ("sure", topic)


def test_fillers_change_nothing(router):
    plain = router.best_topic("what are the benefits of jak inhibitors")
    padded = router.best_topic(
        "um alexa can you tell me what are the benefits of jak inhibitors please"
    )
    assert padded == plain
    assert plain.band == "sure" and plain.top.topic_id == "benefits"


def test_asking_what_the_guide_says_about_a_thing_asks_about_the_thing(router):
    plain = router.best_topic("acupuncture")
    assert router.best_topic("what does the guide say about acupuncture") == plain
    assert plain.band == "sure" and plain.top.topic_id == "lifestyle"


@pytest.mark.parametrize(
    "question",
    ["what's this jak inhibitors guide about", "what's this jak inhibitor article about"],
)
def test_the_guide_about_jak_inhibitors_is_the_guide(router, question):
    assert routed(router, question) == ("sure", "about_the_guide")


def test_spelled_out_numbers_read_like_digits(router):
    spelled = router.best_topic("will i feel better within two weeks")
    digits = router.best_topic("will i feel better within 2 weeks")
    assert spelled == digits
    assert spelled.band == "sure" and spelled.top.topic_id == "faq_time_to_improve"


@pytest.mark.parametrize(
    "question, topic",
    [
        ("kick in", "faq_time_to_improve"),
        ("will it upset my stomach", "risks_and_side_effects"),
        ("will my as go away for good", "faq_cure"),
        ("coping with side effects", "faq_side_effect_action"),
        ("what kind of things can you tell me about", "about_the_guide"),
        ("what can a jak inhibitor do for someone like me", "benefits"),
        ("who decides how much you take", "dosage"),
        ("are they hard on your body", "risks_and_side_effects"),
        ("how do i make a good decision about my treatment", "closing"),
        ("what does it do for the pain", "benefits"),
        ("can i stay on them for the rest of my life", "faq_long_term_safety"),
        # Gaining weight is asked about as a side effect; losing it is the lifestyle advice.
        ("will jak inhibitors make me put on weight", "risks_and_side_effects"),
        ("will losing weight help my back", "lifestyle"),
        # Relief from the pain is what they do for it; how soon it comes is faq 3.
        ("pain relief", "benefits"),
        ("how soon will i get pain relief", "faq_time_to_improve"),
        # Where they heard of it is no subject of its own; what they do to the pain is.
        ("i keep hearing about jak inhibitors on the news what are they",
         "what_are_jak_inhibitors"),
        ("do they really cut down the pain", "benefits"),
        # How it does its job is how it works; "right so" opens a turn.
        ("right so how does the jak stuff actually do its job", "how_jak_inhibitors_work"),
        # Whether it is working is what the follow-up assesses, not how it works.
        ("how will my doctor know if the jak inhibitor is working", "monitoring"),
    ],
)
def test_everyday_words_mean_the_guides_words(router, question, topic):
    assert routed(router, question) == ("sure", topic)


@pytest.mark.parametrize(
    "word, topic",
    [
        ("dosage", "dosage"),
        ("exercise", "lifestyle"),
        ("cure", "faq_cure"),
        ("interactions", "faq_other_medications"),
        ("mechanism", "how_jak_inhibitors_work"),
        ("summary", "closing"),
    ],
)
def test_a_single_keyword_is_enough(router, word, topic):
    assert routed(router, word) == ("sure", topic)


def test_every_keyword_title_and_sample_of_a_topic_reaches_it_sure(router, guide):
    wrong = []
    for topic in guide.topics:
        for phrase in topic.phrases:
            if routed(router, phrase) != ("sure", topic.id):
                wrong.append((topic.id, phrase, router.best_topic(phrase)))
    assert wrong == []


def test_the_guides_own_questions_never_trip_the_safety_check(guide):
    prompts = load_prompts(guide)
    flagged = [
        phrase
        for topic in guide.topics
        for phrase in (*topic.samples, *topic.keywords)
        if check_question(phrase, prompts)
    ]
    assert flagged == []


def test_the_reading_of_a_question(router):
    reading = router.read("um alexa what are the j a k inhibitors for as please")
    assert reading.terms == ("what", "jak", "inhibitor", stem("spondylitis"))
    assert reading.unknown == ()
    reading = router.read("is xeljanz cheaper")
    assert reading.out_of_domain == ("money_and_access", "other_drugs")
    assert "xeljanz" in reading.unknown
    assert router.read("as soon as possible").terms.count(stem("spondylitis")) == 0


@pytest.mark.parametrize(
    "heard",
    ["what are j a k inhibitors", "what are jay a k inhibitors", "what are jay ay kay inhibitors"],
)
def test_letters_spelled_out_are_joined_whether_heard_as_letters_or_names(router, heard):
    assert router.read(heard).terms == ("what", "jak", "inhibitor")


def test_an_article_before_spelled_letters_is_not_one_of_them(router):
    assert router.read("is it worth going on a jay a kay inhibitor").spelled == (
        "worth", "going", "jak", "inhibitor"
    )
    assert router.read("what is a s").terms == ("what", stem("spondylitis"))
    # ... nor an article after them: "is a s a chronic disease" is not the letters "asa".
    assert router.read("is a s a chronic disease").spelled == ("spondylitis", "chronic", "disease")


def test_the_guides_faqs_are_reached_by_their_numbers(router, guide):
    faqs = [t.id for t in guide.topics if t.kind == "faq"]
    assert len(faqs) == 5
    for number, faq in zip(("one", "two", "three", "four", "five"), faqs, strict=True):
        assert routed(router, f"f a q number {number}") == ("sure", faq)
        assert routed(router, f"question {number}") == ("sure", faq)


def test_letter_names_that_are_everyday_words_or_stand_alone_stay_words(router):
    # "you" and "why" are letter names too, but listed as none; "jay" alone is a name.
    assert router.read("why are you asking").spelled == ("why", "asking")
    assert "jay" in router.read("my friend jay takes them").spelled
    assert router.read("what is a s").terms == ("what", stem("spondylitis"))
    assert router.read("what is ay ess").terms == ("what", stem("spondylitis"))


@pytest.mark.parametrize(
    "question, alone",
    [
        ("what are the side effects of ibuprofen", True),
        ("can i take ibuprofen and paracetamol together", True),
        ("can i take ibuprofen with it", False),
        ("is paracetamol safe with jak inhibitors", False),
        ("can i keep taking my painkillers", False),  # no medicine named
        ("what causes migraines", True),  # an everyday ailment too
        ("what's a normal blood pressure", True),
        ("will these tablets give me migraines", False),
        ("is it safe with my blood pressure pills", False),
    ],
)
def test_another_medicine_or_ailment_named_without_the_treatment_is_outside_the_guide(
    router, question, alone
):
    assert ("another_subject_alone" in router.read(question).out_of_domain) is alone


@pytest.mark.parametrize(
    "question, outside",
    [
        ("can i take these alongside my methotrexate", False),  # the guide's own question
        ("is it safe to take jak inhibitors with my statins", False),
        ("what are the side effects of methotrexate", True),  # no treatment, no "with"
        ("is methotrexate a jak inhibitor", True),  # the treatment, but not taken together
        ("can i take methotrexate with antibiotics", True),  # together, but not the treatment
    ],
)
def test_a_named_medicine_taken_with_the_treatment_is_the_guides_question(
    router, question, outside
):
    reading = router.read(question)
    assert ("other_drugs" in reading.out_of_domain) is outside
    assert (stem("medication") in reading.terms) is not outside


@pytest.mark.parametrize(
    "question, topic",
    [
        ("and if it makes me sick", "faq_side_effect_action"),
        ("if something goes wrong", "faq_side_effect_action"),
        ("what if i get side effects", "faq_side_effect_action"),
        ("what side effects can i get", "risks_and_side_effects"),  # no "if": what they are
    ],
)
def test_what_if_something_goes_wrong_asks_what_to_do(router, question, topic):
    assert routed(router, question) == ("sure", topic)
    assert (stem("action") in router.read(question).terms) is (" if " in f" {question} ")


@pytest.mark.parametrize(
    "question, topic",
    [
        ("is it a painkiller or something different", "what_are_jak_inhibitors"),
        ("are jak inhibitors just a kind of painkiller", "what_are_jak_inhibitors"),
        ("can i take painkillers with it", "faq_other_medications"),
    ],
)
def test_asking_whether_it_is_a_painkiller_asks_what_it_is(router, question, topic):
    assert routed(router, question) == ("sure", topic)


def test_speaker_habits_are_not_evidence(router):
    plain = router.read("can you tell me what one of them jak inhibitors is")
    assert router.read("can y'all tell me what one of them jak inhibitors is love") == plain
    # A word of address after "a s" leaves it the disease.
    assert routed(router, "tell me about a s boyo") == ("sure", "understanding_as")


def test_as_explained_to_someone_is_the_disease(router):
    # "explain" is a filler, so nothing is left before "as"; "to" after it keeps it the disease.
    assert routed(router, "can you explain as to me in plain english") == (
        "sure", "understanding_as"
    )


@pytest.mark.parametrize(
    "heard, joined",
    [
        ("when will i see improve mints", "improvement"),  # "improve" is a word, "mints" not
        ("do inhibit tours help with the pain", "inhibitors"),
    ],
)
def test_a_split_word_holding_a_real_word_is_joined_when_nearly_a_guide_word(
    router, heard, joined
):
    assert joined in router.read(heard).spelled


def test_real_words_beside_a_guide_word_are_not_swallowed(router):
    assert router.read("are jak inhibitors cost effective").spelled == (
        "jak", "inhibitors", "cost", "effective"
    )


@pytest.mark.parametrize(
    "heard, joined",
    [
        ("what's the con clue shun of the guide", "conclusion"),
        ("what is ankylosing spawn delight us", "spondylitis"),
        ("do jack inhibitors come in tab lit form", "tablet"),
        ("is fizz ical therapy good", "physical"),
        ("what are the benny fits for a s", "benefits"),  # "fits" is a word: nearly "benefits"
        ("what are in habiters", "inhibitors"),  # "in" is a small word: nearly too
    ],
)
def test_split_pieces_that_sound_like_a_guide_word_together_are_joined(router, heard, joined):
    assert joined in router.read(heard).spelled


@pytest.mark.parametrize(
    "heard, term",
    [
        ("um i'm having sigh defects from my tablets", ("side", "effect")),  # 'gh' is silent
        ("are there sighed effects", ("side", "effect")),
        ("is the jackin habitor a tablet", ("jak", "inhibitor")),
        ("what does janus kind ace mean", ("janus", "kinase")),  # the d after n is lost
    ],
)
def test_split_pieces_that_sound_like_a_two_word_term_become_the_term(router, heard, term):
    spelled = router.read(heard).spelled
    assert any(spelled[i : i + 2] == term for i in range(len(spelled) - 1))
    assert router.read(heard).unknown == ()


@pytest.mark.parametrize(
    "heard, read_as",
    [
        # A word the vocabulary reads ("rheumatologist" reads as "doctor"), by its sound.
        ("how often do i see the room a tologist", "doctor"),
        ("my room at ologist wants to see me", "doctor"),
        ("a s is a chronic in flame a tory disorder", "inflammation"),
        # One sound away from a long word: "punksure" is not quite "puncture".
        ("does accu punk sure work for as", "acupuncture"),
        ("what do i do about cider fects", "effect"),  # a two-word term too: "side effects"
    ],
)
def test_split_pieces_near_the_sound_of_a_long_word_are_joined(router, heard, read_as):
    assert read_as in router.read(heard).spelled


def test_one_long_word_that_sounds_like_a_word_the_vocabulary_reads_is_read_as_it(router):
    assert "doctor" in router.read("should i see a roomatologist before starting jak").spelled
    # ... only when spelled much like it: "teenagers" sounds like "dangerous".
    assert "teenagers" in router.read("are jak inhibitors okay for teenagers").spelled


def test_pieces_near_the_sound_of_ankylosing_are_read_as_the_disease(router):
    # "ankylosing" before "spondylitis" adds nothing to the disease's name.
    assert router.read("what is angela sing spondylitis").spelled == ("what", "spondylitis")


@pytest.mark.parametrize(
    "heard, meant",
    [
        ("is uncle lousy spondylitis the same for everyone",
         "is ankylosing spondylitis the same for everyone"),
        ("what's hanky losing spondylitis", "what's ankylosing spondylitis"),  # an h added
        # A small word starts the pieces only when it starts the word's sound.
        ("what is and kill a sing spondylitis", "what is ankylosing spondylitis"),
        ("does ankylosing sponge elitist affect my back",
         "does ankylosing spondylitis affect my back"),
        ("what are the janis kyness inhibitors", "what are the janus kinase inhibitors"),
        ("what do yanus kinase inhibitors do", "what do janus kinase inhibitors do"),  # y for j
        ("how do jack and hibernators work", "how do jak inhibitors work"),
        # The other terms of the vocabulary too.
        ("is fizzical therapy good with jak inhibitors",
         "is physical therapy good with jak inhibitors"),
        ("will a jak inhibitor improve my joint fun shun",
         "will a jak inhibitor improve my joint function"),
        ("do jak inhibitors help the a mune response",
         "do jak inhibitors help the immune response"),
        # Pieces all the guide's own words, or ending on a small word: when nearly the word.
        ("what is an key losing spondylitis", "what is ankylosing spondylitis"),
        ("ankle is in spondylitis what's that", "ankylosing spondylitis what's that"),
        # One unknown word there, starting with the other word's first sounds.
        ("what is anchorage spondylitis", "what is ankylosing spondylitis"),
        ("um what about fizzy therapy", "um what about physical therapy"),
    ],
)  # fmt: skip
def test_pieces_beside_one_word_of_a_term_that_loosely_sound_like_the_other_are_it(
    router, heard, meant
):
    assert router.read(heard).terms == router.read(meant).terms
    assert router.read(heard).unknown == ()


@pytest.mark.parametrize(
    "heard, kept",
    [
        ("will jak interfere with my other medications", "interaction"),  # a word it reads
        ("what life style changes help hanky losing spondylitis", "help"),  # a guide word
        ("can jak inhibitors kure my spondilitis", "cure"),  # the term is whole already
        ("what is a spondylitis", "what"),
        # Of the runs that sound like the word, the one most like it.
        ("can jack and hibiters fix and kylie sing spondylitis", "fix"),
    ],
)
def test_a_term_is_never_completed_over_words_heard_right(router, heard, kept):
    assert kept in router.read(heard).spelled


@pytest.mark.parametrize(
    "heard, kept",
    [
        ("will i ever be rid of it", "cure"),  # "rid of": not "everybody", "be" is small
        ("what should i do if i experience sigh defects", "side"),  # not "experiencing"
        ("what's a yak inhibitor", "jak"),  # not "inhibitor" alone: it is a guide word
    ],
)
def test_near_sounds_never_swallow_words_heard_right(router, heard, kept):
    assert kept in router.read(heard).spelled


def test_a_near_sound_keeps_the_first_sound(router):
    # "bee sting" is one sound from "studying", but a recogniser seldom loses the first sound.
    assert "studying" not in router.read("how do i treat a bee sting").spelled


def test_a_merged_word_may_hold_a_mishearing_the_vocabulary_mends(router):
    assert router.read("is jackinhibitors risky").spelled == ("jak", "inhibitors", "risky")
    # Only beside a long guide word: "jackson" is not "jak son".
    assert "son" not in router.read("play michael jackson").spelled


def test_a_before_one_spelled_letter_is_the_article(router):
    # "a jay" is not the letters "a j": "jay nus" is then heard as "janus".
    assert router.read("what's a jay nus kinase").spelled == ("what", "janus", "kinase")
    assert router.read("what are j a k inhibitors").spelled == ("what", "jak", "inhibitors")


def test_and_before_a_split_word_is_heard_as_part_of_it(router):
    assert router.read("what does the jak stand for in jack and hibbiters").spelled[-2:] == (
        "jak", "inhibitor"
    )


def test_a_sound_join_does_not_start_on_a_small_word_or_swallow_a_guide_word(router):
    # "any in ter" sounds like "intro"; "take ace" like "teach": neither is joined.
    assert "intro" not in router.read("is there any in ter action").spelled
    assert "take" in router.read("can i take ace inhibitors with jak inhibitors").spelled
    # Nor is the word much shorter than the pieces: "get sigh" sounds like "gets".
    assert router.read("what if i get sigh defects").spelled[-3:] == ("get", "side", "effect")
    # Nor does one end on an article: "book an" sounds like "began".
    assert "book" in router.read("book an appointment with my doctor").spelled


def test_the_guide_s_own_words_are_learned_as_spelled_never_joined(router):
    # A sample's words are spelled right: "my diagnosis" is not two pieces of another word.
    reading = router.read("explain my diagnosis")
    assert "diagnosis" in reading.spelled and reading.unknown == ()
    assert router.read("is it free").unknown == ()


@pytest.mark.parametrize(
    "heard",
    ["jaguar", "jerk", "yak", "check", "jacking", "junk", "jam", "jab", "jazz", "zach", "gak"],
)
def test_a_word_that_sounds_like_jak_before_inhibitors_is_jak(router, heard):
    assert router.read(f"what are {heard} inhibitors").spelled == ("what", "jak", "inhibitors")


def test_the_word_heard_as_jak_is_jak_again_elsewhere_unless_it_is_a_known_word(router):
    assert router.read("what does jerk stand for in jerk inhibitors").spelled[:2] == (
        "what", "jak"
    )
    assert "check" in router.read("do i need check ups on check inhibitors").spelled


@pytest.mark.parametrize("heard", ["jacked", "jay", "jacques", "jaw", "jug"])
def test_a_word_that_sounds_like_jak_before_guide_is_jak(router, heard):
    assert router.read(f"what's the {heard} guide about").spelled == ("what", "jak", "guide")


def test_a_word_of_the_guides_own_before_guide_stays_itself(router):
    # "acupuncture" starts with the sound of "jak" as the rule hears it ("a", then "k").
    assert router.read("is there an acupuncture guide").spelled == ("acupuncture", "guide")


def test_blockers_said_alone_are_the_inhibitors_never_joined_into_another_word(router):
    # "blocker work" sounds like "bloodwork", which the vocabulary reads as monitoring.
    reading = router.read("how does the janus kinase blocker work")
    assert reading.spelled == ("how", "jak", "inhibitor", "work")


def test_the_start_of_inhibitors_heard_apart_after_a_jak_sound_is_part_of_it(router):
    # "hibitors" is mended to "inhibitors", and the "in" heard before it was its start.
    assert router.read("how do yak in hibitors work").spelled == (
        "how", "jak", "inhibitors", "work"
    )


def test_other_inhibitors_stay_themselves(router):
    assert router.read("what are proton pump inhibitors").spelled == (
        "what", "proton", "pump", "inhibitors"
    )
    assert router.read("are ace inhibitors safe").spelled[:2] == ("ace", "inhibitors")


def test_a_split_word_the_vocabulary_reads_is_joined(router):
    # "re cap" -> "recap", a synonym of "summary"; "hibi ters" -> "hibiters", a mishearing
    assert stem("summary") in router.read("can you re cap it").terms
    assert router.read("jak in hibi ters").terms == ("jak", "inhibitor")


def test_the_likelihood_signal_is_a_posterior_over_the_topics(guide):
    likelihood_only = Router(
        guide, weights=Weights(similarity_share=0, spelling_share=0, likelihood_share=1)
    )
    assert likelihood_only.weights.coverage_share == 0
    scores = likelihood_only.scores("my tummy feels funny since the tablets")
    assert sum(scores.values()) == pytest.approx(1, abs=0.001)
    assert max(scores, key=scores.get) == "faq_side_effect_action"
    # A word the guide does not know dilutes it: it is scaled by the share of the question known.
    diluted = likelihood_only.scores("my tummy feels funny since the zorblax")
    assert 0.5 < sum(diluted.values()) < 0.9
    assert max(diluted, key=diluted.get) == "faq_side_effect_action"
    assert set(likelihood_only.scores("zorblax").values()) == {0.0}


def test_one_of_the_guide_s_own_phrases_is_its_topic_s_by_likelihood_too(guide, router):
    likelihood_only = Router(
        guide, weights=Weights(similarity_share=0, spelling_share=0, likelihood_share=1)
    )
    for topic in guide.topics:
        for phrase in topic.samples[:5]:
            assert likelihood_only.rank(phrase)[0].topic_id == router.rank(phrase)[0].topic_id


def test_the_spelling_signal_matches_misspelt_and_run_together_words(guide):
    spelling_only = Router(guide, weights=Weights(similarity_share=0, spelling_share=1))
    assert spelling_only.weights == Weights(similarity_share=0, spelling_share=1)
    # It compares with the topics' names (title, short name, keywords), not their samples, and
    # only when a word was not heard as the guide's: the guide's own words need no spelling.
    assert spelling_only.rank("the risks and side effects") == []
    for heard, topic in [
        ("how do jak inhibiters werk", "how_jak_inhibitors_work"),
        ("summery", "closing"),
    ]:
        assert spelling_only.rank(heard)[0].topic_id == topic
    assert spelling_only.rank("how do i bake bread")[0].score < 0.5


def test_the_weights_come_from_the_vocabulary_file_unless_given(router):
    assert router.weights == load_vocabulary().weights
    assert 0 < router.weights.coverage_share <= 1


def test_sound_keys_and_stems():
    assert phonetic_key("jock") == phonetic_key("jak") == phonetic_key("jag")
    assert phonetic_key("spawndillitis") == phonetic_key("spondylitis")
    assert phonetic_key("sigh") == phonetic_key("sy") and phonetic_key("ghost") == "kst"
    assert phonetic_key("kind ace") == phonetic_key("kinase")
    assert stem("cured") == stem("cures") == stem("cure")
    assert stem("effects") == stem("effect")
    assert stem("working") == stem("works") == stem("work")


# --- scores ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["what are the side effects", "jak", "how do i bake bread", "what if i get side effects"],
)
def test_scores_are_within_zero_and_one_and_ranked_best_first(router, question):
    ranked = router.best_topic(question).ranked
    assert ranked
    scores = [s.score for s in ranked]
    assert all(0 < s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len({s.topic_id for s in ranked}) == len(ranked)


def test_an_exact_sample_scores_higher_than_a_vague_question(router):
    exact = router.best_topic("what are the side effects").top.score
    vague = router.best_topic("what about it").top
    assert exact >= 0.9
    assert vague is None or vague.score < 0.3


def test_once_built_the_reader_remembers_only_the_popular_texts(router):
    # A varied stream of questions is read afresh, as in use (the load benchmark relies on it).
    reader = router._reader
    for cache in (reader._mended, reader._surface):
        assert cache.cache_info().maxsize == TEXT_CACHE_SIZE
    for i in range(TEXT_CACHE_SIZE + 10):
        router.rank(f"what are the side effects number {i}")
    assert reader._mended.cache_info().currsize == TEXT_CACHE_SIZE


def test_bands_come_from_the_vocabulary_file(router):
    bands = load_vocabulary().bands
    assert router.bands == bands
    assert 0 < bands.clarify_min_score <= bands.sure_min_score <= 1
    assert 0 <= bands.sure_min_gap < 1


# --- the vocabulary file -----------------------------------------------------------------------


def write_vocabulary(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(ROUTER_VOCABULARY_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "router_vocabulary.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("bands"), "field 'bands' must be a mapping"),
        (
            lambda d: d["bands"].update(sure_min_score=1.5),
            "bands: field 'sure_min_score' must be a number from 0 to 1",
        ),
        (
            lambda d: d["bands"].update(clarify_min_score=0.9, sure_min_score=0.5),
            "bands: field 'clarify_min_score' is above 'sure_min_score'",
        ),
        (
            lambda d: d["bands"].update(offer_min_score=0.7, clarify_min_score=0.5),
            "bands: field 'offer_min_score' is above 'clarify_min_score'",
        ),
        (
            lambda d: d["bands"].pop("offer_min_score"),
            "bands: field 'offer_min_score' must be a number from 0 to 1",
        ),
        (lambda d: d.update(synonyms=["kick in"]), "field 'synonyms' must map phrases to phrases"),
        (
            lambda d: d["another_subject_alone"].pop("unless"),
            "another_subject_alone: field 'unless' must be a non-empty list of words",
        ),
        (
            lambda d: d["taken_together"].update(group="nowhere"),
            "taken_together: field 'group' must name an out_of_domain group",
        ),
        (
            lambda d: d["taken_together"].pop("words"),
            "taken_together: field 'words' must be a non-empty list of words",
        ),
        (
            lambda d: d["if_something_goes_wrong"].update(means="what to do"),
            "if_something_goes_wrong: field 'means' must be a single word",
        ),
        (
            lambda d: d.pop("if_something_goes_wrong"),
            "if_something_goes_wrong: field 'after' must be a single word",
        ),
        (
            lambda d: d["letter_names"].update(jay="jj"),
            "field 'letter_names' must map words to single letters",
        ),
        (
            lambda d: d.update(two_word_terms=["side effects", "janus"]),
            "field 'two_word_terms' must hold phrases of two words",
        ),
        (
            lambda d: d.pop("two_word_terms"),
            "field 'two_word_terms' must be a list of two-word phrases",
        ),
        (
            lambda d: d["misheard"].update({"jack": ""}),
            "field 'misheard' entry 'jack' must be non-empty text",
        ),
        (lambda d: d.update(fillers=[]), "field 'fillers' must be a non-empty list of phrases"),
        (lambda d: d.update(stopwords=None), "field 'stopwords' must be a non-empty list of words"),
        (
            lambda d: d["out_of_domain"].update(not_health="weather"),
            "out_of_domain: field 'not_health' must be a list of phrases",
        ),
        (lambda d: d.pop("scoring"), "field 'scoring' must be a mapping"),
        (
            lambda d: d["scoring"].update(similarity_share=0.7, spelling_share=0.5),
            "scoring: the shares add up to more than 1",
        ),
        (
            lambda d: d["scoring"].update(similarity_share=0.5, likelihood_share=0.6),
            "scoring: the shares add up to more than 1",
        ),
        (
            lambda d: d["scoring"].pop("likelihood_share"),
            "scoring: field 'likelihood_share' must be a number from 0 to 1",
        ),
        (
            lambda d: d["scoring"].update(guide_text_credit=-1),
            "scoring: field 'guide_text_credit' must be a number from 0 to 1",
        ),
        (
            lambda d: d.update(unknown_word_weight="high"),
            "field 'unknown_word_weight' must be a number from 0 to 1",
        ),
    ],
)
def test_a_malformed_vocabulary_file_names_the_file_and_field(tmp_path, guide, change, message):
    path = write_vocabulary(tmp_path, change)
    with pytest.raises(GuideError) as error:
        Router(guide, path)
    assert str(error.value) == f"router_vocabulary.yaml: {message}"


def test_a_vocabulary_file_that_is_not_yaml_is_named(tmp_path, guide):
    path = tmp_path / "router_vocabulary.yaml"
    path.write_text("bands: [unclosed\n", encoding="utf-8")
    with pytest.raises(GuideError, match=r"^router_vocabulary\.yaml: is not valid YAML"):
        Router(guide, path)


def test_every_word_the_vocabulary_maps_to_is_a_word_of_the_guide(router, guide):
    # ... or a word it marks as outside the guide ("method rex ate" is "methotrexate").
    vocabulary = load_vocabulary()
    texts = [
        text
        for t in guide.topics
        for text in (*t.samples, *t.keywords, t.title, t.short_name, t.guide_text, *t.spoken)
    ]
    guide_terms = {term for text in texts for term in router.read(text).terms}
    guide_terms |= {p[0] for p in vocabulary.out_of_domain if len(p) == 1}
    meant = {" ".join(m) for m in (*vocabulary.misheard.values(), *vocabulary.synonyms.values())}
    strays = {m: router.read(m).terms for m in meant}
    assert {m: t for m, t in strays.items() if not set(t) <= guide_terms} == {}


# --- the benchmark's band search -----------------------------------------------------------------


def test_the_benchmarks_band_search_agrees_with_band_for(router, guide):
    """The benchmark sweeps the band grid quickly; it must score what `band_for` would do."""
    from benchmarks import routing

    questions = routing.load_questions()[::10]
    outcomes = routing.evaluate(router, load_prompts(guide), questions, router.bands)
    points = {p.bands: p for p in routing.grid_search(outcomes)}
    for bands in list(points)[:: max(1, len(points) // 40)]:
        utility = 0.0
        for o in routing.rebanded(outcomes, bands):
            routed = (*routing.ROUTED_KINDS, "out_of_scope")
            if o.answered_by_safety or o.question.kind not in routed:
                continue
            scope = "in_scope" if o.in_scope else "out_of_scope"
            right = o.in_scope and (
                o.top in o.question.accept
                if o.band == "sure"
                else bool(set(o.offered) & set(o.question.accept))
            )
            utility += routing.UTILITY[(scope, o.band, right and o.band != "unsure")]
        assert points[bands].utility == pytest.approx(utility)
    assert routing.fold_of(questions[0]) == routing.fold_of(questions[0]) in range(routing.FOLDS)


# --- one or two topics on a close call -------------------------------------------------------


def _decision(band, *scored):
    return RouteDecision(band=band, ranked=tuple(ScoredTopic(t, s) for t, s in scored))


def test_a_close_call_offers_two_close_topics_or_the_top_one_alone():
    bands = Bands(sure_min_score=0.6, sure_min_gap=0.1, clarify_min_score=0.3)
    close = _decision("clarify", ("dosage", 0.5), ("monitoring", 0.45), ("faq_cure", 0.1))
    assert close.choices(bands) == ("dosage", "monitoring")
    clear_but_middling = _decision("clarify", ("dosage", 0.5), ("monitoring", 0.35))
    assert clear_but_middling.choices(bands) == ("dosage",)
    assert _decision("clarify", ("dosage", 0.4)).choices(bands) == ("dosage",)
    assert _decision("sure", ("dosage", 0.9), ("monitoring", 0.1)).choices(bands) == ()
    assert _decision("unsure", ("dosage", 0.2), ("monitoring", 0.19)).choices(bands) == ()


def test_a_decline_offers_the_top_topic_only_from_the_offer_score():
    bands = Bands(sure_min_score=0.6, sure_min_gap=0.1, clarify_min_score=0.5, offer_min_score=0.3)
    assert _decision("unsure", ("dosage", 0.45), ("monitoring", 0.44)).nearest(bands) == "dosage"
    assert _decision("unsure", ("dosage", 0.3)).nearest(bands) == "dosage"
    assert _decision("unsure", ("dosage", 0.29)).nearest(bands) is None
    assert _decision("unsure").nearest(bands) is None
    assert _decision("clarify", ("dosage", 0.55)).nearest(bands) is None
    assert _decision("sure", ("dosage", 0.9)).nearest(bands) is None


def test_a_decline_with_the_nearest_topic_then_yes_answers_it_and_no_moves_on(guide):
    prompts = load_prompts(guide)
    bands = Bands(
        sure_min_score=0.99, sure_min_gap=0.0, clarify_min_score=0.99, offer_min_score=0.3
    )
    conversation = Conversation(
        guide, prompts, Router(guide, replace(load_vocabulary(), bands=bands)), None
    )
    declined = conversation.ask_question(DialogState(), "what is the usual dosage")
    name = guide.topic("dosage").short_name
    assert declined.speech == (prompts.say("decline_nearest", topic=name),)
    assert declined.reprompt == (prompts.say("decline_nearest_reprompt", topic=name),)
    assert "healthcare provider" in declined.speech[0]
    assert declined.outcome == "decline:nearest:dosage"
    assert declined.state.offer == Offer("nearest", ("dosage",))
    assert conversation.yes(declined.state).outcome == "topic:dosage:0"
    moved_on = conversation.no(declined.state)
    assert moved_on.outcome == "prompt:anything_else"
    assert moved_on.state.offer is None
    # Nothing close enough: the plain decline, which says what the guide covers.
    plain = conversation.ask_question(DialogState(), "what's the weather tomorrow")
    assert plain.speech == (prompts.say("decline"),)
    assert plain.state.offer is None


def test_the_offer_score_is_the_lowest_where_half_the_offers_are_right():
    from benchmarks import routing

    def question(text, accept):
        return routing.Question(text, accept, "paraphrase" if accept else "out_of_scope", "tune")

    bands = Bands(sure_min_score=0.8, sure_min_gap=0.1, clarify_min_score=0.6)
    declined = [  # (question, top topic, top score): all below clarify_min_score, so declined
        (question("a", ("dosage",)), "dosage", 0.55),
        (question("b", ()), "monitoring", 0.50),
        (question("c", ("benefits",)), "faq_cure", 0.45),
        (question("d", ("lifestyle",)), "lifestyle", 0.40),
        (question("e", ()), "lifestyle", 0.30),
    ]
    outcomes = [
        routing.outcome(q, None, (ScoredTopic(topic, score),), bands)
        for q, topic, score in declined
    ]
    # From 0.32 (the grid's first step above 0.30): two right offers of four; from 0.30 and
    # below: two of five. With only the wrong offer: none anywhere, so none at all (0.60).
    assert routing.offer_threshold(outcomes, bands) == 0.32
    assert routing.offer_threshold(outcomes[:2], bands) == 0.10
    assert routing.offer_threshold(outcomes[1:2], bands) == 0.60


def test_the_benchmark_counts_the_ranking_apart_from_the_band():
    from benchmarks import routing

    bands = Bands(sure_min_score=0.8, sure_min_gap=0.1, clarify_min_score=0.6)
    asked = routing.Question("how much do i take", ("dosage",), "paraphrase", "tune")
    declined_right = routing.outcome(asked, None, (ScoredTopic("dosage", 0.5),), bands)
    assert declined_right.declined and not declined_right.top1 and declined_right.first_right
    wrong = routing.outcome(asked, None, (ScoredTopic("monitoring", 0.9),), bands)
    assert wrong.band == "sure" and not wrong.top1 and not wrong.first_right
    ranked = (ScoredTopic("monitoring", 0.9),)
    caught_as_dose = routing.outcome(asked, "dose", ranked, bands, dose_topic="dosage")
    assert caught_as_dose.top1 and caught_as_dose.first_right and caught_as_dose.sure_right
    caught_to_another_topic = routing.outcome(asked, "dose", ranked, bands, dose_topic="monitoring")
    assert not caught_to_another_topic.top1 and not caught_to_another_topic.first_right
    caught_as_emergency = routing.outcome(asked, "emergency", (ScoredTopic("dosage", 0.9),), bands)
    assert not caught_as_emergency.first_right


def test_a_middling_top_score_is_a_close_call_even_when_clear_of_the_second():
    bands = Bands(sure_min_score=0.6, sure_min_gap=0.1, clarify_min_score=0.3)
    ranked = tuple(ScoredTopic(t, s) for t, s in (("dosage", 0.45), ("monitoring", 0.1)))
    assert band_for(ranked, bands) == "clarify"
    assert band_for(ranked[:1], bands) == "clarify"
    assert band_for((ScoredTopic("dosage", 0.29),), bands) == "unsure"
    assert band_for((ScoredTopic("dosage", 0.6), ScoredTopic("monitoring", 0.5)), bands) == (
        "clarify"
    )
    assert band_for((ScoredTopic("dosage", 0.6), ScoredTopic("monitoring", 0.5)), bands) != "sure"


def test_did_you_mean_one_topic_then_yes_answers_it(guide):
    prompts = load_prompts(guide)
    vocabulary = replace(
        load_vocabulary(), bands=Bands(sure_min_score=0.99, sure_min_gap=0.0, clarify_min_score=0.3)
    )
    conversation = Conversation(guide, prompts, Router(guide, vocabulary), None)
    asked = conversation.ask_question(DialogState(), "what is the usual dosage")
    assert asked.speech == (prompts.say("clarify_one", first=guide.topic("dosage").short_name),)
    assert asked.reprompt == (
        prompts.say("clarify_one_reprompt", first=guide.topic("dosage").short_name),
    )
    assert asked.outcome == "clarify:dosage"
    assert asked.state.offer == Offer("clarify", ("dosage",))
    answered = conversation.yes(asked.state)
    assert answered.outcome == "topic:dosage:0"
    declined = conversation.no(asked.state)
    assert declined.outcome == "prompt:anything_else"
    assert declined.state.offer is None


# --- the phrase index ------------------------------------------------------------------------


def test_the_phrase_index_finds_each_topics_best_cosine_as_a_plain_search_would():
    import math
    import random

    from skill.router import _PhraseIndex

    rng = random.Random(7)
    features = ["jak", "inhibitor", "what", "how"] + [f"rare{i}" for i in range(40)]
    phrases = []
    for n in range(120):
        chosen = {"jak", "inhibitor"} if n % 3 else {"what"}  # common: in many phrases
        chosen |= set(rng.sample(features[4:], rng.randint(0, 3)))
        phrases.append((f"topic{n % 5}", {f: rng.uniform(0.2, 1.0) for f in chosen}))
    index = _PhraseIndex([f"topic{t}" for t in range(5)], phrases)
    assert {"jak", "inhibitor", "what"} <= index._common

    def plain(query):
        q_norm = math.sqrt(sum(w * w for w in query.values()))
        best = {}
        for topic, vector in phrases:
            norm = math.sqrt(sum(w * w for w in vector.values()))
            dot = sum(w * vector.get(f, 0.0) for f, w in query.items()) / (norm * q_norm)
            best[topic] = max(best.get(topic, 0.0), dot)
        return best

    for _ in range(200):
        chosen = rng.sample(features, rng.randint(1, 6))
        query = {f: rng.uniform(0.1, 1.0) for f in chosen}
        q_norm = math.sqrt(sum(w * w for w in query.values()))
        found = index.best_by_topic(query, q_norm)
        assert found == pytest.approx(plain(query), abs=1e-12)
