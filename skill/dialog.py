"""What the skill says next: plain decisions over the guide, testable without Alexa.

Each method takes the dialog state (where the listener is) and returns a Reply: the spoken
paragraphs, the reprompt, the card, whether the session ends, and the new state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from skill.guide import Guide, Topic
from skill.prompts import EmergencyRule, Prompts
from skill.review_log import ReviewLog, worth_reviewing
from skill.router import RouteDecision, Router
from skill.safety import asks_of_another_medicine, check_question, personal_dose_topic

OfferKind = Literal["more", "related", "clarify", "faq_list", "nearest"]
MAX_FALLBACKS = 3

_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]


def spell_number(n: int) -> str:
    """Small numbers as words, since spoken text holds no digits."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def spoken_list(items: list[str]) -> str:
    """'a, b, and c' for speech."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


@dataclass(frozen=True)
class Offer:
    """A question the skill has just asked, which 'yes' or 'no' answers."""

    kind: OfferKind
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class DialogState:
    """Where the listener is: topic and part, the open offer, and what was last said."""

    topic: str | None = None
    part: int = 0
    offer: Offer | None = None
    fallbacks: int = 0
    last_speech: tuple[str, ...] = ()
    last_reprompt: tuple[str, ...] = ()

    def to_attributes(self) -> dict[str, Any]:
        """Session attributes to send back to Alexa."""
        return {
            "topic": self.topic,
            "part": self.part,
            "offer": {"kind": self.offer.kind, "topics": list(self.offer.topics)}
            if self.offer
            else None,
            "fallbacks": self.fallbacks,
            "last_speech": list(self.last_speech),
            "last_reprompt": list(self.last_reprompt),
        }

    @classmethod
    def from_attributes(cls, attributes: Any, guide: Guide) -> DialogState:
        """Rebuild the state from session attributes, dropping anything not valid."""
        if not isinstance(attributes, dict):
            return cls()
        topic = attributes.get("topic")
        if not isinstance(topic, str) or not guide.has_topic(topic):
            topic = None
        part = attributes.get("part")
        max_part = guide.topic(topic).part_count - 1 if topic else 0
        part = part if isinstance(part, int) and 0 <= part <= max_part else 0
        fallbacks = attributes.get("fallbacks")
        fallbacks = fallbacks if isinstance(fallbacks, int) and 0 <= fallbacks <= 10 else 0
        return cls(
            topic=topic,
            part=part,
            offer=_offer_from(attributes.get("offer"), guide),
            fallbacks=fallbacks,
            last_speech=_texts(attributes.get("last_speech")),
            last_reprompt=_texts(attributes.get("last_reprompt")),
        )


def _offer_from(raw: Any, guide: Guide) -> Offer | None:
    if not isinstance(raw, dict) or raw.get("kind") not in (
        "more",
        "related",
        "clarify",
        "faq_list",
        "nearest",
    ):
        return None
    topics = raw.get("topics")
    if not isinstance(topics, list) or not all(
        isinstance(t, str) and guide.has_topic(t) for t in topics
    ):
        return None
    return Offer(kind=raw["kind"], topics=tuple(topics))


def _texts(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        return tuple(raw)
    return ()


@dataclass(frozen=True)
class Card:
    """A card in the Alexa app: a title and plain text."""

    title: str
    text: str


@dataclass(frozen=True)
class Reply:
    """Everything one turn says and does."""

    speech: tuple[str, ...]
    outcome: str  # what was answered, e.g. "topic:dosage:0", "prompt:help", "emergency:medical"
    state: DialogState
    reprompt: tuple[str, ...] = ()
    card: Card | None = None
    end_session: bool = False


class Conversation:
    """The skill's decisions, one method per thing a listener can do."""

    def __init__(
        self, guide: Guide, prompts: Prompts, router: Router, review_log: ReviewLog | None = None
    ) -> None:
        self.guide = guide
        self.prompts = prompts
        self.router = router
        # Opt-in and local: declined and low-confidence questions, for content editors.
        self.review_log = review_log

    # --- opening and help -------------------------------------------------------------

    def launch(self, state: DialogState) -> Reply:
        """Welcome, the short disclaimer and three example questions."""
        p = self.prompts
        examples = spoken_list([e.text for e in p.example_questions])
        speech = p.say("welcome", disclaimer=p.disclaimer_spoken, examples=examples)
        return self._reply(
            state, (speech,), "prompt:welcome", (p.say("welcome_reprompt"),), self._about_card()
        )

    def help(self, state: DialogState) -> Reply:
        """What the skill can do, with the short disclaimer."""
        p = self.prompts
        speech = p.say("help", disclaimer=p.disclaimer_spoken)
        return self._reply(
            state, (speech,), "prompt:help", (p.say("help_reprompt"),), self._about_card()
        )

    def list_topics(self, state: DialogState) -> Reply:
        """The guide's sections, then an offer to hear the common questions."""
        sections = [t.short_name for t in self.guide.topics if t.kind == "section"]
        speech = (
            self.prompts.say("topic_list_sections", count=spell_number(len(sections))),
            *sections,
            self.prompts.say("topic_list_offer_faqs"),
        )
        new_state = replace(state, offer=Offer("faq_list"))
        return self._reply(
            new_state,
            speech,
            "list:sections",
            (self.prompts.say("offer_more_reprompt"),),
        )

    def list_faqs(self, state: DialogState) -> Reply:
        """The common questions the guide answers."""
        faqs = [t.short_name for t in self.guide.topics if t.kind == "faq"]
        speech = (
            self.prompts.say("topic_list_faqs", count=spell_number(len(faqs))),
            *faqs,
            self.prompts.say("topic_list_reprompt"),
        )
        return self._reply(
            replace(state, offer=None),
            speech,
            "list:faqs",
            (self.prompts.say("topic_list_reprompt"),),
        )

    # --- answering ----------------------------------------------------------------------

    def ask_topic(self, state: DialogState, topic_id: str) -> Reply:
        """The first part of a topic asked for by name."""
        return self._topic_reply(state, self.guide.topic(topic_id), 0)

    def ask_question(self, state: DialogState, question: str) -> Reply:
        """A free question: safety first, then the router's decision."""
        finding = check_question(question, self.prompts)
        if finding and finding.emergency and not finding.likely:
            return self.emergency(state, finding.emergency)
        decision = self.router.best_topic(question)
        if finding and finding.personal_dose_topic and not finding.likely:
            if asks_of_another_medicine(self.router.read(question)):
                # Who decides a dose, then the usual reply (a decline), not the JAK dosage.
                return self.likely_personal_dose(self._routed(state, decision))
            return self.personal_dose(state, personal_dose_topic(decision, self.prompts))
        if self.review_log is not None and worth_reviewing(decision):
            self.review_log.record(question, decision)
        reply = self._routed(state, decision)
        if finding and finding.emergency:
            return self.likely_emergency(reply, finding.emergency)
        if finding:
            return self.likely_personal_dose(reply)
        return reply

    def _routed(self, state: DialogState, decision: RouteDecision) -> Reply:
        ranked = [s.topic_id for s in decision.ranked]
        if state.offer and state.offer.kind == "clarify":
            # A reply to "did you mean A or B" names one of them: prefer the offered topics,
            # unless the listener clearly moved on to another topic.
            moved_on = decision.band == "sure" and ranked[0] not in state.offer.topics
            offered = [t for t in ranked[:3] if t in state.offer.topics]
            if offered and not moved_on:
                return self.ask_topic(state, offered[0])
        if decision.band == "sure":
            return self.ask_topic(state, ranked[0])
        if decision.band == "clarify":
            return self.clarify(state, decision.choices(self.router.bands))
        return self.decline(state, decision.nearest(self.router.bands))

    def likely_emergency(self, reply: Reply, rule: EmergencyRule) -> Reply:
        """A question that may be an emergency: the emergency guidance first, then the usual
        reply, so that a false alarm costs the listener two sentences and not the answer.
        When the guide has no answer, no decline follows the guidance: only an open door."""
        outcome = f"likely_emergency:{rule.id}:{reply.outcome}"
        if reply.outcome.startswith("decline"):
            return replace(
                reply,
                speech=(rule.speech, self.prompts.say("likely_emergency_no_answer")),
                reprompt=(self.prompts.say("anything_else_reprompt"),),
                state=replace(reply.state, offer=None),
                outcome=outcome,
                card=Card(title="Get help now", text=rule.card),
            )
        card_text = rule.card + (f"\n\n{reply.card.text}" if reply.card else "")
        return replace(
            reply,
            speech=(rule.speech, self.prompts.say("likely_emergency_bridge"), *reply.speech),
            outcome=outcome,
            card=Card(title="Get help now", text=card_text),
        )

    def likely_personal_dose(self, reply: Reply) -> Reply:
        """A question that may ask for a personal dose: who decides that, then the usual reply."""
        return replace(
            reply,
            speech=(self.prompts.say("likely_personal_dose"), *reply.speech),
            outcome=f"likely_personal_dose:{reply.outcome}",
        )

    def emergency(self, state: DialogState, rule: EmergencyRule) -> Reply:
        """Emergency guidance only, and the session ends so the listener can act."""
        card = Card(title="Get help now", text=rule.card)
        return self._reply(state, (rule.speech,), f"emergency:{rule.id}", (), card, end=True)

    def emergency_by_id(self, state: DialogState, rule_id: str) -> Reply:
        """The emergency guidance of the rule with this id."""
        rule = next(r for r in self.prompts.emergencies if r.id == rule_id)
        return self.emergency(state, rule)

    def personal_dose(self, state: DialogState, topic_id: str | None = None) -> Reply:
        """The guide's dosage answer (or `topic_id`'s), after the advice to ask the healthcare
        provider."""
        topic = self.guide.topic(topic_id or self.prompts.personal_dose_topic)
        reply = self._topic_reply(state, topic, 0, preface=(self.prompts.say("personal_dose"),))
        return replace(reply, outcome=f"personal_dose:{reply.outcome}")

    def clarify(self, state: DialogState, topics: tuple[str, ...]) -> Reply:
        """Ask whether the listener meant this topic, or which of two close topics."""
        short_names = [self.guide.topic(t).short_name for t in topics]
        names = dict(zip(("first", "second")[: len(topics)], short_names, strict=True))
        prompt, reprompt = (
            ("clarify", "clarify_reprompt") if len(topics) > 1
            else ("clarify_one", "clarify_one_reprompt")
        )  # fmt: skip
        new_state = replace(state, offer=Offer("clarify", topics))
        return self._reply(
            new_state,
            (self.prompts.say(prompt, **names),),
            "clarify:" + ":".join(topics),
            (self.prompts.say(reprompt, **names),),
        )

    def decline(self, state: DialogState, nearest: str | None = None) -> Reply:
        """Not answered from the guide: say so and point to the healthcare provider; then say
        what the guide covers, or offer its nearest topic when one came close."""
        if nearest is None:
            return self._reply(
                replace(state, offer=None),
                (self.prompts.say("decline"),),
                "decline",
                (self.prompts.say("anything_else_reprompt"),),
            )
        topic = self.guide.topic(nearest).short_name
        return self._reply(
            replace(state, offer=Offer("nearest", (nearest,))),
            (self.prompts.say("decline_nearest", topic=topic),),
            f"decline:nearest:{nearest}",
            (self.prompts.say("decline_nearest_reprompt", topic=topic),),
        )

    # --- moving around ------------------------------------------------------------------

    def more(self, state: DialogState) -> Reply:
        """The next part of the current topic, if it has one."""
        topic = self._current(state)
        if topic and state.part + 1 < topic.part_count:
            return self._topic_reply(state, topic, state.part + 1)
        if state.offer and state.offer.kind == "faq_list":
            return self.list_faqs(state)
        return self._prompt(state, "no_more", "anything_else_reprompt")

    def next(self, state: DialogState) -> Reply:
        """The next part, or else the next topic in the guide's order."""
        topic = self._current(state)
        if topic is None:
            return self._topic_reply(state, self.guide.topics[0], 0)
        if state.part + 1 < topic.part_count:
            return self._topic_reply(state, topic, state.part + 1)
        index = self.guide.index_of(topic.id)
        if index + 1 < len(self.guide.topics):
            return self._topic_reply(state, self.guide.topics[index + 1], 0)
        return self._prompt(state, "end_of_guide", "anything_else_reprompt")

    def previous(self, state: DialogState) -> Reply:
        """The previous part, or else the previous topic."""
        topic = self._current(state)
        if topic is None:
            return self._prompt(state, "start_of_guide", "anything_else_reprompt")
        if state.part > 0:
            return self._topic_reply(state, topic, state.part - 1)
        index = self.guide.index_of(topic.id)
        if index == 0:
            return self._prompt(state, "start_of_guide", "anything_else_reprompt")
        return self._topic_reply(state, self.guide.topics[index - 1], 0)

    def start_over(self, state: DialogState) -> Reply:
        """The guide from its beginning."""
        return self._topic_reply(state, self.guide.topics[0], 0)

    def repeat(self, state: DialogState) -> Reply:
        """Say the last turn again, word for word."""
        if not state.last_speech:
            return self._prompt(state, "nothing_to_repeat", "anything_else_reprompt")
        return Reply(
            speech=state.last_speech,
            reprompt=state.last_reprompt,
            outcome="repeat",
            state=state,
        )

    def yes(self, state: DialogState) -> Reply:
        """Accept the open offer: more of the topic, the related topic, or the first choice."""
        offer = state.offer
        if offer is None:
            return self._prompt(state, "anything_else", "anything_else_reprompt")
        if offer.kind == "more":
            return self.more(state)
        if offer.kind == "faq_list":
            return self.list_faqs(state)
        return self.ask_topic(state, offer.topics[0])

    def no(self, state: DialogState) -> Reply:
        """Decline the open offer; with nothing offered, 'no' means the listener is done."""
        if state.offer is None:
            return self.stop(state)
        return self._prompt(replace(state, offer=None), "anything_else", "anything_else_reprompt")

    def fallback(self, state: DialogState) -> Reply:
        """Not understood: a rephrase hint, then the topic list, then a polite exit."""
        count = state.fallbacks + 1
        if count >= MAX_FALLBACKS:
            return self._reply(
                state, (self.prompts.say("fallback_exit"),), "fallback:3", (), end=True
            )
        if count == 1:
            reply = self._prompt(state, "fallback_rephrase", "help_reprompt")
        else:
            listing = self.list_topics(state)
            speech = (self.prompts.say("fallback_list"), *listing.speech)
            reply = replace(
                listing, speech=speech, state=replace(listing.state, last_speech=speech)
            )
        return replace(
            reply,
            outcome=f"fallback:{count}",
            state=replace(reply.state, fallbacks=count),
        )

    def stop(self, state: DialogState) -> Reply:
        """Goodbye, and the session ends."""
        return self._reply(state, (self.prompts.say("goodbye"),), "prompt:goodbye", (), end=True)

    def error(self, state: DialogState) -> Reply:
        """Something failed on our side: say so, and keep listening."""
        return self._prompt(state, "error", "error_reprompt")

    # --- building replies -----------------------------------------------------------------

    def _current(self, state: DialogState) -> Topic | None:
        return self.guide.topic(state.topic) if state.topic else None

    def _topic_reply(
        self, state: DialogState, topic: Topic, part: int, preface: tuple[str, ...] = ()
    ) -> Reply:
        if part + 1 < topic.part_count:
            offer = Offer("more", (topic.id,))
            follow_up = self.prompts.say("offer_more")
            reprompt = self.prompts.say("offer_more_reprompt")
        else:
            related = self.guide.topic(topic.related[0])
            offer = Offer("related", (related.id,))
            follow_up = self.prompts.say("offer_related", topic=related.short_name)
            reprompt = self.prompts.say("offer_related_reprompt", topic=related.short_name)
        card = Card(title=topic.title, text=f"{topic.guide_text}\n\n{self.prompts.disclaimer_full}")
        new_state = replace(state, topic=topic.id, part=part, offer=offer)
        return self._reply(
            new_state,
            (*preface, topic.spoken[part], follow_up),
            f"topic:{topic.id}:{part}",
            (reprompt,),
            card,
        )

    def _prompt(self, state: DialogState, key: str, reprompt_key: str) -> Reply:
        return self._reply(
            state, (self.prompts.say(key),), f"prompt:{key}", (self.prompts.say(reprompt_key),)
        )

    def _about_card(self) -> Card:
        examples = "\n".join(f"- {e.text}" for e in self.prompts.example_questions)
        return Card(
            title=self.prompts.skill_name,
            text=f"{self.prompts.disclaimer_full}\n\nTry asking:\n{examples}",
        )

    def _reply(
        self,
        state: DialogState,
        speech: tuple[str, ...],
        outcome: str,
        reprompt: tuple[str, ...],
        card: Card | None = None,
        end: bool = False,
    ) -> Reply:
        # Remember what was said, so "repeat" says it again word for word.
        new_state = replace(state, last_speech=speech, last_reprompt=reprompt)
        if outcome.startswith(("topic:", "list:", "clarify:", "decline")):
            new_state = replace(new_state, fallbacks=0)
        return Reply(
            speech=speech,
            reprompt=() if end else reprompt,
            card=card,
            end_session=end,
            state=new_state,
            outcome=outcome,
        )
