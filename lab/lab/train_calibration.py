"""Trains an LC or LC++ calibration for a composite chain on top of the merged task adapters.

    python -m lab.train_calibration --chain summarize+translate:fr --kind lc++ \\
        --adapter adapters/gemma3-270m.summarize --adapter adapters/gemma3-270m.translate-fr \\
        --run runs/cal-summarize+translate-fr.lcpp --steps 100

The adapters (exported dirs with adapter.gguf + manifest.json) are merged in concatenation order with
merge weights --weight (default 1 each), frozen; only the calibration is trained (cross-entropy on
the composite targets). Writes the compact calibration to
<run>/export/calibrations/<fp12>/<chain>.<kind>.gguf and prints its size against a joint-expert LoRA.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from lab import distributed
from lab.calibration import Calibration, attach
from lab.data.sources import SHIPPED, data_source
from lab.export.adapter import read_adapter_gguf
from lab.loop import train
from lab.lora import MODULE_TYPES, decoder_layers
from lab.prompts import STOP_STRINGS, prompt_template
from lab.train_lora import add_common_args, base_meta, encode_split, loop_config


def joint_expert_params(model, rank: int = 16) -> int:
    """Parameters of a rank-`rank` LoRA on all 7 projections of every layer (the joint-expert size)."""
    from lab.lora import GGUF_TO_HF, LoraLinear

    total = 0
    for layer in decoder_layers(model):
        for m in MODULE_TYPES:
            lin = layer.get_submodule(GGUF_TO_HF[m])
            lin = lin.base if isinstance(lin, LoraLinear) else lin
            total += rank * (lin.in_features + lin.out_features)
    return total


def check_run_adapters(run: Path, manifests: list[dict]) -> None:
    """A calibration corrects the merge of particular adapter files: a run resumed (or re-exported)
    on other ones would pass off parameters fitted to the old merge as a calibration of the new one.
    The run records the adapters it started on (`adapters.json`; for older runs, the sha256s in
    their exported calibration) and refuses others."""
    now = [{"id": m["id"], "sha256": m["sha256"]} for m in manifests]
    record = run / "adapters.json"
    if record.exists():
        before = [a["sha256"] for a in json.loads(record.read_text())]
    else:
        exported = sorted(run.glob("export/calibrations/*/*.gguf"))
        before = None
        if exported:
            from lab.export.calibration import read_calibration_gguf

            before = read_calibration_gguf(exported[0])[1]["calibration.adapter_sha256"]
    if before is not None and before != [a["sha256"] for a in now]:
        changed = ", ".join(a["id"] for a, old in zip(now, before, strict=False) if a["sha256"] != old)
        raise SystemExit(
            f"{run} was trained on other adapter files than these ({changed or 'another list'} changed): "
            "start it again (lab.train_pack train --fresh, or delete the run folder)"
        )
    run.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(now, indent=2) + "\n")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chain", required=True)
    ap.add_argument("--kind", choices=["lc", "lc++"], required=True)
    ap.add_argument("--adapter", action="append", required=True, help="adapter dir, in concatenation order")
    ap.add_argument("--weight", action="append", type=float, default=None, help="merge weight per adapter")
    ap.add_argument("--cal-rank", type=int, default=4)
    add_common_args(ap)
    ap.set_defaults(lr=1e-3)
    args = ap.parse_args(argv)
    args.device = distributed.init(args.device)  # torchrun: one process per device
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    weights = args.weight or [1.0] * len(args.adapter)
    if len(weights) != len(args.adapter):
        raise SystemExit("one --weight per --adapter")

    from lab.base import load_base

    base = load_base(args.base, device=args.device)
    tok = base.tokenizer
    manifests, loras = [], []
    for d, w in zip(args.adapter, weights, strict=True):
        manifests.append(json.loads((Path(d) / "manifest.json").read_text()))
        loras.append((read_adapter_gguf(Path(d) / manifests[-1]["file"])[0], w))
    check_run_adapters(args.run, manifests)
    cal = Calibration.for_model(base.model, args.kind, rank=args.cal_rank, seed=args.seed)
    attach(base.model, loras, cal)
    params = {f"cal.{n}": p for n, p in cal.named_parameters()}
    n_params = cal.num_params()
    joint = joint_expert_params(base.model)
    print(
        f"{args.chain} {args.kind}: {n_params} params, {n_params * 4} bytes F32 "
        f"({100 * n_params / joint:.3f}% of a rank-16 joint-expert LoRA with {joint} params)",
        flush=True,
    )
    sizes = (args.max_len, args.max_target, args.data)
    train_data = encode_split(tok, args.chain, "train", args.n_train, args.seed, *sizes)
    dev_data = encode_split(tok, args.chain, "dev", args.n_dev, args.seed + 1, *sizes)
    summary = train(base.model, params, train_data, dev_data, tok.pad_token_id, loop_config(args), args.run)
    summary.update(
        {
            "chain": args.chain,
            "kind": args.kind,
            "params": n_params,
            "joint_expert_params": joint,
            "data": data_source(args.chain),
            "data_set": args.data or SHIPPED,
        }
    )
    if not distributed.is_main():
        return summary
    (args.run / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    meta = base_meta(base)
    if meta:
        from lab.export.calibration import calibration_filename, write_calibration_gguf

        out = (
            args.run
            / "export/calibrations"
            / meta["fingerprint"][:12]
            / calibration_filename(args.chain, args.kind)
        )
        write_calibration_gguf(
            cal,
            out,
            arch=meta["arch"],
            chain=args.chain,
            base_fingerprint=meta["fingerprint"],
            adapter_ids=[m["id"] for m in manifests],
            adapter_sha256=[m["sha256"] for m in manifests],
            merge_weights=weights,
            prompt_template=prompt_template(args.chain),
            stop_strings=STOP_STRINGS,
            training=summary,
        )
        print(f"exported {out} ({out.stat().st_size} bytes)", flush=True)
    return summary


if __name__ == "__main__":
    main()
