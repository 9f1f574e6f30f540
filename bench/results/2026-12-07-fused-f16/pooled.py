# Pooled paired difference, input by input over every variant:
#   python3 pooled.py CANDIDATE/results.json:BASELINE/results.json [...]
import json, random, sys
def per_input(path):
    d = json.load(open(path))['quality']['perInput']
    return d
def rows(a, b, method):
    out = []
    for variant, methods in a.items():
        if method not in methods or variant not in b or method not in b[variant]: continue
        x, y = methods[method], b[variant][method]
        xs = {k: v for k, v in (x.items() if isinstance(x, dict) else enumerate(x))}
        ys = {k: v for k, v in (y.items() if isinstance(y, dict) else enumerate(y))}
        for k in xs.keys() & ys.keys():
            out.append((variant, xs[k] - ys[k]))
    return out
pairs = [p.split(':') for p in sys.argv[1:]]
for method in ['lc++', 'linear-merge']:
    diffs = []
    for cand, base in pairs:
        diffs += rows(per_input(cand), per_input(base), method)
    if not diffs: continue
    vals = [d for _, d in diffs]
    mean = sum(vals) / len(vals)
    rng = random.Random(0); boots = []
    for _ in range(2000):
        s = [vals[rng.randrange(len(vals))] for _ in vals]; boots.append(sum(s) / len(s))
    boots.sort()
    print(method, 'n', len(vals), 'mean %.2f [%.2f, %.2f]' % (mean, boots[50], boots[1949]), 'better', sum(v > 0 for v in vals), 'worse', sum(v < 0 for v in vals), 'same', sum(v == 0 for v in vals))
