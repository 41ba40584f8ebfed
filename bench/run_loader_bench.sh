#!/usr/bin/env bash
# Loader throughput: mura's C++ loader against the Python peer (the seeds' torchvision
# pipeline), on the same image files, in one run; prints a table with the ratios.
#
#   bash bench/run_loader_bench.sh BUILD_DIR [DATA_DIR]
#
# DATA_DIR defaults to ../shared/data/fracatlas next to the repository when it exists,
# else a synthetic set written with `BUILD_DIR/mura synth --patients 400`.
# Environment: SIZE (224) BATCH (32) WORKERS (2) LIMIT (all) EPOCHS (3: cache fill + 2 timed)
#   REPEATS (2; each side runs this many times, the best is kept) SPLIT (train)
#   MURA_PYTHON (/usr/bin/python3: must have torch + torchvision)
#   STRICT=1: exit 1 when a target is missed.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && exit 0 || exit 2
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$1" && pwd)"
BENCH="$BUILD_DIR/mura_bench_loader"
MURA="$BUILD_DIR/mura"
PY="${MURA_PYTHON:-/usr/bin/python3}"
PEER="$REPO_ROOT/bench/peer/loader_peer.py"
SIZE="${SIZE:-224}" BATCH="${BATCH:-32}" WORKERS="${WORKERS:-2}" EPOCHS="${EPOCHS:-3}"
REPEATS="${REPEATS:-2}" SPLIT="${SPLIT:-train}" LIMIT="${LIMIT:-}"

[[ -x "$BENCH" ]] || { echo "run_loader_bench: $BENCH not built (cmake --build $1 --target mura_bench_loader)" >&2; exit 1; }
"$PY" -c 'import torch, torchvision, PIL' 2>/dev/null ||
  { echo "run_loader_bench: $PY lacks torch/torchvision/PIL (set MURA_PYTHON)" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-loader-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

if [[ $# -ge 2 ]]; then
  DATA_DIR="$2"
elif [[ -d "$REPO_ROOT/../shared/data/fracatlas" ]]; then
  DATA_DIR="$(cd "$REPO_ROOT/../shared/data/fracatlas" && pwd)"
else
  [[ -x "$MURA" ]] || { echo "run_loader_bench: no data set and no $MURA to synthesise one" >&2; exit 1; }
  echo "# no ../shared/data/fracatlas: synthesising a data set (400 patients)" >&2
  "$MURA" synth --output-dir "$TMP/MURA-synth" --patients 400 >&2
  DATA_DIR="$TMP/MURA-synth"
fi

common=(--size "$SIZE" --batch-size "$BATCH" --workers "$WORKERS")
limit=()
[[ -n "$LIMIT" ]] && limit=(--limit "$LIMIT")

# The same files for both sides: mura indexes the set and writes the list the peer reads.
"$BENCH" --data-dir "$DATA_DIR" --split "$SPLIT" "${limit[@]}" --list-out "$TMP/list.tsv" --list-only
N="$(wc -l < "$TMP/list.tsv")"
# Warm the page cache so that neither side pays for the first read from disk.
cut -f1 "$TMP/list.tsv" | tr '\n' '\0' | xargs -0 cat > /dev/null

echo "# data: $DATA_DIR ($SPLIT, $N images), size $SIZE, batch $BATCH, workers $WORKERS," \
     "$(nproc) cores, best of $REPEATS" >&2
RESULTS="$TMP/results.jsonl"
for ((r = 1; r <= REPEATS; ++r)); do
  # One after the other, never concurrently: each side gets the whole machine.
  echo "# run $r/$REPEATS: peer" >&2
  "$PY" "$PEER" --list "$TMP/list.tsv" --split "$SPLIT" "${common[@]}" | tee -a "$RESULTS" >&2
  echo "# run $r/$REPEATS: mura" >&2
  "$BENCH" --data-dir "$DATA_DIR" --split "$SPLIT" "${limit[@]}" "${common[@]}" \
    --epochs "$EPOCHS" --modes files,cache,disk --cache-dir "$TMP/cache" | tee -a "$RESULTS" >&2
  rm -rf "$TMP/cache"
done

STRICT="${STRICT:-0}" "$PY" - "$RESULTS" <<'EOF'
import json, os, sys

best = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith('{'):
        continue
    r = json.loads(line)
    key = (r['impl'], r['mode'])
    if key not in best or r['images_per_s'] > best[key]['images_per_s']:
        best[key] = r

def ips(impl, mode):
    r = best.get((impl, mode))
    return r['images_per_s'] if r else float('nan')

peer = ips('peer', 'files')
rows = [
    ('peer (PIL + torchvision, files)', peer),
    ('mura files (decode every epoch)', ips('mura', 'files')),
    ('mura cache-fill (epoch 0, memory)', ips('mura', 'cache-fill')),
    ('mura cache (memory, epoch >= 1)', ips('mura', 'cache')),
    ('mura disk-warm (2nd run, incl. load)', ips('mura', 'disk-warm')),
]
print()
print(f"{'loader':40s} {'images/s':>10s}")
for name, v in rows:
    print(f"{name:40s} {v:10.1f}")
print()
checks = [('mura files / peer', ips('mura', 'files') / peer, 2.0),
          ('mura cache / peer', ips('mura', 'cache') / peer, 10.0),
          ('mura disk-warm / peer', ips('mura', 'disk-warm') / peer, None)]
missed = False
print(f"{'ratio':40s} {'value':>10s} {'target':>8s}")
for name, v, target in checks:
    if target is None:
        print(f"{name:40s} {v:9.2f}x {'':>8s}")
        continue
    ok = v >= target
    missed |= not ok
    print(f"{name:40s} {v:9.2f}x {'>= %gx' % target:>8s}  {'ok' if ok else 'MISSED'}")
sys.exit(1 if missed and os.environ.get('STRICT') == '1' else 0)
EOF
