#!/usr/bin/env python3
"""The application's import layers, checked: each top-level module of crates/huoyan/src may import
(`crate::name`, outside comments) only modules listed before it in LAYERS. So no two modules
import each other, the toolkits import no context, a context imports only the kernel, `org` and
the contexts below it, and only the composition root `app` (and the command line above it) knows
every context. A new module must be placed in LAYERS; the check names any that is not.
Exit 1 on any import against the order."""
import os
import re
import sys

LAYERS = [
    # toolkits: import no context
    "i18n", "error", "time", "db", "check", "geo", "tabular", "http", "web",
    # the kernel
    "audit", "backup", "auth", "notifications",
    # contexts, each above those it may call
    "org", "cases", "inspections", "workforce", "testing", "drones", "supply",
    # the composition root, then what stands on it
    "app", "demo", "cli",
]

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "crates", "huoyan", "src")
rank = {m: i for i, m in enumerate(LAYERS)}
imports = {}
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(root, f), src)
        top = rel.split(os.sep)[0].removesuffix(".rs")
        if top in ("main", "lib"):
            continue
        text = open(os.path.join(root, f), encoding="utf-8").read()
        text = re.sub(r"//[^\n]*", "", text)
        found = imports.setdefault(top, {})
        for m in re.finditer(r"\bcrate::(\w+)", text):
            found.setdefault(m.group(1), rel)
        for m in re.finditer(r"use crate::\{([^}]*)\}", text, re.S):
            for name in re.findall(r"(?:^|,)\s*(\w+)", m.group(1)):
                found.setdefault(name, rel)

bad = []
for top, deps in sorted(imports.items()):
    if top not in rank:
        bad.append(f"{top}: not placed in scripts/layers.py's LAYERS")
        continue
    for dep, where in sorted(deps.items()):
        if dep in rank and dep != top and rank[dep] > rank[top]:
            bad.append(f"{where}: `{top}` imports `{dep}`, which lies above it")
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
