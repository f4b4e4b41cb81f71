"""Check duplicate_queue_holdout.tsv and duplicate_queue_places.tsv; print the counts.
Usage: python3 check.py [--groups]   (--groups also prints every repeated problem and every
group of identical / near-identical texts with different problem ids, for rereading)."""
import sys, os, re
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATS = {'static_control', 'testing', 'supplies', 'supply_vendors', 'disinfection', 'spill_over',
        'outside_workers', 'assistance', 'other'}
COMPOUNDS = {c * 10 + k for c in (7, 8, 9) for k in (1, 2, 3, 4)}
KINDS = {'sampling_point', 'zone_gate', 'vendor', 'supply_station'}
errors = []

def err(msg):
    errors.append(msg)

def read_tsv(path, header):
    lines = open(path, encoding='utf-8').read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    i = 0
    while i < len(lines) and lines[i].startswith('#'):
        i += 1
    if i == 0:
        err('%s: no # comment lines' % path)
    if i >= len(lines) or lines[i].split('\t') != header:
        err('%s: bad header %r' % (path, lines[i] if i < len(lines) else None))
        return []
    out = []
    for n, l in enumerate(lines[i + 1:], i + 2):
        f = l.split('\t')
        if len(f) != len(header):
            err('%s line %d: %d columns' % (path, n, len(f)))
            continue
        out.append((n, dict(zip(header, f))))
    return out

# ---------------------------------------------------------------- places
places = read_tsv(os.path.join(HERE, 'duplicate_queue_places.tsv'), ['place', 'kind', 'compounds'])
place_pairs = set()
for n, p in places:
    if p['kind'] not in KINDS:
        err('places line %d: kind %s' % (n, p['kind']))
    try:
        a, b = [int(x) for x in p['compounds'].split(',')]
    except ValueError:
        err('places line %d: compounds %s' % (n, p['compounds']))
        continue
    if a not in COMPOUNDS or b not in COMPOUNDS or a // 10 == b // 10:
        err('places line %d: compounds must be two compounds of different communities' % n)
    place_pairs.add(frozenset((a, b)))
if len(places) != 4:
    err('expected 4 shared places, got %d' % len(places))

# ---------------------------------------------------------------- reports
H = ['report', 'text', 'category', 'compound_id', 'community_id', 'day', 'hour', 'problem', 'style']
rows = read_tsv(os.path.join(HERE, 'duplicate_queue_holdout.tsv'), H)
recs = []
for k, (n, r) in enumerate(rows, 1):
    try:
        rep, cmp, com, day, hour = (int(r[x]) for x in ('report', 'compound_id', 'community_id', 'day', 'hour'))
    except ValueError:
        err('line %d: non-integer field' % n)
        continue
    if rep != k:
        err('line %d: report %d, expected %d' % (n, rep, k))
    if cmp not in COMPOUNDS:
        err('line %d: compound %d' % (n, cmp))
    if com != cmp // 10:
        err('line %d: community %d != first digit of %d' % (n, com, cmp))
    if r['category'] not in CATS:
        err('line %d: category %s' % (n, r['category']))
    if day not in (1, 2, 3):
        err('line %d: day %d' % (n, day))
    if not 0 <= hour <= 23:
        err('line %d: hour %d' % (n, hour))
    if not re.fullmatch(r'P\d{3}', r['problem']):
        err('line %d: problem id %s' % (n, r['problem']))
    L = len(r['text'])
    if r['style'] == 'terse':
        if not 5 <= L <= 25:
            err('line %d: terse text of %d chars' % (n, L))
    elif r['style'] == 'long':
        if not 20 <= L <= 90:
            err('line %d: long text of %d chars' % (n, L))
    else:
        err('line %d: style %s' % (n, r['style']))
    if not r['text'].strip() or '\r' in r['text']:
        err('line %d: empty or CR in text' % n)
    recs.append(dict(r, report=rep, compound_id=cmp, community_id=com, day=day, hour=hour))

texts = Counter(r['text'] for r in recs)
by_p = defaultdict(list)
for r in recs:
    by_p[r['problem']].append(r)
# structural sanity of the labels
for i in range(len(recs) - 1):
    if recs[i]['problem'] == recs[i + 1]['problem']:
        err('reports %d and %d (same problem) are adjacent' % (recs[i]['report'], recs[i + 1]['report']))
for p, rs in by_p.items():
    cmps = {r['compound_id'] for r in rs}
    if len(cmps) > 1 and frozenset(cmps) not in place_pairs:
        err('%s spans compounds %s that share no place' % (p, sorted(cmps)))
    days = [r['day'] for r in rs]
    if max(days) - min(days) > 3:
        err('%s spans more than 3 days' % p)
    if len({r['text'] for r in rs}) < len(rs):
        err('%s has the same text twice' % p)
for t, c in texts.items():
    if c > 1:
        ps = {r['problem'] for r in recs if r['text'] == t}
        if len(ps) < c:
            err('text %s repeated inside one problem' % t)

if errors:
    print('ERRORS (%d):' % len(errors))
    for e in errors:
        print('  ' + e)
else:
    print('all checks passed')

# ---------------------------------------------------------------- counts
print('reports:', len(recs))
print('problems:', len(by_p))
size = Counter(len(v) for v in by_p.values())
print('problems by number of reports:', ', '.join('%d x%d' % (size[k], k) for k in sorted(size)))
print('reports that duplicate an earlier-listed report of their problem:', len(recs) - len(by_p))
print('style:', dict(Counter(r['style'] for r in recs)))
print('per community:', dict(sorted(Counter(r['community_id'] for r in recs).items())))
print('per compound:', dict(sorted(Counter(r['compound_id'] for r in recs).items())))
print('per day:', dict(sorted(Counter(r['day'] for r in recs).items())))
print('per category:', dict(Counter(r['category'] for r in recs).most_common()))
rep = {p: v for p, v in by_p.items() if len(v) > 1}
cc = [p for p, v in rep.items() if len({r['category'] for r in v}) > 1]
xc = [p for p, v in rep.items() if len({r['community_id'] for r in v}) > 1]
mix = [p for p, v in rep.items() if len({r['style'] for r in v}) > 1]
print('repeated problems:', len(rep))
print('cross-category repeated problems: %d (%.0f %%)' % (len(cc), 100.0 * len(cc) / len(rep)))
print('cross-community repeated problems:', len(xc))
print('repeated problems mixing terse and long:', len(mix))
print('texts shared by reports of different problems:', sum(1 for t, c in texts.items() if c > 1))

if '--groups' in sys.argv:
    print('\n== repeated problems')
    for p in sorted(rep):
        print(p)
        for r in sorted(rep[p], key=lambda r: (r['day'], r['hour'])):
            print('   %d d%d h%02d %-15s %-5s %s' % (r['compound_id'], r['day'], r['hour'], r['category'], r['style'], r['text']))
    print('\n== identical texts with different problem ids')
    for t, c in texts.items():
        if c > 1:
            print(t, [(r['problem'], r['compound_id'], r['day']) for r in recs if r['text'] == t])
sys.exit(1 if errors else 0)
