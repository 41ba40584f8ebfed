#!/usr/bin/env python3
"""Every mura source compiles without the precompiled header.

The build uses a precompiled <torch/torch.h> (src/mura/pch.h), which hides missing includes
(<cstring>, <atomic>, <tuple> ...): a file that forgot one still compiles in the build and
breaks the day the PCH changes or someone builds with MURA_USE_PCH=OFF. This runs each
src/ and tools/ source through the compiler with -fsyntax-only, the build's own flags
(compile_commands.json) minus the PCH, in parallel.

Usage: check-no-pch.py BUILD_DIR [JOBS]
"""
import json
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def command_without_pch(entry):
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    out, skip = [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a in ("-include", "-o", "-MF", "-MT"):
            skip = True
            continue
        if a in ("-MD", "-Winvalid-pch", "-c") or a.startswith("-include"):
            continue
        out.append(a)
    return out + ["-fsyntax-only", "-c"]


def main():
    build = sys.argv[1]
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count() or 1
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        db = json.load(f)
    seen, work = set(), []
    for e in db:
        src = os.path.realpath(os.path.join(e["directory"], e["file"]))
        if not re.search(r"/(src/mura|tools/mura)/", src) or src in seen or "cmake_pch" in src:
            continue
        seen.add(src)
        work.append((src, e["directory"], command_without_pch(e)))
    start = time.time()

    def check(item):
        src, cwd, cmd = item
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        return src, r.returncode, r.stderr

    failed = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for src, rc, err in pool.map(check, work):
            if rc != 0:
                failed += 1
                print(f"check-no-pch: {src} does not compile without the precompiled header:\n{err}")
    print(f"check-no-pch: {len(work)} sources, {failed} failed, {time.time() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
