"""SSML -> local speech segments and plain text."""

from __future__ import annotations

import pytest

from speech.local_voice import (
    PARAGRAPH_PAUSE,
    SENTENCE_PAUSE,
    Pause,
    Utterance,
    plain_text,
    to_segments,
)

U, P = Utterance, Pause

CASES = [
    ("plain", "<speak>Hello there.</speak>", [U("Hello there.")], "Hello there."),
    (
        "entities",
        "<speak>Risks &amp; benefits: 5 &lt; 6 &gt; 4, &quot;ok&quot; isn&apos;t it</speak>",
        [U('Risks & benefits: 5 < 6 > 4, "ok" isn\'t it')],
        'Risks & benefits: 5 < 6 > 4, "ok" isn\'t it',
    ),
    (
        "sub alias",
        '<speak>What are <sub alias="jack">JAK</sub> inhibitors?</speak>',
        [U("What are jack inhibitors?")],
        "What are jack inhibitors?",
    ),
    (
        "sub before possessive",
        '<speak><sub alias="jack">JAK</sub>\'s role</speak>',
        [U("jack's role")],
        "jack's role",
    ),
    (
        "break ms",
        '<speak>One.<break time="400ms"/>Two.</speak>',
        [U("One."), P(0.4), U("Two.")],
        "One. Two.",
    ),
    (
        "break seconds",
        '<speak>One.<break time="1s"/>Two.<break time="1.5s"/>Three.</speak>',
        [U("One."), P(1.0), U("Two."), P(1.5), U("Three.")],
        "One. Two. Three.",
    ),
    (
        "break capped at ten seconds",
        '<speak>One.<break time="20000ms"/>Two.</speak>',
        [U("One."), P(10.0), U("Two.")],
        "One. Two.",
    ),
    (
        "break strengths",
        '<speak>a<break strength="medium"/>b<break strength="x-strong"/>c'
        '<break strength="strong"/>d<break strength="weak"/>e<break/>f</speak>',
        [U("a"), P(0.2), U("b"), P(PARAGRAPH_PAUSE), U("c"), P(SENTENCE_PAUSE), U("d"),
         P(0.2), U("e"), P(0.2), U("f")],
        "a b c d e f",
    ),
    (
        "break strength none joins",
        '<speak>one<break strength="none"/> two<break strength="x-weak"/> three</speak>',
        [U("one"), U("two"), U("three")],
        "one two three",
    ),
    (
        "paragraphs and sentences",
        "<speak><p><s>First.</s><s>Second.</s></p><p>Third.</p></speak>",
        [U("First."), P(SENTENCE_PAUSE), U("Second."), P(PARAGRAPH_PAUSE), U("Third.")],
        "First. Second. Third.",
    ),
    (
        "explicit break beside sentence end keeps the longer",
        '<speak><s>One.</s><break time="1s"/><s>Two.</s><break time="100ms"/></speak>',
        [U("One."), P(1.0), U("Two.")],
        "One. Two.",
    ),
    (
        "edge pauses dropped",
        '<speak><break time="2s"/><p>Only.</p><break time="1s"/></speak>',
        [U("Only.")],
        "Only.",
    ),
    (
        "say-as characters",
        '<speak>Ask about <say-as interpret-as="characters">AS</say-as>.</speak>',
        [U("Ask about A.S.")],
        "Ask about A.S.",
    ),
    (
        "say-as spell-out with digits",
        '<speak><say-as interpret-as="spell-out">abc12</say-as> done</speak>',
        [U("A.B.C. 1 2 done")],
        "A.B.C. 1 2 done",
    ),
    (
        "say-as digits",
        '<speak>Call <say-as interpret-as="digits">911</say-as> now</speak>',
        [U("Call 9 1 1 now")],
        "Call 9 1 1 now",
    ),
    (
        "say-as other keeps text",
        '<speak>On <say-as interpret-as="date" format="md">12/25</say-as></speak>',
        [U("On 12/25")],
        "On 12/25",
    ),
    (
        "nested emphasis prosody phoneme",
        '<speak><p>This is <emphasis level="strong"><prosody rate="90%">very '
        '<phoneme alphabet="ipa" ph="\u02c8\u026ampo\u02d0t\u0259nt">important</phoneme>'
        "</prosody></emphasis>"
        " indeed.</p></speak>",
        [U("This is very important indeed.")],
        "This is very important indeed.",
    ),
    (
        "sub inside sentence inside paragraph",
        '<speak><p><s>Tell me about <sub alias="jack">JAK</sub>.</s></p></speak>',
        [U("Tell me about jack.")],
        "Tell me about jack.",
    ),
    (
        "unknown and namespaced tags keep their text",
        '<speak><amazon:effect name="whispered">quietly</amazon:effect> <w role="amazon:VB">'
        'read</w> <lang xml:lang="en-GB">this</lang> <foo bar="1">too</foo></speak>',
        [U("quietly read this too")],
        "quietly read this too",
    ),
    (
        "audio has no words",
        '<speak>Before <audio src="https://example.com/a.mp3"/> after</speak>',
        [U("Before after")],
        "Before after",
    ),
    (
        "whitespace normalised",
        "<speak>\n  Lots   of\tspace\n\n here  </speak>",
        [U("Lots of space here")],
        "Lots of space here",
    ),
    (
        "xml declaration and comment",
        '<?xml version="1.0"?><speak><!-- not spoken -->Hi</speak>',
        [U("Hi")],
        "Hi",
    ),
    (
        "punctuation alone after a break is not an utterance",
        '<speak>Hello<break time="300ms"/>.</speak>',
        [U("Hello")],
        "Hello",
    ),
    ("empty", "<speak></speak>", [], ""),
]


@pytest.mark.parametrize(("ssml", "segments", "text"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_segments_and_plain_text(ssml: str, segments: list, text: str) -> None:
    assert to_segments(ssml) == segments
    assert plain_text(ssml) == text


@pytest.mark.parametrize("ssml", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_no_markup_is_ever_spoken(ssml: str) -> None:
    spoken = " ".join(s.text for s in to_segments(ssml) if isinstance(s, Utterance))
    assert spoken == plain_text(ssml)
    for fragment in ("<", ">", "speak", "break", "sub", "alias", "&amp;", "&lt;"):
        assert fragment not in spoken.replace("5 < 6 > 4", "")


MALFORMED = [
    ("unclosed tag", "<speak><p>Hi</speak>", "mismatched tag at line 1, column 15"),
    ("raw ampersand", "<speak>A & B</speak>", "not well-formed"),
    ("raw less-than", "<speak>5 < 6</speak>", "not well-formed"),
    ("undefined entity", "<speak>a&nbsp;b</speak>", "undefined entity"),
    ("not speak root", "<p>Hi</p>", "single <speak>"),
    ("no markup", "just text", "single <speak>"),
    ("two roots", "<speak>a</speak><speak>b</speak>", "single <speak>"),
    ("text after root", "<speak>a</speak> trailing", "single <speak>"),
    ("bad break time", '<speak>a<break time="soon"/>b</speak>', 'break time="soon"'),
    ("bad break strength", '<speak>a<break strength="huge"/>b</speak>', 'strength="huge"'),
    ("empty string", "", "Malformed SSML"),
]


@pytest.mark.parametrize(("ssml", "message"), [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_ssml_raises_value_error(ssml: str, message: str) -> None:
    with pytest.raises(ValueError, match="Malformed SSML") as info:
        to_segments(ssml)
    assert message in str(info.value)
    with pytest.raises(ValueError):
        plain_text(ssml)


def test_skill_ssml_round_trip() -> None:
    """The skill's own builder output speaks the same words Alexa would."""
    from speech.ssml import build_ssml

    ssml = build_ssml(["JAK inhibitors & AS.", "Ask your doctor."], {"JAK": "jack"})
    segments = to_segments(ssml)
    assert [s for s in segments if isinstance(s, Utterance)] == [
        U("jack inhibitors & AS."), U("Ask your doctor.")]
    assert isinstance(segments[1], Pause)
    assert plain_text(ssml) == "jack inhibitors & AS. Ask your doctor."
