#!/usr/bin/env bash
# `mura predict` on a folder (its defaults: --precision auto, channels-last, folded
# BatchNorm) against the seeds' Python inference loop (fp32) and the same loop tuned (bf16
# autocast + channels-last + inference_mode), same files, architecture, weights, size, batch
# and threads, in one run.
#   bash bench/run_predict_bench.sh BUILD_DIR [DATA_DIR]
# Environment: ARCH (densenet169) SIZE (224) BATCH (16) N (300 images) THREADS (nproc)
#   WORKERS (2: loader threads / DataLoader processes on both sides) PRECISION (auto)
set -euo pipefail
BUILD_DIR="$(cd "$1" && pwd)"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="${MURA_PYTHON:-/usr/bin/python3}"
ARCH="${ARCH:-densenet169}" SIZE="${SIZE:-224}" BATCH="${BATCH:-16}" N="${N:-300}" THREADS="${THREADS:-$(nproc)}"
WORKERS="${WORKERS:-2}" PRECISION="${PRECISION:-auto}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-predict-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
DATA="${2:-$REPO/../shared/data/fracatlas}"
if [[ ! -d "$DATA" ]]; then
  "$BUILD_DIR/mura" synth --output-dir "$TMP/MURA-synth" --patients 200 >&2
  DATA="$TMP/MURA-synth"
fi
# the same N images, in one folder of links, for both sides
mkdir -p "$TMP/images"
find "$DATA" -name '*.png' | sort > "$TMP/all.txt"   # (no head in the pipe: pipefail + SIGPIPE)
head -n "$N" "$TMP/all.txt" > "$TMP/list.txt"
i=0; while read -r f; do ln -s "$f" "$TMP/images/$(printf '%05d' $i).png"; i=$((i+1)); done < "$TMP/list.txt"
cat $(cat "$TMP/list.txt") > /dev/null   # warm the page cache
"$PY" "$REPO/bench/peer/write_weights.py" "$ARCH" "$TMP/w.pth"
"$BUILD_DIR/mura" convert-weights --input "$TMP/w.pth" --output "$TMP/w.ckpt" --img-size "$SIZE" >&2
echo "# $N images from $DATA, $ARCH at $SIZE px, batch $BATCH, $THREADS threads" >&2
peer=$("$PY" "$REPO/bench/peer/predict_peer.py" --list "$TMP/list.txt" --weights "$TMP/w.pth" --arch "$ARCH" \
  --img-size "$SIZE" --batch-size "$BATCH" --threads "$THREADS" --workers "$WORKERS")
echo "$peer"
tuned=$("$PY" "$REPO/bench/peer/predict_peer.py" --list "$TMP/list.txt" --weights "$TMP/w.pth" --arch "$ARCH" \
  --img-size "$SIZE" --batch-size "$BATCH" --threads "$THREADS" --workers "$WORKERS" --tuned)
echo "$tuned"
t0=$(date +%s.%N)
"$BUILD_DIR/mura" predict "$TMP/images" --checkpoint "$TMP/w.ckpt" --batch-size "$BATCH" \
  --threads "$THREADS" --workers "$WORKERS" --precision "$PRECISION" --csv "$TMP/mura.csv" > /dev/null 2> "$TMP/mura.err"
t1=$(date +%s.%N)
"$PY" - "$peer" "$tuned" "$t0" "$t1" "$N" "$PRECISION" <<'PYEOF'
import json, sys
peer, tuned = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t0, t1, n, precision = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
mura = n / (t1 - t0)
print(json.dumps({"impl": "mura", "precision": precision, "images": n, "seconds": round(t1 - t0, 3),
                  "images_per_s": round(mura, 2),
                  "note": "whole command: start-up, checkpoint load, decode, inference, CSV"}))
print()
print("%-48s %10s" % ("inference on a folder", "images/s"))
print("%-48s %10.1f" % ("peer (PIL + DataLoader, fp32)", peer["images_per_s"]))
print("%-48s %10.1f" % ("tuned peer (+ bf16 autocast, channels-last)", tuned["images_per_s"]))
print("%-48s %10.1f" % ("mura predict --precision %s (whole command)" % precision, mura))
print()
for name, r, target in [("mura / peer", mura / peer["images_per_s"], 4.0),
                        ("mura / tuned peer", mura / tuned["images_per_s"], 1.3)]:
    print("%-48s %9.2fx  >= %.1fx  %s" % (name, r, target, "ok" if r >= target else "MISSED"))
PYEOF
