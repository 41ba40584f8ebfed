#!/usr/bin/env bash
# Is bf16 safe? On real radiographs, for each data set: one model trained in fp32 and one in
# bf16 with the same recipe (both channels-last); each checkpoint is then evaluated on the
# official valid split with --precision fp32 and --precision bf16. Prints a table:
#   data set, trained in, AUROC (fp32 inference), AUROC (bf16 inference), |difference|
# Targets (issue 7): |bf16 - fp32| inference AUROC < 0.005 for the same checkpoint; the
# bf16-trained model's AUROC within the run-to-run noise of the fp32-trained one.
#
#   bash bench/precision_accuracy.sh BUILD_DIR
#
# Recipes: PneumoniaMNIST: ResNet-18 at 28 px, batch 64, 12 epochs, Adam 1e-3, BCE, plateau
# (the README's command). FracAtlas: ResNet-18 at 128 px, batch 32, Adam 1e-3 constant,
# weighted BCE, flip + rotation 10, 8 epochs, seed 1 (bench/fracatlas_compare.sh); last.ckpt.
# Environment: DATASETS ("pneumoniamnist fracatlas") OUT (keep runs there; default: a
#   temporary folder) MURA_PYTHON (/usr/bin/python3)
set -euo pipefail
[[ $# -eq 1 && "$1" != "-h" && "$1" != "--help" ]] || { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MURA="$(cd "$1" && pwd)/mura"
PY="${MURA_PYTHON:-/usr/bin/python3}"
DATA="$REPO_ROOT/../shared/data"
DATASETS="${DATASETS:-pneumoniamnist fracatlas}"
if [[ -n "${OUT:-}" ]]; then mkdir -p "$OUT"; TMP="$(cd "$OUT" && pwd)"; else
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-precision.XXXXXX")"; trap 'rm -rf "$TMP"' EXIT; fi
ROWS="$TMP/rows.txt"
: > "$ROWS"
for ds in $DATASETS; do
  case "$ds" in
    pneumoniamnist) recipe=(--model resnet18 --img-size 28 --batch-size 64 --epochs 12 --lr 1e-3 --loss bce
                            --scheduler plateau --patience 1 --val-source valid --cache memory --seed 1) ;;
    fracatlas) recipe=(--model resnet18 --img-size 128 --batch-size 32 --epochs 8 --lr 1e-3 --loss weighted-bce
                       --scheduler none --rotate 10 --val-source valid --cache memory --seed 1) ;;
    *) echo "precision_accuracy: unknown data set $ds" >&2; exit 2 ;;
  esac
  for trained in fp32 bf16; do
    run="$TMP/$ds-$trained"
    if [[ ! -f "$run/last.ckpt" ]]; then
      echo "# $ds: training in $trained" >&2
      start=$SECONDS
      "$MURA" train --data-dir "$DATA/$ds" "${recipe[@]}" --precision "$trained" --no-progress \
        --output-dir "$run" --overwrite >&2
      echo "# $ds $trained training: $((SECONDS - start)) s" >&2
    fi
    aucs=()
    for inferred in fp32 bf16; do
      "$MURA" evaluate --data-dir "$DATA/$ds" --checkpoint "$run/last.ckpt" --split valid --bootstrap 0 \
        --precision "$inferred" --output-dir "$run/eval-$inferred" > /dev/null
      aucs+=("$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["study"]["auroc"]["value"])' \
                 "$run/eval-$inferred/metrics.json")")
    done
    echo "$ds $trained ${aucs[0]} ${aucs[1]}" >> "$ROWS"
  done
done
"$PY" - "$ROWS" <<'PYEOF'
import sys
print("%-16s %-10s %14s %14s %12s" % ("data set", "trained in", "AUROC fp32 inf", "AUROC bf16 inf", "|diff|"))
for line in open(sys.argv[1]):
    ds, trained, a, b = line.split()
    a, b = float(a), float(b)
    print("%-16s %-10s %14.4f %14.4f %12.4f  %s" % (ds, trained, a, b, abs(a - b), "ok" if abs(a - b) < 0.005 else "MISSED (< 0.005)"))
PYEOF
