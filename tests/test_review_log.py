"""The opt-in review log: what a line holds, thread safety, and the editor's report."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from skill.guide import Guide, load_guide
from skill.review_log import ReviewLog, review_report, worth_reviewing
from skill.router import RouteDecision, ScoredTopic


@pytest.fixture(scope="module")
def guide() -> Guide:
    return load_guide()


def decision(band: str, *ranked: tuple[str, float]) -> RouteDecision:
    return RouteDecision(band=band, ranked=tuple(ScoredTopic(t, s) for t, s in ranked))  # type: ignore[arg-type]


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_line_holds_time_question_band_and_top_three_only(tmp_path):
    log = ReviewLog(tmp_path / "logs" / "review-log.jsonl")
    log.record(
        "  what about   jak blockers ",
        decision(
            "clarify",
            ("what_are_jak_inhibitors", 0.41234),
            ("choosing_a_jak_inhibitor", 0.4),
            ("dosage", 0.2),
            ("benefits", 0.1),
        ),
    )
    (line,) = read_lines(tmp_path / "logs" / "review-log.jsonl")
    assert set(line) == {"time", "question", "band", "top"}
    assert line["question"] == "what about jak blockers"
    assert line["band"] == "clarify"
    assert line["top"] == [
        {"topic": "what_are_jak_inhibitors", "score": 0.4123},
        {"topic": "choosing_a_jak_inhibitor", "score": 0.4},
        {"topic": "dosage", "score": 0.2},
    ]
    assert line["time"].endswith("+00:00")


def test_lines_are_appended_and_no_ids_are_logged(tmp_path):
    path = tmp_path / "review-log.jsonl"
    log = ReviewLog(path)
    log.record("what's the weather", decision("unsure"))
    log.record("tell me about jak", decision("sure", ("what_are_jak_inhibitors", 0.9)))
    lines = read_lines(path)
    assert [line["question"] for line in lines] == ["what's the weather", "tell me about jak"]
    assert lines[0]["top"] == []
    text = path.read_text(encoding="utf-8").lower()
    assert "user" not in text and "session" not in text and "device" not in text


def test_many_threads_write_whole_lines(tmp_path):
    path = tmp_path / "review-log.jsonl"
    log = ReviewLog(path)

    def write(n: int) -> None:
        for i in range(50):
            log.record(f"question {n} {i}", decision("unsure", ("dosage", 0.1)))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = read_lines(path)
    assert len(lines) == 400
    assert len({line["question"] for line in lines}) == 400


def test_only_unsure_and_clarify_are_worth_reviewing():
    assert worth_reviewing(decision("unsure"))
    assert worth_reviewing(decision("clarify", ("dosage", 0.4), ("monitoring", 0.35)))
    assert not worth_reviewing(decision("sure", ("dosage", 0.9)))


def test_report_groups_questions_by_nearest_topic_in_guide_order(tmp_path, guide):
    path = tmp_path / "review-log.jsonl"
    log = ReviewLog(path)
    log.record(
        "how do jak pills get taken", decision("clarify", ("dosage", 0.42), ("monitoring", 0.3))
    )
    log.record(
        "what is jak", decision("clarify", ("what_are_jak_inhibitors", 0.45), ("dosage", 0.4))
    )
    log.record(
        "How do jak pills get taken", decision("clarify", ("dosage", 0.42), ("monitoring", 0.3))
    )
    log.record("play some music", decision("unsure"))
    log.record("old topic", decision("unsure", ("a_removed_topic", 0.2)))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("not json\n\n")

    report = review_report(path, guide)
    assert "5 questions (3 clarify, 2 unsure)" in report
    assert "1 lines could not be read" in report
    what = report.index("[what_are_jak_inhibitors] (1)")
    dosage = report.index("[dosage] (2)")
    nothing = report.index("No topic matched (2)")
    assert what < dosage < nothing  # guide order, unmatched last
    assert "0.42 clarify how do jak pills get taken  x2" in report
    assert "play some music" in report[nothing:] and "old topic" in report[nothing:]


def test_report_on_a_missing_or_empty_log(tmp_path, guide):
    assert "nothing has been logged" in review_report(tmp_path / "none.jsonl", guide)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert "has no questions" in review_report(empty, guide)


def test_the_endpoint_logs_declined_questions_only_when_asked_to(tmp_path, make_request):
    from app import create_app

    log_path = tmp_path / "review.jsonl"
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False, "REVIEW_LOG": str(log_path)})
    client = app.test_client()
    for question in ("what is the capital of peru", "what are the side effects"):
        envelope = make_request(intent="QuestionIntent", slots={"query": question})
        assert client.post("/", json=envelope).status_code == 200
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [line["question"] for line in lines] == ["what is the capital of peru"]
    assert lines[0]["band"] == "unsure"
    text = log_path.read_text()
    assert envelope["session"]["user"]["userId"] not in text
    assert envelope["session"]["sessionId"] not in text


def test_no_review_log_is_written_by_default(tmp_path, monkeypatch, client, make_request):
    monkeypatch.chdir(tmp_path)
    envelope = make_request(intent="QuestionIntent", slots={"query": "what is the capital of peru"})
    assert client.post("/", json=envelope).status_code == 200
    assert client.application.extensions["jak_guide"]["conversation"].review_log is None
    assert list(tmp_path.iterdir()) == []


def test_jak_guide_review_lists_the_log(tmp_path, capsys):
    from app import create_app
    from skill.cli import main
    from skill.dialog import DialogState

    log_path = tmp_path / "review.jsonl"
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False, "REVIEW_LOG": str(log_path)})
    conversation = app.extensions["jak_guide"]["conversation"]
    conversation.ask_question(DialogState(), "how much does it cost at the pharmacy")
    assert main(["review", "--log", str(log_path)]) == 0
    assert "how much does it cost at the pharmacy" in capsys.readouterr().out


def test_jak_guide_review_without_a_log_says_how_to_get_one(capsys):
    from skill.cli import main

    assert main(["review"]) == 1
    assert "JAK_GUIDE_REVIEW_LOG" in capsys.readouterr().err
