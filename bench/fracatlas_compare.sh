#!/usr/bin/env bash
# Accuracy on real radiographs: `mura train` and the Python peer (bench/peer/train_peer.py,
# the seeds' pipeline) train the same recipe for the same number of steps on FracAtlas, and
# both final models are scored on its official valid split (409 images, one per study, so
# study AUROC = image AUROC). Prints both AUROCs, mura's bootstrap 95% interval and the wall
# times.
#
#   bash bench/fracatlas_compare.sh BUILD_DIR [DATA_DIR]
#
# Recipe: ResNet-18 from scratch, 128 px, batch 32, Adam lr 1e-3 constant, the MURA paper's
# weighted BCE, flip + rotation 10, 8 epochs (FracAtlas: 1,962 train images = 62 steps an
# epoch), validation on the official valid split after every epoch. mura's last.ckpt is
# evaluated (the peer keeps no best checkpoint); mura's best.ckpt is reported for information.
# DATA_DIR defaults to ../shared/data/fracatlas next to the repository.
# Environment: SEEDS ("1"; e.g. "1 2" to see the run-to-run noise) EPOCHS (8) SIZE (128)
#   BATCH (32) LR (1e-3) ARCH (resnet18) THREADS (nproc) WORKERS (2) BOOTSTRAP (1000)
#   SIDES ("mura peer") OUT (keep the runs there; default: a temporary folder, deleted)
#   LOAD_MAX (0.7: before each run wait until the 1-minute load average is below this;
#   0 disables) LOAD_WAIT (900: seconds to wait at most) MURA_PYTHON (/usr/bin/python3)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && exit 0 || exit 2
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$1" && pwd)"
MURA="$BUILD_DIR/mura"
PY="${MURA_PYTHON:-/usr/bin/python3}"
PEER="$REPO_ROOT/bench/peer/train_peer.py"
DATA_DIR="$(cd "${2:-$REPO_ROOT/../shared/data/fracatlas}" && pwd)"
SEEDS="${SEEDS:-1}" EPOCHS="${EPOCHS:-8}" SIZE="${SIZE:-128}" BATCH="${BATCH:-32}" LR="${LR:-1e-3}"
ARCH="${ARCH:-resnet18}" THREADS="${THREADS:-$(nproc)}" WORKERS="${WORKERS:-2}"
BOOTSTRAP="${BOOTSTRAP:-1000}" SIDES="${SIDES:-mura peer}"
LOAD_MAX="${LOAD_MAX:-0.7}" LOAD_WAIT="${LOAD_WAIT:-900}"

[[ -x "$MURA" ]] || { echo "fracatlas_compare: $MURA not built (cmake --build $1)" >&2; exit 1; }
"$PY" -c 'import torch, torchvision, PIL, sklearn' 2>/dev/null ||
  { echo "fracatlas_compare: $PY lacks torch/torchvision/PIL/sklearn (set MURA_PYTHON)" >&2; exit 1; }
[[ -f "$DATA_DIR/valid_image_paths.csv" ]] ||
  { echo "fracatlas_compare: $DATA_DIR has no valid_image_paths.csv" >&2; exit 1; }

if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT"
  OUT="$(cd "$OUT" && pwd)"
else
  OUT="$(mktemp -d "${TMPDIR:-/tmp}/mura-fracatlas.XXXXXX")"
  trap 'rm -rf "$OUT"' EXIT
fi

wait_quiet() {
  [[ "$LOAD_MAX" == 0 ]] && return 0
  local start=$SECONDS load
  while true; do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    awk -v l="$load" -v m="$LOAD_MAX" 'BEGIN { exit !(l < m) }' && return 0
    if (( SECONDS - start >= LOAD_WAIT )); then
      echo "# WARNING: load average still $load after ${LOAD_WAIT}s; running $1 anyway" >&2
      echo "{\"busy\": \"$1\", \"load\": $load}" >> "$OUT/results.jsonl"
      return 0
    fi
    sleep 10
  done
}
now() { date +%s.%N; }

find "$DATA_DIR" -type f -iname '*.png' -print0 | xargs -0 cat > /dev/null  # warm the page cache
echo "# data: $DATA_DIR, $ARCH from scratch, size $SIZE, batch $BATCH, lr $LR, $EPOCHS epochs," \
     "seeds $SEEDS, threads $THREADS, workers $WORKERS; runs in $OUT" >&2

for seed in $SEEDS; do
  for side in $SIDES; do
    run="$OUT/$side-seed$seed"
    rm -rf "$run"
    wait_quiet "$side seed $seed"
    echo "# $side, seed $seed" >&2
    t0="$(now)"
    if [[ "$side" == mura ]]; then
      "$MURA" train --data-dir "$DATA_DIR" --model "$ARCH" --img-size "$SIZE" --batch-size "$BATCH" \
        --lr "$LR" --epochs "$EPOCHS" --loss weighted-bce --optimizer adam --scheduler none \
        --val-source valid --rotate 10 --cache memory --seed "$seed" --threads "$THREADS" \
        --workers "$WORKERS" --output-dir "$run" --no-progress >&2
      t1="$(now)"
      "$MURA" evaluate --data-dir "$DATA_DIR" --checkpoint "$run/last.ckpt" --split valid \
        --bootstrap "$BOOTSTRAP" --workers "$WORKERS" --output-dir "$run/eval" >&2
      t2="$(now)"
      # For information only (not timed): the best epoch by validation study AUROC.
      "$MURA" evaluate --data-dir "$DATA_DIR" --checkpoint "$run/best.ckpt" --split valid \
        --bootstrap 0 --workers "$WORKERS" --output-dir "$run/eval-best" > /dev/null
      "$PY" - "$run" "$seed" "$t0" "$t1" "$t2" >> "$OUT/results.jsonl" <<'EOF'
import json, sys
run, seed, t0, t1, t2 = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:6])
last = json.load(open(run + '/eval/metrics.json'))
best = json.load(open(run + '/eval-best/metrics.json'))
rows = [json.loads(l) for l in open(run + '/metrics.jsonl')]
ci = last.get('bootstrap', {}).get('study_auroc', {})
print(json.dumps({
    'side': 'mura', 'seed': seed, 'steps': rows[-1]['step'], 'epochs': len(rows),
    'image_auc': last['image']['auroc']['value'], 'study_auc': last['study']['auroc']['value'],
    'ci_lower': ci.get('lower'), 'ci_upper': ci.get('upper'),
    'best_epoch': max(rows, key=lambda r: r['val_study_auc'] or 0)['epoch'],
    'best_image_auc': best['image']['auroc']['value'], 'best_study_auc': best['study']['auroc']['value'],
    'train_s': t1 - t0, 'wall_s': t2 - t0,
    'epoch_study_auc': [r['val_study_auc'] for r in rows]}))
EOF
    else
      "$PY" "$PEER" --data-dir "$DATA_DIR" --arch "$ARCH" --img-size "$SIZE" --batch-size "$BATCH" \
        --lr "$LR" --epochs "$EPOCHS" --val-source valid --seed "$seed" --threads "$THREADS" \
        --workers "$WORKERS" --eval-every-epoch > "$run.jsonl"
      t1="$(now)"
      cat "$run.jsonl" >&2
      "$PY" - "$run.jsonl" "$seed" "$t0" "$t1" >> "$OUT/results.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
final = rows[-1]
print(json.dumps({
    'side': 'peer', 'seed': int(sys.argv[2]), 'steps': final['steps'], 'epochs': final['epochs'],
    'image_auc': final['val_image_auc'], 'study_auc': final['val_study_auc'],
    'train_s': float(sys.argv[4]) - float(sys.argv[3]), 'wall_s': float(sys.argv[4]) - float(sys.argv[3]),
    'epoch_study_auc': [r.get('val_study_auc') for r in rows if r['event'] == 'epoch']}))
EOF
    fi
    tail -n 1 "$OUT/results.jsonl" >&2
  done
done

"$PY" - "$OUT/results.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs = [r for r in rows if 'side' in r]
print()
print(f"{'run':14s} {'steps':>5s} {'image AUROC':>11s} {'study AUROC':>11s} {'95% CI (study)':>16s} "
      f"{'best.ckpt':>9s} {'wall s':>7s}")
for r in runs:
    ci = f"{r['ci_lower']:.3f}-{r['ci_upper']:.3f}" if r.get('ci_lower') is not None else ''
    best = f"{r['best_study_auc']:.4f}" if 'best_study_auc' in r else ''
    print(f"{r['side'] + ' seed ' + str(r['seed']):14s} {r['steps']:5d} {r['image_auc']:11.4f} "
          f"{r['study_auc']:11.4f} {ci:>16s} {best:>9s} {r['wall_s']:7.0f}")
print("  mura: last.ckpt, wall = train + evaluate (bootstrap); best.ckpt = its best epoch, for information")
print("  peer: the final model, wall = the whole script (training + per-epoch validation)")
for r in rows:
    if 'busy' in r:
        print(f"WARNING: {r['busy']} ran on a busy machine (load average {r['load']})")
EOF
