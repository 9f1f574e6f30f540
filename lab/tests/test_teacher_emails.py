"""lab.teacher_emails: the synthetic emails' seeds and prompts (the teacher itself runs in
test_teacher_references.py). Seeds are two-speaker named DialogSum *train* dialogues in a fixed
order with the first ones held apart as dev; summaries and replies are asked only of written emails."""

from __future__ import annotations

import pytest

from lab import teacher_emails as te


@pytest.mark.data("dialogsum")
def test_seeds_are_stable_two_speaker_train_dialogues_with_a_held_apart_dev():
    seeds = te.seeds()
    dev = [s for s in seeds if s.split == "dev"]
    assert len(dev) == te.DEV_DIALOGUES and len(seeds) > 10000
    assert all(s.id.startswith("email:train_") for s in seeds), "only DialogSum train grounds an email"
    assert len({s.id for s in seeds}) == len(seeds)
    for s in seeds[:200]:
        names = {name for name, _ in s.dialogue.turns}
        assert names == {s.sender, s.recipient} and s.sender != s.recipient
        assert s.dialogue.turns[0][0] == s.sender
    chosen = te.selected(5, 2)
    assert [s.split for s in chosen] == ["train"] * 5 + ["dev"] * 2
    assert chosen == te.selected(5, 2), "the same seeds on every run"
    assert not {s.id for s in te.selected(len(seeds), 0)} & {s.id for s in dev}


@pytest.mark.data("dialogsum")
def test_prompts_carry_the_names_and_later_stages_wait_for_the_email():
    chosen = te.selected(3, 0)
    first, second = chosen[0], chosen[1]
    [email_job, *_] = te.jobs_for("emails", chosen, {})
    assert email_job["id"] == first.id
    assert f"the email that {first.sender} sends to {first.recipient}" in email_job["text"]
    assert first.dialogue.summary in email_job["text"]
    assert f"{first.sender}: {first.dialogue.turns[0][1]}" in email_job["text"]
    body = (
        "The quarterly report will be two days late, because the sales figures for March only came in "
        "on Friday afternoon and still need a second look before anyone reads them. Could we move the "
        "review meeting to Wednesday morning instead?"
    )
    written = {
        first.id: "Hi.\n\nThe report is late.",  # fails email_problems: no summary or reply is asked of it
        second.id: f"Hi {second.recipient},\n\n{body}\n\nBest,\n{second.sender}",
    }
    assert te.email_problems(written[first.id], first) and not te.email_problems(written[second.id], second)
    assert te.jobs_for("summaries", chosen, written) == [
        {
            "id": second.id,
            "text": te.SUMMARY_PROMPT.format(a=second.sender, b=second.recipient, email=written[second.id]),
        }
    ]
    [reply] = te.jobs_for("replies", chosen, written)
    assert reply["text"].startswith(f"Here is an email that {second.recipient} received from {second.sender}")
    assert written[second.id] in reply["text"] and f"You are {second.recipient}." in reply["text"]
    assert te.targets_path("emails").name == "emails.jsonl"
    assert te.targets_path("replies").name == "emails.replies.jsonl"


def tom_to_anna() -> te.EmailSeed:
    """A seed for the checks: Tom's email to Anna."""
    from lab.data.dialogues import NamedDialogue

    d = NamedDialogue("dialogsum:train_1", (("Tom", "Hi."), ("Anna", "Hello.")), "Tom greets Anna.", ())
    return te.EmailSeed("email:train_1", "train", "Tom", "Anna", d)


def test_email_problems_catches_what_the_pilot_showed():
    seed = tom_to_anna()
    body = (
        "I hope you are well. The report will be two days late because the data only came in on Friday "
        "afternoon, and the figures for March still need a second look before anyone reads them. "
    )
    ask = "Could we meet on Thursday at ten to go through it together?"
    good = f"Subject: Report\n\nDear Anna,\n\n{body}{ask}\n\nBest,\nTom"
    assert len(good.split()) >= te.EMAIL_WORDS[0]
    assert te.email_problems(good, seed) == []
    cut = good.rsplit("\n", 2)[0]  # no sign-off: cut at its budget
    assert te.email_problems(cut, seed) == [
        "does not end with the sender's name (cut at its budget, or signed by someone else)"
    ]
    copied = good.replace(ask, f"\n\nAnna: I think I'll be a little afraid.\n\n{ask}")
    assert te.email_problems(copied, seed) == ["copies dialogue lines"]
    looped = good.replace(ask, f"{body}{ask}")
    assert te.email_problems(looped, seed) == ["says a sentence twice"]
    assert te.email_problems(good.replace("Dear Anna", "Hello"), seed) == [
        "does not greet the recipient by name"
    ]


def test_summary_and_reply_problems_catch_a_copied_email():
    seed = tom_to_anna()
    email = (
        "Dear Anna,\n\nThe report will be two days late because the data only came in on Friday. "
        "Could we meet on Thursday at ten to go through it together?\n\nBest,\nTom"
    )
    assert te.summary_problems("Tom tells Anna the report is late and asks to meet on Thursday.", seed) == []
    assert te.summary_problems(email, seed)[0] == "is the email, not a summary"
    assert te.summary_problems("The report is late.", seed) == ["does not name the sender"]
    reply = "Hi Tom,\n\nThursday at ten works for me. I will bring the March figures.\n\nAnna"
    assert te.reply_problems(reply, seed, email) == []
    echoed = email.replace("Dear Anna", "Dear Tom").replace("Best,\nTom", "Best,\nAnna")
    assert te.reply_problems(echoed, seed, email) == ["copies the email"]
    assert te.reply_problems("Hi Tom,\n\nSure.\n\nBest", seed, email) == [
        "does not end with the recipient's name"
    ]
    rambling = "Hi Tom,\n\n" + "Thursday works and I will be there early. " * 10 + "\n\nAnna"
    assert te.reply_problems(rambling, seed, email) == [
        f"{len(rambling.split())} words (kept up to {te.REPLY_MAX_WORDS}: the engine's reply budget)"
    ]


@pytest.mark.data("dialogsum")
def test_training_examples_keep_only_answers_whose_email_and_answer_pass(tmp_path):
    import json

    good, bad_email, bad_reply = te.selected(3, 0)

    def email(s):
        body = (
            "I wanted to let you know that the boxes arrived this morning and everything looks fine to me. "
            "The driver was early, so I signed for them myself and put them in the back room for now."
        )
        return f"Hi {s.recipient},\n\n{body} Could we go through the invoice together on Friday afternoon?\n\nBest,\n{s.sender}"

    def reply(s):
        return f"Hi {s.sender},\n\nFriday afternoon works for me; I will bring the invoice.\n\n{s.recipient}"

    def write(stage, rows):
        with open(te.targets_path(stage, tmp_path), "w") as f:
            f.writelines(json.dumps({"id": i, "target": t}) + "\n" for i, t in rows)

    write(
        "emails",
        [(good.id, email(good)), (bad_email.id, "Hi.\n\nNo names here."), (bad_reply.id, email(bad_reply))],
    )
    write(
        "replies",
        [
            (good.id, reply(good)),
            (bad_email.id, reply(bad_email)),
            (bad_reply.id, email(bad_reply)),
        ],  # copied back
    )
    [example] = te.training_examples("replies", "train", targets_dir=tmp_path)
    assert (example.id, example.input, example.target) == (good.id, email(good), reply(good))
    assert te.training_examples("replies", "dev", targets_dir=tmp_path) == []
    # The teacher writes a good reply for the third seed: a data set that reads the first seed only
    # stays as it was.
    write("replies", [(good.id, reply(good)), (bad_reply.id, reply(bad_reply))])
    assert [e.id for e in te.training_examples("replies", "train", targets_dir=tmp_path)] == [
        good.id,
        bad_reply.id,
    ]
    assert [e.id for e in te.training_examples("replies", "train", 1, targets_dir=tmp_path)] == [good.id]


def test_email_data_sets_add_the_checked_examples_repeated_in_train_only(monkeypatch):
    from lab.data import sources
    from lab.data.sources import Example

    human = {
        "train": [Example(f"h:{i}", "a", "b") for i in range(36)],
        "dev": [Example("h:dev", "c", "d")],
    }
    made = {
        "train": [Example("email:train_1", "Hi Anna", "Hi Tom")],
        "dev": [Example("email:train_2", "e", "f")],
    }
    monkeypatch.setattr(te, "training_examples", lambda stage, split, n_train_seeds: made[split])
    train = sources._with_emails(human.get, "replies", "train")
    # 36 human examples and one email: 4 copies make it 10% of the 40.
    assert [e.id for e in train[36:]] == ["email:train_1", *(f"email:train_1#{k}" for k in range(1, 4))]
    assert [e.id for e in sources._with_emails(human.get, "replies", "dev")] == ["h:dev", "email:train_2"]
    assert "dialogsum-turns+persona-chat+emails" in sources.data_names("reply")
    assert "dialogsum-names+emails" in sources.data_names("summarize")


def test_emails_first_keeps_every_email_once_beside_half_as_many_human_examples(monkeypatch):
    from lab.data import sources
    from lab.data.sources import EMAILS_FIRST_MIN_HUMAN, Example

    human = {s: [Example(f"h:{s}:{i}", "a", "b") for i in range(500)] for s in ("train", "dev")}
    made = {"train": [Example(f"email:train_{i}", "Hi Anna", "Hi Tom") for i in range(140)], "dev": []}
    monkeypatch.setattr(te, "training_examples", lambda stage, split, n_train_seeds: made[split])
    train = sources._emails_first(human.get, "replies", "train")
    assert train[:140] == made["train"] and len(train) == 140 + 70
    assert {e.id for e in train[140:]} <= {e.id for e in human["train"]}
    assert train == sources._emails_first(human.get, "replies", "train")  # seeded
    dev = sources._emails_first(human.get, "replies", "dev")
    assert len(dev) == EMAILS_FIRST_MIN_HUMAN and all(e.id.startswith("h:dev:") for e in dev)
    assert "email-replies+turns" in sources.data_names("reply")


def test_email_repeats_reach_the_share_and_keep_every_email_at_least_once():
    from lab.data.sources import email_repeats

    assert email_repeats(21914, 185) == 13
    assert email_repeats(11178, 317) == 4
    assert email_repeats(100, 1000) == 1
    assert email_repeats(100, 0) == 0
