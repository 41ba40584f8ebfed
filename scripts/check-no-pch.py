#!/usr/bin/env python3
"""Every mura source compiles without the precompiled header.

The build uses a precompiled <torch/torch.h> (src/mura/pch.h), which hides missing includes
(<cstring>, <atomic>, <tuple> ...): a file that forgot one still compiles in the build and
breaks the day the PCH changes or someone builds with MURA_USE_PCH=OFF. This runs each
src/ and tools/ source through the compiler with -fsyntax-only, the build's own flags
(compile_commands.json) minus the PCH, in parallel.

With ccache installed (scripts/install-deps.sh installs it) each source is compiled at -O0
into a scratch object through ccache instead (-fsyntax-only has no output ccache could keep),
with the paths of the checkout made relative as in the build (CMakeLists.txt), so a fresh
clone (CI) checks again only the sources whose preprocessed text changed.

Usage: check-no-pch.py BUILD_DIR [JOBS] [REGEX]   (REGEX: only the sources whose path matches)
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


CCACHE = shutil.which("ccache")
ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


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
    return out


def main():
    build = sys.argv[1]
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count() or 1
    only = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        db = json.load(f)
    seen, work = set(), []
    for e in db:
        src = os.path.realpath(os.path.join(e["directory"], e["file"]))
        if not re.search(r"/(src/mura|tools/mura)/", src) or src in seen or "cmake_pch" in src:
            continue
        if only and not only.search(src):
            continue
        seen.add(src)
        work.append((src, e["directory"], command_without_pch(e)))
    start = time.time()

    scratch = tempfile.mkdtemp(prefix="mura-no-pch-")
    env = dict(os.environ, CCACHE_BASEDIR=ROOT, CCACHE_NOHASHDIR="1")

    def check(item):
        src, cwd, cmd = item
        if CCACHE:
            obj = os.path.join(scratch, f"{abs(hash(src))}.o")
            cmd = [CCACHE] + [a for a in cmd if a not in ("-O1", "-O2", "-O3")] + ["-O0", "-c", "-o", obj]
        else:
            cmd = cmd + ["-fsyntax-only", "-c"]
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
        return src, r.returncode, r.stderr

    failed = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for src, rc, err in pool.map(check, work):
            if rc != 0:
                failed += 1
                print(f"check-no-pch: {src} does not compile without the precompiled header:\n{err}")
    shutil.rmtree(scratch, ignore_errors=True)
    how = "through ccache" if CCACHE else "-fsyntax-only"
    print(f"check-no-pch: {len(work)} sources ({how}), {failed} failed, {time.time() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
