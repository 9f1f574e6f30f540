# Greedy text of formprobe.mjs runs compared: python3 compare.py F32.jsonl F16.jsonl
import json, collections
def load(p):
    d = {}
    for l in open(p):
        r = json.loads(l); d[(r['input'], r['chain'], r['method'], r['form'])] = r['text']
    return d
import sys
a = load(sys.argv[1]); b = load(sys.argv[2])  # the F32 engine's formprobe output, then the F16 engine's
cases = sorted({(k[0], k[1], k[2]) for k in a} & {(k[0], k[1], k[2]) for k in b})
stats = collections.defaultdict(lambda: collections.Counter())
for (i, c, m) in cases:
    g = 'dialogue' if i.startswith('dev') else 'email'
    key = (c + '|' + m, g)
    s32, f32 = a.get((i, c, m, 'separate')), a.get((i, c, m, 'fused'))
    s16, f16 = b.get((i, c, m, 'separate')), b.get((i, c, m, 'fused'))
    stats[key]['n'] += 1
    stats[key]['F32fused==sep(F32cal)'] += f32 == s32
    stats[key]['F16fused==sep(F32cal)'] += f16 == s32
    stats[key]['F16fused==sep(F16cal)'] += f16 == s16
    stats[key]['sep F16cal==sep F32cal'] += s16 == s32
    stats[key]['F16fused==F32fused'] += f16 == f32
tot = collections.Counter()
for k in sorted(stats):
    print(k, dict(stats[k])); tot.update(stats[k])
print('total', dict(tot))
