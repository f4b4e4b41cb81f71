#!/usr/bin/env python3
"""Solve a flattened Huoyan roster (huoyan_core::workforce::roster::flatten) with OR-Tools CP-SAT.

The model is the one documented in crates/huoyan-core/src/workforce/roster/flat.rs: the same hard
rules and exactly the same objective, so the Rust evaluator can score CP-SAT's roster and must
find CP-SAT's own objective.

Usage: roster_cpsat.py MODEL.json OUT.json SECONDS [WORKERS]
Writes {"status", "objective", "bound", "seconds", "build_seconds", "assignments": [[p, s], ...]}.
"""

import json
import os
import sys
import time
from collections import defaultdict

from ortools.sat.python import cp_model


def main():
    src, dst, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else (os.cpu_count() or 1)
    t_build = time.time()
    with open(src) as f:
        m = json.load(f)
    w = m["weights"]
    shifts = m["shifts"]
    people = m["people"]
    rest = m["min_rest_minutes"]

    model = cp_model.CpModel()
    x = {}
    lin = []
    by_shift = defaultdict(list)
    by_person_day = defaultdict(list)
    by_person_week = defaultdict(list)
    early_by_person = defaultdict(list)
    early_by_person_day = defaultdict(list)
    by_group_day_post = defaultdict(list)
    for v in m["vars"]:
        p, s, c = v["person"], v["shift"], v["cost"]
        sh = shifts[s]
        var = model.NewBoolVar("")
        x[(p, s)] = var
        if c:
            lin.append(c * var)
        by_shift[s].append(var)
        by_person_day[(p, sh["day"])].append((s, var))
        by_person_week[(p, sh["day"] // 7)].append((sh["end"] - sh["start"]) * var)
        if sh["early"]:
            early_by_person[p].append(var)
            early_by_person_day[(p, sh["day"])].append(var)
        g = people[p]["group"]
        if g is not None:
            by_group_day_post[(g, sh["day"], sh["post"])].append(var)

    # Headcount, and the unfilled places as its slack.
    unfilled_terms = []
    for s, sh in enumerate(shifts):
        vs = by_shift.get(s, [])
        if vs:
            model.Add(sum(vs) <= sh["headcount"])
        unfilled_terms.append(sh["headcount"] - sum(vs) if vs else sh["headcount"])

    # One shift a day; weekly minutes.
    for vs in by_person_day.values():
        if len(vs) > 1:
            model.AddAtMostOne(v for _, v in vs)
    for (p, _), terms in by_person_week.items():
        model.Add(sum(terms) <= people[p]["max_minutes_per_week"])

    # Minimum rest: for each person, day d and end time E of one of their day-d shifts, at most one
    # of {day-d shifts ending at or after E} ∪ {later-day shifts starting before E + rest}.
    # Every conflicting pair sits in one of these cliques (the one for E = end of the first).
    days = m["days"]
    for (p, d), vs in by_person_day.items():
        ends = sorted({shifts[s]["end"] for s, _ in vs})
        for e in ends:
            later = []
            for d2 in range(d + 1, days):
                for s2, v2 in by_person_day.get((p, d2), []):
                    if shifts[s2]["start"] < e + rest:
                        later.append(v2)
            if later:
                first = [v for s, v in vs if shifts[s]["end"] >= e]
                model.AddAtMostOne(first + later)

    # Early fairness: e_p squared, exact.
    sq_terms = []
    for p, vs in early_by_person.items():
        e = model.NewIntVar(0, len(vs), "")
        model.Add(e == sum(vs))
        sq = model.NewIntVar(0, len(vs) * len(vs), "")
        model.AddMultiplicationEquality(sq, [e, e])
        sq_terms.append(sq)

    # Consecutive early days: y = early(d) AND early(d+1), exact both ways.
    cons_terms = []
    for (p, d), vs in early_by_person_day.items():
        nxt = early_by_person_day.get((p, d + 1))
        if not nxt:
            continue
        y = model.NewBoolVar("")
        a, b = sum(vs), sum(nxt)
        model.Add(y <= a)
        model.Add(y <= b)
        model.Add(y >= a + b - 1)
        cons_terms.append(y)

    # Group places: z = OR of the members' assignments at that (group, day, post), exact.
    group_terms = []
    for vs in by_group_day_post.values():
        z = model.NewBoolVar("")
        for v in vs:
            model.AddImplication(v, z)
        model.Add(z <= sum(vs))
        group_terms.append(z)

    objective = (
        m["constant"]
        + sum(lin)
        + w["unfilled"] * sum(unfilled_terms)
        + w["early_square"] * sum(sq_terms)
        + w["consecutive_early"] * sum(cons_terms)
        + w["group_split"] * sum(group_terms)
    )
    model.Minimize(objective)
    build = time.time() - t_build

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    t = time.time()
    status = solver.Solve(model)
    took = time.time() - t
    out = {
        "status": solver.StatusName(status),
        "seconds": took,
        "build_seconds": build,
        "workers": workers,
        "objective": None,
        "bound": None,
        "assignments": [],
    }
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        out["objective"] = solver.ObjectiveValue()
        out["bound"] = solver.BestObjectiveBound()
        out["assignments"] = [[p, s] for (p, s), v in x.items() if solver.Value(v)]
    with open(dst, "w") as f:
        json.dump(out, f)
    print(
        f"cp-sat {os.path.basename(src)}: {out['status']} objective {out['objective']} "
        f"bound {out['bound']} in {took:.2f} s (model built in {build:.2f} s, {workers} workers)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
