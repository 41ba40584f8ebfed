#!/usr/bin/env python3
"""The house rules, checked: layers point down only, the library never prints, files stay small.

Layers (README, "Architecture"):  util -> data -> models -> weights -> {train, eval, explain}
-> report -> {serve, dist} -> app -> tools.  A file may include mura headers of its own area and of lower
layers only; train, eval and explain are siblings and do not include each other.
Below app/, nothing writes to stdout/stderr (the library reports to a Sink).
No file in src/ is longer than 700 lines.

Usage: check_structure.py SOURCE_DIR [GRAPH.dot]   (exit 1 listing every violation)
The optional GRAPH.dot gets the include graph between areas (render with `dot -Tsvg`).
"""
import re
import sys
from pathlib import Path

LAYER = {"util": 0, "data": 1, "models": 2, "weights": 3, "train": 4, "eval": 4, "explain": 4,
         "report": 5, "serve": 6, "dist": 6, "app": 7, "tools": 8}
MAX_LINES = 700
INCLUDE = re.compile(r'^\s*#\s*include\s*"mura/([a-z_]+)/[^"]+"')
PRINTS = re.compile(r'std::(cout|cerr|clog)\b|\b(printf|fprintf|puts|fputs|putchar|perror)\s*\(')


def area_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root).parts
    if rel[0] == "tools":
        return "tools"
    return rel[2] if len(rel) > 3 else "pch"


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'R"(\w*)\(.*?\)\1"', '""', text, flags=re.S)  # raw strings (CSS, JS)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    files = sorted(p for d in ("src", "tools") for p in (root / d).rglob("*") if p.suffix in (".h", ".cpp"))
    problems, edges = [], set()
    for f in files:
        area = area_of(f, root)
        if area not in LAYER:
            continue
        text = f.read_text(encoding="utf-8")
        rel = f.relative_to(root)
        for n, line in enumerate(text.splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target not in LAYER:
                problems.append(f"{rel}:{n}: includes an unknown area mura/{target}")
                continue
            if target != area:
                edges.add((area, target))
            if target != area and LAYER[target] >= LAYER[area]:
                kind = "a sibling" if LAYER[target] == LAYER[area] else "a higher"
                problems.append(f"{rel}:{n}: {area}/ includes {kind} layer: mura/{target}/ ({line.strip()})")
        if area not in ("app", "tools"):
            for n, line in enumerate(strip_comments(text).splitlines(), 1):
                if PRINTS.search(line):
                    problems.append(f"{rel}:{n}: the library prints (report to a Sink instead): {line.strip()}")
        lines = text.count("\n")
        if rel.parts[0] == "src" and lines > MAX_LINES:
            problems.append(f"{rel}: {lines} lines (more than {MAX_LINES}: split it)")
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w", encoding="utf-8") as out:
            out.write("digraph mura {\n  rankdir=BT;\n")
            for a, b in sorted(edges):
                out.write(f'  "{a}" -> "{b}";\n')
            out.write("}\n")
    for p in problems:
        print(p)
    print(f"structure: {len(files)} files, {len(edges)} include edges between areas, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
