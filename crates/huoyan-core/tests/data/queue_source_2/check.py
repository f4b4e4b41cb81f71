"""Parse and check both TSVs; print counts."""
import os, sys, collections
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATS = {"static_control", "testing", "supplies", "supply_vendors", "disinfection", "spill_over",
        "outside_workers", "assistance", "other"}
COMPOUNDS = {c * 10 + k for c in (1, 2, 3) for k in (1, 2, 3, 4)}
KINDS = {"sampling_point", "zone_gate", "vendor", "supply_station"}
errs = []

def read(name):
    lines = open(os.path.join(HERE, name), encoding="utf-8").read().split("\n")
    lines = [l for l in lines if l and not l.startswith("#")]
    return lines[0].split("\t"), [l.split("\t") for l in lines[1:]]

hdr, rows = read("duplicate_queue_holdout_2.tsv")
if hdr != ["report", "text", "category", "compound_id", "community_id", "day", "hour", "problem", "style"]:
    errs.append("bad header %r" % hdr)
recs = []
for i, r in enumerate(rows, 1):
    if len(r) != 9:
        errs.append("row %d: %d columns" % (i, len(r))); continue
    rep, text, cat, cmp, com, day, hour, pid, st = r
    rep, cmp, com, day, hour = int(rep), int(cmp), int(com), int(day), int(hour)
    if rep != i: errs.append("row %d: report number %d" % (i, rep))
    if cmp not in COMPOUNDS: errs.append("row %d: compound %d" % (i, cmp))
    if com != cmp // 10: errs.append("row %d: community %d vs compound %d" % (i, com, cmp))
    if cat not in CATS: errs.append("row %d: category %s" % (i, cat))
    if not 1 <= day <= 3: errs.append("row %d: day %d" % (i, day))
    if not 0 <= hour <= 23: errs.append("row %d: hour %d" % (i, hour))
    if st not in ("terse", "long"): errs.append("row %d: style %s" % (i, st))
    n = len(text)
    if st == "terse" and not 5 <= n <= 25: errs.append("row %d: terse length %d: %s" % (i, n, text))
    if st == "long" and not 20 <= n <= 90: errs.append("row %d: long length %d: %s" % (i, n, text))
    if "\t" in text or not text.strip(): errs.append("row %d: bad text" % i)
    if not (pid.startswith("P") and pid[1:].isdigit()): errs.append("row %d: problem id %s" % (i, pid))
    recs.append(dict(rep=rep, text=text, cat=cat, cmp=cmp, com=com, day=day, hour=hour, pid=pid, st=st))
for a, b in zip(recs, recs[1:]):
    if a["pid"] == b["pid"]: errs.append("reports %d,%d adjacent same problem %s" % (a["rep"], b["rep"], a["pid"]))
texts = collections.defaultdict(list)
for r in recs: texts[r["text"]].append(r)
same_words = {t: rs for t, rs in texts.items() if len(rs) > 1}
for t, rs in same_words.items():
    if len({r["cmp"] for r in rs}) < len(rs) or len({r["pid"] for r in rs}) < len(rs):
        errs.append("identical text within one compound or one problem: %s" % t)
byp = collections.defaultdict(list)
for r in recs: byp[r["pid"]].append(r)
for pid, rs in byp.items():
    days = [r["day"] for r in rs]
    if max(days) - min(days) > 2: errs.append("%s: repeats more than 2 days apart" % pid)
    if len(rs) > 4: errs.append("%s: %d reports" % (pid, len(rs)))

ph, prow = read("duplicate_queue_places_2.tsv")
if ph != ["place", "kind", "compounds"]: errs.append("bad places header")
shared = {}
for r in prow:
    if len(r) != 3: errs.append("places row columns"); continue
    a, b = map(int, r[2].split(","))
    if r[1] not in KINDS: errs.append("place kind %s" % r[1])
    if a not in COMPOUNDS or b not in COMPOUNDS or a // 10 == b // 10: errs.append("place compounds %s" % r[2])
    shared[r[0]] = (a, b)

rep_p = {p: rs for p, rs in byp.items() if len(rs) > 1}
pairs = {frozenset(v) for v in shared.values()}
for p, rs in rep_p.items():
    cs = frozenset(r["cmp"] for r in rs)
    if len(cs) > 1 and cs not in pairs:
        errs.append("%s spans compounds %s that share no place" % (p, sorted(cs)))
print("reports:", len(recs))
print("problems:", len(byp))
print("problems by number of reports:", dict(sorted(collections.Counter(len(v) for v in byp.values()).items())))
print("repeated problems:", len(rep_p), " reports repeating an earlier one:", sum(len(v) - 1 for v in rep_p.values()))
print("style:", dict(collections.Counter(r["st"] for r in recs)))
print("per community:", dict(sorted(collections.Counter(r["com"] for r in recs).items())))
print("per compound:", dict(sorted(collections.Counter(r["cmp"] for r in recs).items())))
print("per day:", dict(sorted(collections.Counter(r["day"] for r in recs).items())))
print("per category:", dict(collections.Counter(r["cat"] for r in recs).most_common()))
xc = [p for p, rs in rep_p.items() if len({r["cat"] for r in rs}) > 1]
xm = [p for p, rs in rep_p.items() if len({r["com"] for r in rs}) > 1]
print("cross-category repeated problems:", len(xc), sorted(xc))
print("cross-community repeated problems:", len(xm), sorted(xm))
styles = collections.Counter(tuple(sorted({r["st"] for r in rs})) for rs in rep_p.values())
print("repeated problems by style mix:", dict(styles))
print("shared places:", len(shared))
print("identical texts in different compounds (different problems):", len(same_words))
if errs:
    print("ERRORS:"); [print("  " + e) for e in errs]; sys.exit(1)
print("OK")
