#!/usr/bin/env bash
# Training throughput: `mura train` (its defaults: --precision auto, channels-last) against
# the Python peer (the seeds' PIL + torchvision + DataLoader fp32 training loop), against the
# same peer tuned (bf16 autocast + channels-last), and against mura's compute-only ceiling,
# on the same data, model, image size, batch, threads and number of steps, in one run;
# prints a table with the ratios.
#
#   bash bench/run_train_bench.sh BUILD_DIR [DATA_DIR]
#
# DATA_DIR defaults to ../shared/data/fracatlas next to the repository when it exists,
# else a synthetic set written with `BUILD_DIR/mura synth --patients 400`.
# Environment: ARCH (resnet18) SIZE (128) BATCH (32) THREADS (nproc) WORKERS (2)
#   STEPS (60; capped at one epoch for the peer and mura --cache none)
#   PRECISION (auto: what mura train and the compute-only step use; fp32 for a like-for-like run)
#   LOAD_MAX (0.7: before each measurement wait until the 1-minute load average is below
#   this; 0 disables) LOAD_WAIT (900: seconds to wait at most, then measure anyway and say so)
#   MURA_PYTHON (/usr/bin/python3: must have torch, torchvision, scikit-learn)
#   STRICT=1: exit 1 when a target is missed.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && exit 0 || exit 2
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$1" && pwd)"
MURA="$BUILD_DIR/mura"
STEP_BENCH="$BUILD_DIR/mura_bench_train_step"
PY="${MURA_PYTHON:-/usr/bin/python3}"
PEER="$REPO_ROOT/bench/peer/train_peer.py"
ARCH="${ARCH:-resnet18}" SIZE="${SIZE:-128}" BATCH="${BATCH:-32}" THREADS="${THREADS:-$(nproc)}"
WORKERS="${WORKERS:-2}" STEPS="${STEPS:-60}" LOAD_MAX="${LOAD_MAX:-0.7}" LOAD_WAIT="${LOAD_WAIT:-900}"
PRECISION="${PRECISION:-auto}" LR=1e-3 SEED=1

for exe in "$MURA" "$STEP_BENCH"; do
  [[ -x "$exe" ]] || { echo "run_train_bench: $exe not built (cmake --build $1)" >&2; exit 1; }
done
"$PY" -c 'import torch, torchvision, PIL, sklearn' 2>/dev/null ||
  { echo "run_train_bench: $PY lacks torch/torchvision/PIL/sklearn (set MURA_PYTHON)" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-train-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

if [[ $# -ge 2 ]]; then
  DATA_DIR="$(cd "$2" && pwd)"
elif [[ -d "$REPO_ROOT/../shared/data/fracatlas" ]]; then
  DATA_DIR="$(cd "$REPO_ROOT/../shared/data/fracatlas" && pwd)"
else
  echo "# no ../shared/data/fracatlas: synthesising a data set (400 patients)" >&2
  "$MURA" synth --output-dir "$TMP/MURA-synth" --patients 400 >&2
  DATA_DIR="$TMP/MURA-synth"
fi

# Warm the page cache so that neither side pays for the first read from disk.
find "$DATA_DIR" -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) -print0 |
  xargs -0 cat > /dev/null

# Before each measurement: wait until the machine is quiet (the 1-minute load average also
# carries the previous measurement's load, so this keeps the runs apart too).
WAITED_OUT=()
wait_quiet() {
  [[ "$LOAD_MAX" == 0 ]] && return 0
  local start=$SECONDS load
  while true; do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    awk -v l="$load" -v m="$LOAD_MAX" 'BEGIN { exit !(l < m) }' && return 0
    if (( SECONDS - start >= LOAD_WAIT )); then
      echo "# WARNING: load average still $load after ${LOAD_WAIT}s; measuring $1 anyway" >&2
      WAITED_OUT+=("$1")
      return 0
    fi
    sleep 10
  done
}

RESULTS="$TMP/results.jsonl"
echo "# data: $DATA_DIR, $ARCH, size $SIZE, batch $BATCH, $STEPS steps, threads $THREADS," \
     "workers $WORKERS, $(nproc) cores" >&2

# One after the other, never concurrently: each side gets the whole machine.
wait_quiet peer
echo "# peer: PIL + torchvision + DataLoader, $STEPS steps" >&2
"$PY" "$PEER" --data-dir "$DATA_DIR" --arch "$ARCH" --img-size "$SIZE" --batch-size "$BATCH" \
  --lr "$LR" --epochs 1 --max-steps "$STEPS" --seed "$SEED" --threads "$THREADS" \
  --workers "$WORKERS" | tee "$TMP/peer.jsonl" >&2
grep '"event": "final"' "$TMP/peer.jsonl" >> "$RESULTS"

wait_quiet "tuned peer"
echo "# tuned peer: the same loop with bf16 autocast + channels-last, $STEPS steps" >&2
"$PY" "$PEER" --data-dir "$DATA_DIR" --arch "$ARCH" --img-size "$SIZE" --batch-size "$BATCH" \
  --lr "$LR" --epochs 1 --max-steps "$STEPS" --seed "$SEED" --threads "$THREADS" \
  --workers "$WORKERS" --tuned | tee "$TMP/peer_tuned.jsonl" >&2
grep '"event": "final"' "$TMP/peer_tuned.jsonl" >> "$RESULTS"

mura_train() {  # NAME CACHE EXTRA...: one `mura train` run into $TMP/NAME
  local name="$1" cache="$2"
  shift 2
  "$MURA" train --data-dir "$DATA_DIR" --model "$ARCH" --img-size "$SIZE" --batch-size "$BATCH" \
    --lr "$LR" --loss weighted-bce --optimizer adam --scheduler none --val-source valid \
    --rotate 10 --seed "$SEED" --threads "$THREADS" --workers "$WORKERS" --cache "$cache" \
    --precision "$PRECISION" \
    --no-progress --output-dir "$TMP/$name" "$@" >&2
  cat "$TMP/$name/metrics.jsonl" >&2
  "$PY" - "$TMP/$name/metrics.jsonl" "$name" >> "$RESULTS" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(json.dumps({'impl': 'mura', 'mode': sys.argv[2], 'epoch': r['epoch'], 'step': r['step'],
                      'images_per_s': r['images_per_s']}))
EOF
}

wait_quiet "mura --cache none"
echo "# mura train --cache none, $STEPS steps (decodes every image, as the peer)" >&2
mura_train none none --epochs 1 --max-steps "$STEPS"

wait_quiet "mura --cache memory"
echo "# mura train --cache memory, 2 epochs (epoch 2 reads the cache)" >&2
mura_train memory memory --epochs 2

wait_quiet "compute-only"
echo "# mura_bench_train_step: compute only, $STEPS steps on random tensors" >&2
"$STEP_BENCH" --arch "$ARCH" --img-size "$SIZE" --batch-size "$BATCH" --steps "$STEPS" \
  --threads "$THREADS" --precision "$PRECISION" --channels-last | tee -a "$RESULTS" >&2

PRECISION="$PRECISION" STRICT="${STRICT:-0}" WAITED_OUT="${WAITED_OUT[*]:-}" "$PY" - "$RESULTS" <<'EOF'
import json, math, os, sys

peer = tuned = mura_none = mura_mem1 = mura_mem2 = compute = math.nan
precision = '?'
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith('{'):
        continue
    r = json.loads(line)
    if r['impl'] == 'peer' and r.get('tuned'):
        tuned = r['train_images_per_s']
    elif r['impl'] == 'peer':
        peer = r['train_images_per_s']
    elif r.get('mode') == 'compute-only':
        compute = r['images_per_s']
        precision = r.get('precision', '?')
    elif r.get('mode') == 'none' and r['epoch'] == 1:
        mura_none = r['images_per_s']
    elif r.get('mode') == 'memory' and r['epoch'] == 1:
        mura_mem1 = r['images_per_s']
    elif r.get('mode') == 'memory' and r['epoch'] == 2:
        mura_mem2 = r['images_per_s']

rows = [
    ('peer (PIL + torchvision + DataLoader, fp32)', peer),
    ('tuned peer (+ bf16 autocast, channels-last)', tuned),
    ('mura train --cache none (decodes)', mura_none),
    ('mura train --cache memory, epoch 1 (fill)', mura_mem1),
    ('mura train --cache memory, epoch 2', mura_mem2),
    ('mura compute-only (random tensors)', compute),
]
print()
print(f"mura runs in {precision} (--precision {os.environ.get('PRECISION', 'auto')}), channels-last")
print(f"{'training loop':44s} {'images/s':>10s}")
for name, v in rows:
    print(f"{name:44s} {v:10.1f}")
print()
missed = False
print(f"{'ratio':44s} {'value':>10s} {'target':>8s}")
for name, ratio, target in [
        ('mura (--cache none) / peer', mura_none / peer, 3.0),
        ('mura (--cache none) / tuned peer', mura_none / tuned, 1.3)]:
    ok = ratio >= target
    missed |= not ok
    print(f"{name:44s} {ratio:9.2f}x {'>= %.1fx' % target:>8s}  {'ok' if ok else 'MISSED'}")
print(f"{'mura (--cache memory, epoch 2) / peer':44s} {mura_mem2 / peer:9.2f}x")
print(f"{'mura (--cache memory, epoch 2) / tuned peer':44s} {mura_mem2 / tuned:9.2f}x")
over = 1 - mura_none / compute
ok = over <= 0.10
missed |= not ok
print(f"{'data-pipeline overhead (--cache none)':44s} {100 * over:9.1f}% {'<= 10%':>8s}  {'ok' if ok else 'MISSED'}")
print(f"{'data-pipeline overhead (--cache memory, ep. 2)':44s} {100 * (1 - mura_mem2 / compute):9.1f}%")
print("  (overhead = 1 - mura train images/s / compute-only images/s)")
if os.environ.get('WAITED_OUT'):
    print(f"WARNING: measured on a busy machine (load average above LOAD_MAX): {os.environ['WAITED_OUT']}")
sys.exit(1 if missed and os.environ.get('STRICT') == '1' else 0)
EOF
