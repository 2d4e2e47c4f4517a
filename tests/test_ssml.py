"""The SSML builder: escaping, pauses, the lexicon and Alexa's limits."""

import pytest

from speech.ssml import MAX_SSML_CHARS, SsmlError, build_ssml, check_ssml

LEXICON = {"JAK": "jack", "AS": "A. S."}


def test_paragraphs_are_joined_with_pauses_and_wrapped_in_speak():
    assert build_ssml(["First idea.", "Second idea."], {}) == (
        '<speak>First idea.<break time="400ms"/>Second idea.</speak>'
    )


def test_xml_special_characters_are_escaped():
    assert build_ssml(["Pain & stiffness < 5 > 2"], {}) == (
        "<speak>Pain &amp; stiffness &lt; 5 &gt; 2</speak>"
    )


def test_jak_is_spoken_as_jack_and_as_is_spelled():
    assert build_ssml(["JAK inhibitors help AS."], LEXICON) == (
        '<speak><sub alias="jack">JAK</sub> inhibitors help <sub alias="A. S.">AS</sub>.</speak>'
    )


@pytest.mark.parametrize("text", ["As a rule", "as well", "JAKS", "a JAK-like", "ASAP"])
def test_lexicon_matches_whole_words_in_exact_case_only(text):
    assert build_ssml([text], LEXICON) == f"<speak>{text}</speak>"


def test_empty_paragraphs_are_dropped():
    assert build_ssml(["", "  ", "Hello."], {}) == "<speak>Hello.</speak>"


def test_too_long_speech_is_refused():
    with pytest.raises(SsmlError, match="8000"):
        build_ssml(["word " * (MAX_SSML_CHARS // 5)], {})


@pytest.mark.parametrize(
    "ssml, message",
    [("<speak>unclosed <s></speak>", "well-formed"), ("<p>text</p>", "<speak>")],
)
def test_check_ssml_rejects_malformed_or_unwrapped(ssml, message):
    with pytest.raises(SsmlError, match=message):
        check_ssml(ssml)


def test_characters_xml_cannot_carry_are_dropped():
    assert build_ssml(["Hello\x00 there\x1b.", "\ufffe"], {}) == "<speak>Hello there.</speak>"
