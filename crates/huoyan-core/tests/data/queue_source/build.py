"""Build duplicate_queue_holdout.tsv and duplicate_queue_places.tsv from data.py."""
# Run from this folder: python3 build.py writes ../duplicate_queue_*.tsv; python3 check.py checks them.
import random
from data import PROBLEMS, PLACES

rows = []
for pi, (cat, note, reps) in enumerate(PROBLEMS):
    for r in reps:
        cmp, day, hour, style, text = r[:5]
        c = r[5] if len(r) > 5 else cat
        rows.append(dict(pi=pi, text=text, category=c, compound_id=cmp,
                         community_id=cmp // 10, day=day, hour=hour,
                         style={'t': 'terse', 'l': 'long'}[style]))

rng = random.Random(20220820)
rng.shuffle(rows)
# no two reports of one problem next to each other
changed = True
while changed:
    changed = False
    for i in range(len(rows) - 1):
        if rows[i]['pi'] == rows[i + 1]['pi']:
            j = rng.randrange(len(rows))
            rows[i + 1], rows[j] = rows[j], rows[i + 1]
            changed = True

pid = {}
for r in rows:
    if r['pi'] not in pid:
        pid[r['pi']] = 'P%03d' % (len(pid) + 1)

HEAD = """# duplicate_queue_holdout.tsv -- hand-written holdout set for a duplicate-report detector.
# Written blind: the author saw only the task brief and the public scenario description
# (Daqing city lockdown, August 2022), never the detector or any other labelled set.
# It imitates the triage queue of a city supervision office over three consecutive days in three
# communities (7, 8, 9), each with four sealed compounds (71-74, 81-84, 91-94). Reports come from
# compound supervisors on the phone (terse, colloquial, with pinyin typos such as 核算/排对), office
# clerks, inspection teams, drone operators, the 12345 hotline, grid workers and communities (long).
# All compounds, buildings, shops and people are invented; four named places are shared by two
# compounds of different communities (see duplicate_queue_places.tsv).
#
# Columns: report, text, category, compound_id, community_id, day, hour, problem, style.
# Rules used for the labels:
# - report numbers run 1..N in file order; the order is shuffled and no two reports of one
#   problem are adjacent.
# - problem: reports with the same id describe the same problem at the same place that needs one
#   fix, so the office would merge them into one case. Different ids are different problems even
#   when the wording is the same: another building, unit, gate, sampling point or compound, the
#   same place with a different breach, or the opposite state (e.g. already disinfected vs not).
#   Identical everyday complaints in different compounds (e.g. 东门没人看 in 72, 74, 83, 92, 93)
#   are different problems unless they are about a shared place.
# - compound_id: the compound the reporter belongs to; community_id is its first digit. A problem
#   at a shared place may be reported from either of its two compounds, hence from two communities.
# - category: static_control, testing, supplies, supply_vendors, disinfection, spill_over,
#   outside_workers, assistance, other. Some repeated problems have one report filed under another
#   category than the rest (as happens in real triage); the label of the problem does not change.
# - day 1..3 (three consecutive days), hour 0..23; repeats of one problem are 0-2 days apart.
# - style: terse = supervisor's phone report (5-25 characters), long = office / inspection /
#   drone / hotline / grid / community text (20-90 characters).
"""

with open('../duplicate_queue_holdout.tsv', 'w', encoding='utf-8') as f:
    f.write(HEAD)
    cols = ['report', 'text', 'category', 'compound_id', 'community_id', 'day', 'hour', 'problem', 'style']
    f.write('\t'.join(cols) + '\n')
    for i, r in enumerate(rows, 1):
        f.write('\t'.join(str(x) for x in [i, r['text'], r['category'], r['compound_id'], r['community_id'],
                                            r['day'], r['hour'], pid[r['pi']], r['style']]) + '\n')

with open('../duplicate_queue_places.tsv', 'w', encoding='utf-8') as f:
    f.write("""# duplicate_queue_places.tsv -- the four invented places shared by two compounds of different
# communities in duplicate_queue_holdout.tsv. Reports about them may come from either compound and
# may name the place in full, shortly (联合点, 福满家, 纬二路卡子, 兴隆街发放点) or by a local
# description (中间那个核酸点, 路口卡子, 两个小区中间那超市, 发菜的点).
# kind: sampling_point, zone_gate, vendor or supply_station; compounds: the two compound ids.
""")
    f.write('place\tkind\tcompounds\n')
    for p in PLACES:
        f.write('\t'.join(p) + '\n')
print(len(rows), 'reports,', len(pid), 'problems written')
