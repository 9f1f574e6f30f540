"""The next pack (lab/train_pack.py, NEXT_PACK): the issue-16 retrain on the named data sets, in its
own layout, in the order users need the artifacts."""

import json

import pytest

from lab import train_pack
from lab.data.sources import is_register_chain
from lab.prompts import MAIN_TASKS
from lab.train_pack import (
    NEXT,
    NEXT_ADAPTER_DATA,
    NEXT_DATA,
    NEXT_KEPT,
    NEXT_LCPP_DATA,
    NEXT_PACK,
    ONE_SEQUENCE_DATA,
    PACK,
    command,
    find,
    teacher_request,
)


def flag(args, name):
    return [args[i + 1] for i, x in enumerate(args) if x == name]


def test_the_next_pack_retrains_shipped_artifacts_on_the_named_data_sets():
    shipped = {a.name: a for a in PACK}
    names = [a.name for a in NEXT_PACK]
    assert len(names) == len(set(names)) and set(names) <= set(shipped)
    # every artifact whose data changed, or that sits on an adapter whose data changed
    changed = set(NEXT_DATA)
    expected = {
        a.name
        for a in PACK
        if (a.kind == "adapter" and set(a.name.split("+")) & changed) or {t for t, _ in a.merge} & changed
    }
    assert set(names) == expected
    assert not set(NEXT_KEPT) & set(names)
    for a in NEXT_PACK:
        assert flag(a.args, "--precision") == ["bf16"], a.name
        chain, kind = (a.name.split(" ") + [None])[:2]
        if is_register_chain(chain):  # "translate, casual tone": CoCoA-MT's human translations, as shipped
            assert not flag(a.args, "--data") and a.teacher is None
            continue
        main = chain.split("+")[0]
        task_adapter = a.kind == "adapter" and "+" not in a.name  # not a joint expert
        data = NEXT_ADAPTER_DATA[main] if task_adapter else NEXT_DATA[main]
        if kind == "lc++":
            data = NEXT_LCPP_DATA.get(chain, data)
        assert flag(a.args, "--data") == [data], a.name
        if a.teacher:
            assert a.teacher["data"] == data
    assert int(flag(find("summarize", NEXT_PACK).args, "--n-train")[0]) >= 4000
    # prose in, prose out: the summarize adapter reads the teacher's email summaries too
    assert flag(find("summarize", NEXT_PACK).args, "--data") == ["dialogsum-names+emails"]
    assert int(flag(find("reply", NEXT_PACK).args, "--n-train")[0]) >= 4000
    assert flag(find("translate:fr", NEXT_PACK).args, "--max-target") == ["192"]
    for name in (
        "summarize",
        "summarize+translate:fr",
        "summarize+tone:casual lc++",
        "summarize+translate:de lc",
    ):
        assert flag(find(name, NEXT_PACK).args, "--max-len") == ["512"], name
    # Email replies: emails of up to 267 tokens, replies of up to the engine's 128.
    for name in ("reply", "reply+translate:fr lc++", "reply+tone:casual lc", "reply+tone:casual"):
        assert flag(find(name, NEXT_PACK).args, "--max-len") == ["400"], name
        assert flag(find(name, NEXT_PACK).args, "--max-target") == ["128"], name


def test_summarize_reply_french_casual_and_their_calibrations_come_first_and_in_dependency_order():
    first = {"summarize", "reply", "translate:fr", "tone:casual"} | {
        f"{m}+{a} {k}" for m in MAIN_TASKS for a in ("translate:fr", "tone:casual") for k in ("lc++", "lc")
    }
    first |= {"tone:casual+translate:fr lc++", "summarize+translate:fr", "reply+tone:casual"}
    assert {a.name for a in NEXT_PACK[: len(first)]} == first
    order = [a.name for a in NEXT_PACK]
    for a in NEXT_PACK:
        for task, _ in a.merge:
            assert task in NEXT_KEPT or order.index(task) < order.index(a.name), (task, a.name)


def test_next_commands_read_and_write_the_next_layout_and_ask_the_teacher_per_data_set():
    a = find("summarize+translate:fr lc++", NEXT_PACK)
    cmd = command(a, NEXT)
    assert flag(cmd, "--adapter") == [
        str(NEXT.adapters / "gemma3-270m.summarize"),
        str(NEXT.adapters / "gemma3-270m.translate-fr"),
    ]
    assert flag(cmd, "--run") == [str(NEXT.runs / a.run)]
    # the shipped pack's teacher sizes do not leak into the next pack's request, nor back
    t = teacher_request(a.teacher, NEXT_PACK)
    assert t == {"chain": "summarize+translate:fr", "n_train": 400, "n_dev": 50, "data": "dialogsum-names"}
    assert teacher_request(find("summarize+translate:fr lc++").teacher)["n_train"] == 200


def test_kept_adapters_are_carried_and_a_finished_pack_ships_over_the_shipped_files(tmp_path, monkeypatch):
    shipped_adapters, shipped_calibrations = tmp_path / "adapters", tmp_path / "calibrations"
    for task in NEXT_KEPT:
        folder = shipped_adapters / train_pack.adapter_id(task)
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"id": task}))
    monkeypatch.setattr(train_pack, "ADAPTERS", shipped_adapters)
    monkeypatch.setattr(train_pack, "CALIBRATIONS", shipped_calibrations)
    layout = train_pack.Layout.under(tmp_path / "next")
    carried = train_pack.carry_kept_adapters(layout)
    assert sorted(p.name for p in carried) == sorted(train_pack.adapter_id(t) for t in NEXT_KEPT)
    assert train_pack.carry_kept_adapters(layout) == []  # already there: nothing copied again
    adapters = {"gemma3-270m.summarize": "11" * 32, "gemma3-270m.translate-fr": "22" * 32}
    for adapter, sha256 in adapters.items():
        (layout.adapters / adapter).mkdir(parents=True)
        (layout.adapters / adapter / "manifest.json").write_text(
            json.dumps({"id": adapter, "sha256": sha256})
        )
    new = layout.calibrations / "e1ca81aad5d9" / "summarize+translate-fr.lcpp.gguf"
    calibration(new, adapters)
    shipped = train_pack.ship(layout, alone={})
    assert (shipped_calibrations / new.relative_to(layout.calibrations)).read_bytes() == new.read_bytes()
    assert len(shipped) == len(NEXT_KEPT) + 3
    # summarize retrained after the calibration: the pack is not shipped until it is trained again
    calibration(new, {**adapters, "gemma3-270m.summarize": "33" * 32})
    with pytest.raises(
        SystemExit, match=r"summarize\+translate-fr\.lcpp\.gguf \(over an older gemma3-270m\.summarize\)"
    ):
        train_pack.ship(layout, alone={})


def test_an_adapter_shipped_alone_goes_beside_the_shipped_one_and_its_calibrations_stay(
    tmp_path, monkeypatch
):
    shipped_adapters, shipped_calibrations = tmp_path / "adapters", tmp_path / "calibrations"
    monkeypatch.setattr(train_pack, "ADAPTERS", shipped_adapters)
    monkeypatch.setattr(train_pack, "CALIBRATIONS", shipped_calibrations)
    layout = train_pack.Layout.under(tmp_path / "next")

    def adapter(root, folder, sha256, id=None):
        (root / folder).mkdir(parents=True)
        (root / folder / "manifest.json").write_text(json.dumps({"id": id or folder, "sha256": sha256}))
        (root / folder / "adapter.gguf").write_bytes(sha256.encode())

    para, witty = "gemma3-270m.tone-paraphrase", "gemma3-270m.tone-witty"
    adapter(shipped_adapters, para, "11" * 32)
    adapter(shipped_adapters, witty, "44" * 32)
    # paraphrase: retrained in the pack's own adapters; witty: the shipped adapter carried into the
    # pack, and a retrained one in a run's export
    adapter(layout.adapters, "gemma3-270m.summarize", "22" * 32)
    adapter(layout.adapters, para, "33" * 32)
    adapter(layout.adapters, witty, "44" * 32)
    adapter(layout.runs / "tone-witty-r8" / "export", witty, "55" * 32)
    pack = {"gemma3-270m.summarize": "22" * 32, para: "33" * 32, witty: "44" * 32}
    over_new = layout.calibrations / "e1ca81aad5d9" / "summarize+tone-paraphrase.lcpp.gguf"
    calibration(over_new, {k: pack[k] for k in ("gemma3-270m.summarize", para)})
    over_shipped = layout.calibrations / "e1ca81aad5d9" / "summarize+tone-witty.lcpp.gguf"
    calibration(over_shipped, {k: pack[k] for k in ("gemma3-270m.summarize", witty)})
    alone = {
        "tone:paraphrase": train_pack.Alone(f"{para}.rewrites", f"adapters/{para}"),
        "tone:witty": train_pack.Alone(f"{witty}.rewrites", f"runs/tone-witty-r8/export/{witty}"),
    }
    shipped = train_pack.ship(layout, alone=alone)

    def manifest(folder):
        return json.loads((shipped_adapters / folder / "manifest.json").read_text())

    assert (shipped_adapters / para / "adapter.gguf").read_bytes() == ("11" * 32).encode()
    assert manifest(para) == {"id": para, "sha256": "11" * 32, "keptForCalibrations": True}
    assert manifest(witty) == {"id": witty, "sha256": "44" * 32, "keptForCalibrations": True}
    assert manifest(f"{para}.rewrites") == {"id": f"{para}.rewrites", "sha256": "33" * 32}
    assert manifest(f"{witty}.rewrites") == {"id": f"{witty}.rewrites", "sha256": "55" * 32}
    assert (shipped_adapters / f"{witty}.rewrites" / "adapter.gguf").read_bytes() == ("55" * 32).encode()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in shipped) == [
        "adapters/gemma3-270m.summarize/adapter.gguf",
        "adapters/gemma3-270m.summarize/manifest.json",
        f"adapters/{para}.rewrites/adapter.gguf",
        f"adapters/{para}.rewrites/manifest.json",
        f"adapters/{witty}.rewrites/adapter.gguf",
        f"adapters/{witty}.rewrites/manifest.json",
        f"adapters/{witty}/adapter.gguf",
        f"adapters/{witty}/manifest.json",
        "calibrations/e1ca81aad5d9/summarize+tone-witty.lcpp.gguf",
    ], "the calibration over the retrained paraphrase stays behind; the one over the shipped witty ships"


def calibration(path, adapters: dict[str, str]) -> None:
    """A real (tiny, untrained) calibration file over `adapters` (id -> sha256)."""
    from conftest import tiny_model

    from lab.calibration import Calibration
    from lab.export.calibration import write_calibration_gguf
    from lab.prompts import prompt_template

    write_calibration_gguf(
        Calibration.for_model(tiny_model(), "lc++", rank=4, seed=0), path, arch="gemma3",
        chain="summarize+translate:fr", base_fingerprint="ab" * 32, adapter_ids=list(adapters),
        adapter_sha256=list(adapters.values()), merge_weights=[1.0] * len(adapters),
        prompt_template=prompt_template("summarize+translate:fr"),
    )  # fmt: skip


@pytest.mark.data("dialogsum", "synthetic-persona-chat", "ntrex", "cocoa-mt")
def test_reply_in_a_tone_calibrates_on_email_replies_written_one_sequence_at_a_time(monkeypatch):
    from lab import train_pack
    from lab.data import sources

    assert set(NEXT_LCPP_DATA) == {f"reply+tone:{t}" for t in ("casual", "witty", "professional")}
    for chain, data in NEXT_LCPP_DATA.items():
        assert find(f"{chain} lc++", NEXT_PACK).teacher["data"] == data
        assert find(f"{chain} lc", NEXT_PACK).teacher["data"] == NEXT_DATA["reply"]
        assert data in sources.data_names(chain) and data in ONE_SEQUENCE_DATA
    commands = []
    monkeypatch.setattr(train_pack.subprocess, "run", lambda cmd, **kw: commands.append(cmd))
    train_pack.teacher_targets(find("reply+tone:witty lc++", NEXT_PACK).teacher, NEXT_PACK)
    train_pack.teacher_targets(find("reply+tone:witty lc", NEXT_PACK).teacher, NEXT_PACK)
    assert [flag(c, "--parallel") for c in commands] == [["1"], []]


def test_a_rehearsal_asks_the_teacher_for_a_prefix_of_what_the_real_run_asks():
    from lab.teacher import pick
    from lab.train_pack import REHEARSAL_SIZES

    small = int(REHEARSAL_SIZES["--n-train"])
    for chain in ("summarize+translate:fr", "reply+translate:fr"):
        t = teacher_request(find(f"{chain} lc++", NEXT_PACK).teacher, NEXT_PACK)
        full = [e.id for e in pick(chain, "train", t["n_train"], t["data"])]
        assert [e.id for e in pick(chain, "train", small, t["data"])] == full[:small]
        assert len(full) == t["n_train"] and all(i.split(":")[0] != "dialogsum" for i in full)


def test_what_a_later_session_needs_is_committed_and_the_local_checkpoint_is_not():
    """A session's machine is gone after it (lab/next-pack/README.md): a run's carry, logs and the
    finished artifacts must be trackable by git, its 46 MB ckpt.pt and raw exports must not."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (train_pack.REPO / ".git").exists():
        pytest.skip("not a git checkout")
    run = NEXT.runs.relative_to(train_pack.REPO) / "summarize-r16"
    paths = {
        run / "carry.pt": False,
        run / "log.jsonl": False,
        run / "summary.json": False,
        NEXT.adapters.relative_to(train_pack.REPO) / "gemma3-270m.reply" / "adapter.gguf": False,
        run / "ckpt.pt": True,
        run / "ckpt.tmp": True,
        run / "export" / "gemma3-270m.summarize" / "adapter.gguf": True,
        NEXT.adapters.relative_to(train_pack.REPO) / "gemma3-270m.tone-witty" / "adapter.gguf": True,
        NEXT.adapters.relative_to(train_pack.REPO) / "gemma3-270m.tone-casual" / "adapter.gguf": False,
    }
    for path, ignored in paths.items():
        # --no-index: the rules alone, whether or not the file exists or is tracked
        result = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", str(path)], cwd=train_pack.REPO, check=False
        )
        assert (result.returncode == 0) == ignored, (
            path,
            "should be ignored" if ignored else "should be tracked",
        )


def test_train_refuses_a_calibration_run_begun_over_other_adapter_files(tmp_path, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("ran a command for a run it should have refused")

    monkeypatch.setattr(train_pack, "teacher_targets", must_not_run)
    monkeypatch.setattr(train_pack.subprocess, "run", must_not_run)
    a = find("summarize+translate:fr lc++", NEXT_PACK)
    layout = train_pack.Layout.under(tmp_path)
    adapters = {"gemma3-270m.summarize": "11" * 32, "gemma3-270m.translate-fr": "22" * 32}
    for adapter, sha256 in adapters.items():
        (layout.adapters / adapter).mkdir(parents=True)
        (layout.adapters / adapter / "manifest.json").write_text(
            json.dumps({"id": adapter, "sha256": sha256})
        )
    run = layout.runs / a.run
    run.mkdir(parents=True)
    began = [
        {"id": "gemma3-270m.summarize", "sha256": "33" * 32},
        {"id": "gemma3-270m.translate-fr", "sha256": "22" * 32},
    ]
    (run / "adapters.json").write_text(json.dumps(began))
    with pytest.raises(SystemExit, match=r"gemma3-270m\.summarize changed.*--fresh"):
        train_pack.train(a, fresh=False, layout=layout, pack=NEXT_PACK)
    assert json.loads((run / "adapters.json").read_text()) == began  # nothing trained, nothing rewritten
