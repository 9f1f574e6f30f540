"""lab.teacher_list_emails: the seeds and prompts of emails to a group's list, and which emails and
replies are training data (the teacher itself runs in test_teacher_references.py)."""

from __future__ import annotations

import dataclasses

from lab import teacher_list_emails as tl


def test_seeds_are_every_kind_and_community_once_in_a_stable_order_with_a_dev_split():
    seeds = tl.seeds()
    assert len(seeds) == len(tl.KINDS) * len(tl.COMMUNITIES)
    assert len({(s.kind, s.community) for s in seeds}) == len(seeds)
    assert [s.split for s in seeds[: tl.DEV_SEEDS + 1]] == ["dev"] * tl.DEV_SEEDS + ["train"]
    assert seeds == tuple(tl.seeds.__wrapped__()), "the same seeds on every run"
    addressed = [s for s in seeds if s.member]
    assert abs(len(addressed) / len(seeds) - 1 / tl.TO_MEMBER_EVERY) < 0.01
    assert all(s.member != s.writer and s.greeting == f"Hi {s.member}," for s in addressed)
    assert all(s.greeting in tl.GREETINGS for s in seeds if not s.member)
    chosen = tl.selected(5, 2)
    assert [s.split for s in chosen] == ["train"] * 5 + ["dev"] * 2


def test_prompts_give_the_details_and_only_a_member_who_was_named_signs():
    group = next(s for s in tl.seeds() if not s.member)
    member = next(s for s in tl.seeds() if s.member)
    prompt = tl.email_prompt(group)
    assert tl.KINDS[group.kind] in prompt and group.community in prompt and group.details in prompt
    assert (
        f'Start with the line "{group.greeting}"' in prompt
        and f'end with the line "{group.writer}"' in prompt
    )
    assert f"addressed to {member.member}" in tl.email_prompt(member)
    assert "Do not sign" in tl.reply_prompt(group, "Hi all, ...")
    assert f"End with your name, {member.member}." in tl.reply_prompt(member, "Hi ...")


def _seed(member: str | None) -> tl.ListEmailSeed:
    return dataclasses.replace(tl.seeds()[0], writer="Rosa", member=member, greeting=f"Hi {member or 'all'},")


BODY = (
    "The printer on the second floor has jammed every morning this week, and the repair company will "
    "not come before Thursday 12 May. Could someone who knows the model have a look at it before then? "
    "I tried a new cartridge and cleaning the rollers, with no change at all."
)


def test_email_problems_catch_a_missing_sign_off_a_placeholder_and_a_wrong_greeting():
    email = f"Hi all,\n\n{BODY}\n\nRosa"
    assert tl.email_problems(email, _seed(None)) == []
    assert any("end with the writer" in p for p in tl.email_problems(email.rsplit("\n", 1)[0], _seed(None)))
    assert "has a placeholder" in tl.email_problems(email.replace("Thursday 12 May", "[date]"), _seed(None))
    assert tl.email_problems(email, _seed("Liam")) == ["does not greet the member it is addressed to"]


def test_a_group_reply_loses_its_placeholder_signature_and_may_not_sign_with_a_name():
    email = f"Hi all,\n\n{BODY}\n\nRosa"
    reply = "Hi Rosa,\n\nI know that model well. I will come by on Tuesday morning and look at the rollers.\n\nBest regards,"
    seed = _seed(None)
    assert tl.reply_target(f"{reply}\n\n[Your Name]", seed) == reply
    assert tl.reply_problems(reply, seed, email) == []
    assert tl.reply_problems(f"{reply}\nAnders", seed, email) == ["signed with a name it was not given"]
    named = _seed("Liam")
    assert tl.reply_problems(f"{reply}\nLiam", named, email) == []
    assert tl.reply_problems(reply, named, email) == ["does not end with the member's name"]
    copied = "Hi Rosa,\n\n" + BODY
    assert "copies the email" in tl.reply_problems(copied, seed, email)


def test_training_examples_are_the_passing_pairs_of_a_split(tmp_path):
    import json

    train = [s for s in tl.seeds() if s.split == "train"][:3]
    emails, replies = {}, {}
    for s in train:
        emails[s.id] = f"{s.greeting}\n\n{BODY}\n\n{s.writer}"
        sign = f"\n{s.member}" if s.member else "\n\n[Your Name]"
        replies[s.id] = (
            f"Hi {s.writer},\n\nI can look at it on Tuesday morning before the meeting.\n\nBest,{sign}"
        )
    replies[train[2].id] = "Hi."  # does not greet the writer, too short
    for stage, rows in (("emails", emails), ("replies", replies)):
        lines = [json.dumps({"id": i, "target": t}) for i, t in rows.items()]
        tl.targets_path(stage, tmp_path).write_text("\n".join(lines) + "\n")
    examples = tl.training_examples("train", tmp_path)
    assert [e.id for e in examples] == [train[0].id, train[1].id]
    assert all("[Your Name]" not in e.target for e in examples)
    assert examples[0].input == emails[train[0].id]
    assert tl.training_examples("dev", tmp_path) == []
    assert tl.report(tmp_path)["replies"]["pass"] == 2


def test_reply_data_sets_add_the_list_replies(monkeypatch):
    from lab import teacher_emails
    from lab.data import sources
    from lab.data.sources import EMAILS_FIRST_MIN_HUMAN, Example

    human = {s: [Example(f"h:{s}:{i}", "a", "b") for i in range(500)] for s in ("train", "dev")}
    emails = {"train": [Example("email:train_1", "Hi Anna", "Hi Tom")], "dev": []}
    lists = {"train": [Example(f"list:{i:04d}", "Hi all", "Hi Rosa") for i in range(30, 130)], "dev": []}
    monkeypatch.setattr(
        teacher_emails, "training_examples", lambda stage, split, n_train_seeds: emails[split]
    )
    monkeypatch.setattr(tl, "training_examples", lambda split: lists[split])
    # The +emails mix, then each list reply repeated to a tenth of the whole.
    mix = sources._with_emails_and_lists(human.get, "train")
    assert mix[: len(sources._with_emails(human.get, "replies", "train"))] == sources._with_emails(
        human.get, "replies", "train"
    )
    assert sum(e.id.startswith("list:") for e in mix) == 100 * sources.email_repeats(500, 100)
    # The second stage: every email reply once, then half as many human turns, seeded.
    first = sources._replies_to_emails_first(human.get, "train")
    assert first[:101] == emails["train"] + lists["train"] and len(first) == 101 + 50
    assert first == sources._replies_to_emails_first(human.get, "train")
    assert len(sources._replies_to_emails_first(human.get, "dev")) == EMAILS_FIRST_MIN_HUMAN
    names = sources.data_names("reply")
    assert "dialogsum-turns+persona-chat+emails+lists" in names and "email-and-list-replies+turns" in names
