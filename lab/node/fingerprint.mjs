// Independent fingerprint (docs/formats.md section 1) from a minimal GGUF v3 header parser: the
// lab's tests check lab/formats/fingerprint.py against it (shared code could share a bug).
// Usage (from the repository root): node lab/node/fingerprint.mjs model.gguf
import crypto from "node:crypto";
import fs from "node:fs";

const fd = fs.openSync(process.argv[2], "r");
let buf = Buffer.alloc(0);
let pos = 0;
let fileOff = 0;
function need(n) {
    while (buf.length - pos < n) {
        const chunk = Buffer.alloc(1 << 22);
        const got = fs.readSync(fd, chunk, 0, chunk.length, fileOff);
        if (got === 0) throw new Error("unexpected end of file");
        fileOff += got;
        buf = Buffer.concat([buf.subarray(pos), chunk.subarray(0, got)]);
        pos = 0;
    }
}
const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
const u64 = () => (need(8), (pos += 8), Number(buf.readBigUInt64LE(pos - 8)));
const str = () => {
    const n = u64();
    need(n);
    pos += n;
    return buf.toString("utf8", pos - n, pos);
};
const SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8};
function value(type) {
    if (type === 8) return str();
    if (type === 9) {
        const t = u32();
        const n = u64();
        const out = [];
        for (let i = 0; i < n; i++) out.push(value(t));
        return out;
    }
    const s = SIZES[type];
    need(s);
    pos += s;
    return null;
}
if (u32() !== 0x46554747) throw new Error("not a GGUF file");
const version = u32();
const nTensors = u64();
const nKv = u64();
const kv = {};
for (let i = 0; i < nKv; i++) {
    const key = str();
    kv[key] = value(u32());
}
const tensors = [];
for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nDims = u32();
    const ne = [];
    for (let d = 0; d < nDims; d++) ne.push(u64());
    u32(); // type
    u64(); // offset
    tensors.push([name, ne]);
}
const vocab = crypto.createHash("sha256").update(kv["tokenizer.ggml.tokens"].join("\u0000"), "utf8").digest("hex");
tensors.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
const lines = tensors.map(([n, ne]) => `${n}:${ne.join(",")}\n`).join("");
const text = `gguf-structure-v1\narch=${kv["general.architecture"]}\nvocab=${vocab}\n${lines}`;
console.log(crypto.createHash("sha256").update(text, "utf8").digest("hex"), `(GGUF v${version}, ${nTensors} tensors)`);
