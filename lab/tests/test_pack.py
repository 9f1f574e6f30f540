"""The pack definition: every artifact is named once, ranks follow the size decision, the pack fits."""

import pytest

from lab.prompts import AUX_TASKS, MAIN_TASKS
from lab.train_pack import (
    BUDGET_BYTES,
    PACK,
    RUNS,
    SHIPPED,
    Layout,
    adapter_bytes,
    adapter_id,
    budget,
    command,
    find,
    teacher_request,
)


def test_every_artifact_once_and_findable():
    names = [a.name for a in PACK]
    assert len(names) == len(set(names))
    adapters = {a.name for a in PACK if a.kind == "adapter"}
    assert {a for a in adapters if "+" not in a} == set(MAIN_TASKS) | set(AUX_TASKS)
    # joint experts: one LoRA trained on a composite, the strong baseline (at least these two)
    assert {a for a in adapters if "+" in a} == {"summarize+translate:fr", "reply+tone:casual"}
    calibrations = [a.name for a in PACK if a.kind == "calibration"]
    assert len([c for c in calibrations if c.split("+")[0] in MAIN_TASKS]) == 28  # 14 variants x LC, LC++
    # and "translate, casual tone" for each language (human targets, no teacher)
    casual = [a for a in PACK if a.name.startswith("tone:casual+translate:")]
    assert len(casual) == 3 and all(a.teacher is None for a in casual)
    assert find("translate:fr").run == "translate-fr-r8"
    # adapter ids allow [a-z0-9._-] only (formats.md section 2)
    assert adapter_id("translate:fr") == "gemma3-270m.translate-fr"
    assert adapter_id("reply+tone:casual") == "gemma3-270m.joint.reply.tone-casual"


def test_ranks_follow_the_size_decision():
    for a in PACK:
        if a.kind == "adapter":
            rank = int(a.args[a.args.index("--rank") + 1])
            assert rank == (16 if a.name in MAIN_TASKS else 8), a.name  # joint experts: 8 (budget)


def test_adapter_size_matches_the_measured_file_and_the_pack_fits():
    # gemma3-270m.summarize, rank 16, F16: 7,611,232 bytes on disk.
    assert abs(adapter_bytes(16) - 7_611_232) < 2_000
    assert abs(adapter_bytes(16, bytes_per_value=4) - 15_205_216) < 20_000
    assert budget()["total"] < BUDGET_BYTES
    assert budget(joint_expert_rank=16)["total"] > BUDGET_BYTES  # why joint experts ship at rank 8


def test_every_calibration_trains_after_the_adapters_it_merges():
    order = [a.name for a in PACK]
    for a in PACK:
        if a.kind == "calibration":
            assert len(a.merge) == 2, a.name
            for task, _ in a.merge:
                assert order.index(task) < order.index(a.name), (task, a.name)


def test_command_reads_adapters_from_the_layout_and_a_rehearsal_shrinks_only_the_sizes(tmp_path):
    layout = Layout.under(tmp_path)
    a = find("summarize+translate:fr lc++")
    shipped, rehearsal = command(a, layout), command(a, layout, rehearsal=True)

    def flag(cmd, name):
        return [cmd[i + 1] for i, x in enumerate(cmd) if x == name]

    assert flag(shipped, "--adapter") == [
        str(tmp_path / "adapters/gemma3-270m.summarize"),
        str(tmp_path / "adapters/gemma3-270m.translate-fr"),
    ]
    assert flag(shipped, "--weight") == ["1.0", "1.0"]
    assert flag(shipped, "--run") == [str(tmp_path / "runs" / a.run)]
    assert flag(shipped, "--steps") == ["100"] and flag(rehearsal, "--steps") == ["2"]
    assert flag(rehearsal, "--n-train") == ["8"] and flag(rehearsal, "--n-dev") == ["4"]
    differ = {shipped[i] for i in range(len(shipped)) if shipped[i] != rehearsal[i]}
    assert differ == {"100", "200", "50"}  # steps, n-train, n-dev values; every other flag as shipped
    assert command(a, SHIPPED)[-1] == str(RUNS / a.run)


@pytest.mark.data("dialogsum", "synthetic-persona-chat", "ntrex", "paradetox")
def test_a_chain_trained_at_two_sizes_asks_the_teacher_once_for_the_larger_sample():
    from lab.teacher import pick

    sizes: dict[str, set[int]] = {}
    for a in PACK:
        if a.teacher:
            sizes.setdefault(a.teacher["chain"], set()).add(a.teacher["n_train"])
    mixed = {chain: sorted(n) for chain, n in sizes.items() if len(n) > 1}
    assert "summarize+translate:de" in mixed  # LC++ on 400 targets, LC on 200
    assert teacher_request(find("summarize+translate:de lc").teacher)["n_train"] == 400
    # an English tone's targets (asked for by its adapter, not by a PACK entry) keep their own sizes
    assert teacher_request({"chain": "tone:witty", "n_train": 440, "n_dev": 44})["n_train"] == 440
    for chain, (small, *_, large) in mixed.items():
        assert [e.id for e in pick(chain, "train", small)] == [e.id for e in pick(chain, "train", large)][
            :small
        ]
