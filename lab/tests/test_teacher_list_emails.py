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


def test_round_two_is_list_mail_as_it_is_and_leaves_round_one_as_it_was():
    first, second = tl.seeds(1), tl.seeds(2)
    assert len(second) == (len(tl.KINDS) + len(tl.EXTRA_KINDS)) * len(tl.COMMUNITIES)
    assert {s.id.split(":")[0] for s in second} == {"list2"} and {s.id.split(":")[0] for s in first} == {
        "list"
    }
    assert all(s.round == 1 and s.form == "plain" and s.signed and s.greets for s in first)
    # Most group emails are sent without their greeting; an addressed one still greets its member.
    group = [s for s in second if not s.member]
    assert 0.6 < sum(not s.greets for s in group) / len(group) < 0.9
    assert all(s.greets and s.greeting == f"Hi {s.member}," for s in second if s.member)
    assert {s.form for s in second} == set(tl.FORMS) and not all(s.signed for s in second)
    bare = next(s for s in second if not s.greets and not s.signed and s.form == "list")
    prompt = tl.email_prompt(bare)
    # The teacher is asked for a greeting and a name all the same: as_sent takes them off.
    assert (
        f'Start with the line "{bare.greeting}"' in prompt and f'end with the line "{bare.writer}"' in prompt
    )
    assert "numbered list" in prompt and tl.EXTRA_KINDS.get(bare.kind, tl.KINDS.get(bare.kind)) in prompt
    # The writer did not sign, so the reply cannot greet them by name.
    reply_prompt = tl.reply_prompt(bare, "EMAIL", short=True)
    assert bare.writer not in reply_prompt and "20-60 words" in reply_prompt
    assert "30-80 words" in tl.reply_prompt(first[0], "EMAIL")


SENT = "Should we move the meeting to the library?\n\n" + BODY


def test_as_sent_takes_off_the_subject_greeting_and_sign_off_the_seed_leaves_out():
    bare = next(s for s in tl.seeds(2) if not s.greets and not s.signed)
    written = f"Subject: The printer\n\nHi all,\n\nI hope this email finds you well. {SENT}\n\nBest regards,\n\n{bare.writer}"
    assert tl.as_sent(written, bare) == SENT
    kept = dataclasses.replace(bare, greets=True, signed=True)
    assert tl.as_sent(written, kept) == written.split("\n\n", 1)[1]
    # A greeting that is the message's first sentence stays; round 1 is as written.
    assert tl.as_sent(f"Hi all, the printer is broken again.\n\n{bare.writer}", bare) == (
        "Hi all, the printer is broken again."
    )
    assert tl.as_sent(written, tl.seeds(1)[0]) == written


def test_a_reply_to_an_unsigned_email_need_not_greet_anyone_by_name():
    unsigned = next(s for s in tl.seeds(2) if not s.member and not s.signed)
    reply = "Hi,\n\nI know that model. I will look at the rollers on Tuesday."
    assert tl.reply_problems(reply, unsigned, SENT) == []
    assert tl.reply_problems(reply, dataclasses.replace(unsigned, signed=True), SENT) == [
        "does not greet the writer"
    ]


def test_a_second_try_is_asked_only_where_no_first_reply_passed_and_is_used_when_it_does(tmp_path):
    import json

    train = [s for s in tl.seeds() if s.split == "train" and not s.member][:2]
    emails = {s.id: f"{s.greeting}\n\n{BODY}\n\n{s.writer}" for s in train}
    good = "Hi {},\n\nI can look at it on Tuesday morning before the meeting.\n\nBest,"
    replies = {train[0].id: good.format(train[0].writer), train[1].id: "Hi."}
    for stage, rows in (("emails", emails), ("replies", replies)):
        lines = [json.dumps({"id": i, "target": t}) for i, t in rows.items()]
        tl.targets_path(stage, tmp_path).write_text("\n".join(lines) + "\n")
    written = tl._written(1, tmp_path)
    jobs = tl.jobs_for("short-replies", train, written, short=True)
    assert [j["id"] for j in jobs] == [train[1].id] and "20-60 words" in jobs[0]["text"]
    second = {train[1].id: good.format(train[1].writer)}
    tl.targets_path("short-replies", tmp_path).write_text(
        json.dumps({"id": train[1].id, "target": second[train[1].id]}) + "\n"
    )
    assert [e.id for e in tl.training_examples("train", tmp_path)] == [s.id for s in train]
    assert tl.report(tmp_path)["pairs"] == 2


def test_a_reply_over_the_budget_keeps_its_greeting_first_paragraphs_and_closing():
    seed = _seed(None)
    thanks = "Thank you for the report."
    answer = "I know that model well and will look at the rollers on Tuesday."
    again = " ".join(["The printer on the second floor has jammed every morning this week."] * 7)
    reply = f"Hi Rosa,\n\n{thanks}\n\n{answer}\n\n{again}\n\nBest regards,\n\n[Your Name]"
    assert tl.reply_target(reply, seed) == f"Hi Rosa,\n\n{thanks}\n\n{answer}\n\nBest regards,"
    reply = f"Hi Rosa,\n\n{answer}\n\n{again}\n\nBest regards,\n\n[Your Name]"
    assert tl.reply_target(reply, seed) == f"Hi Rosa,\n\n{answer}\n\nBest regards,"
    assert tl.reply_problems(tl.reply_target(reply, seed), seed, f"Hi all,\n\n{BODY}\n\nRosa") == []
    named = _seed("Liam")
    assert tl.reply_target(reply.replace("[Your Name]", "Liam"), named).endswith(
        f"{answer}\n\nBest regards,\n\nLiam"
    )
    # Within the budget, or one long paragraph: as it is (the latter then fails the budget).
    short = f"Hi Rosa,\n\n{answer}\n\nBest regards,"
    assert tl.reply_target(short, seed) == short
    assert tl.reply_target(f"Hi Rosa,\n\n{again}", seed) == f"Hi Rosa,\n\n{again}"
