"""The pack definition: every artifact is named once, ranks follow the size decision, the pack fits."""

from lab.prompts import AUX_TASKS, MAIN_TASKS
from lab.train_pack import BUDGET_BYTES, PACK, adapter_bytes, adapter_id, budget, find


def test_every_artifact_once_and_findable():
    names = [a.name for a in PACK]
    assert len(names) == len(set(names))
    adapters = {a.name for a in PACK if a.kind == "adapter"}
    assert {a for a in adapters if "+" not in a} == set(MAIN_TASKS) | set(AUX_TASKS)
    # joint experts: one LoRA trained on a composite, the strong baseline (issue: at least these two)
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
