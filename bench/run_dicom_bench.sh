#!/usr/bin/env bash
# DICOM decoding throughput: mura against the Python peer a pydicom/MONAI user has, on the
# same images as PNG, as uncompressed DICOM and as JPEG 2000 DICOM, in one run; prints a table
# with the ratios.
#
#   bash bench/run_dicom_bench.sh BUILD_DIR [IMAGE_DIR]
#
# IMAGE_DIR defaults to ../shared/data/fracatlas next to the repository. The DICOM files are
# written from its first COUNT images (CR-like: MONOCHROME1, 12 of 16 bits with the high bits
# set, rescale, two windows; JPEG 2000 by gdcmconv) into a temporary folder.
# Environment: COUNT (200) SIZE (224) THREADS (1 and 2: both sides, one after the other)
#   REPEATS (3, best kept) MURA_PYTHON (/usr/bin/python3: torch, torchvision, pydicom, PIL)
#   STRICT=1: exit 1 when a target is missed.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && exit 0 || exit 2
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$1" && pwd)"
BENCH="$BUILD_DIR/mura_bench_dicom"
PY="${MURA_PYTHON:-/usr/bin/python3}"
PEER="$REPO_ROOT/bench/peer/dicom_peer.py"
COUNT="${COUNT:-200}" SIZE="${SIZE:-224}" REPEATS="${REPEATS:-3}" THREADS="${THREADS:-1 2}"
IMAGES="${2:-$REPO_ROOT/../shared/data/fracatlas}"

[[ -x "$BENCH" ]] || { echo "run_dicom_bench: $BENCH not built (cmake --build $1 --target mura_bench_dicom)" >&2; exit 1; }
[[ -d "$IMAGES" ]] || { echo "run_dicom_bench: no image folder $IMAGES" >&2; exit 1; }
"$PY" -c 'import torch, torchvision, pydicom, PIL' 2>/dev/null ||
  { echo "run_dicom_bench: $PY lacks torch/torchvision/pydicom/PIL (set MURA_PYTHON)" >&2; exit 1; }
command -v gdcmconv > /dev/null || { echo "run_dicom_bench: no gdcmconv (libgdcm-tools)" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-dicom-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
"$PY" "$PEER" make --from "$IMAGES" --count "$COUNT" --out "$TMP"
cat "$TMP"/png.txt "$TMP"/raw.txt "$TMP"/j2k.txt | tr '\n' '\0' | xargs -0 cat > /dev/null

RESULTS="$TMP/results.jsonl"
for t in $THREADS; do
  for label in png raw j2k; do
    echo "# $label, $t thread(s): peer, then mura" >&2
    "$PY" "$PEER" run --list "$TMP/$label.txt" --label "$label" --size "$SIZE" --workers "$t" \
      --repeats "$REPEATS" | tee -a "$RESULTS" >&2
    "$BENCH" --list "$TMP/$label.txt" --label "$label" --size "$SIZE" --threads "$t" \
      --repeats "$REPEATS" | tee -a "$RESULTS" >&2
  done
done

STRICT="${STRICT:-0}" "$PY" - "$RESULTS" "$(nproc)" <<'PYEOF'
import json, os, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
r = {(x['impl'], x['label'], x['threads']): x['images_per_s'] for x in rows}
names = {'png': 'PNG', 'raw': 'DICOM uncompressed', 'j2k': 'DICOM JPEG 2000'}
print(f"\n{len(rows) and rows[0]['images']} images, {sys.argv[2]} cores")
print(f"{'files':20s} {'threads':>7s} {'peer img/s':>11s} {'mura img/s':>11s} {'ratio':>7s} {'target':>7s}")
missed = False
for (impl, label, t) in sorted(k for k in r if k[0] == 'mura'):
    peer, mura = r.get(('peer', label, t), float('nan')), r[(impl, label, t)]
    target = 3.0 if label != 'png' else None
    ok = target is None or mura / peer >= target
    missed |= not ok
    print(f"{names[label]:20s} {t:7d} {peer:11.1f} {mura:11.1f} {mura / peer:6.2f}x "
          f"{'>= 3x' if target else '':>7s}  {'' if target is None else 'ok' if ok else 'MISSED'}")
for t in sorted({k[2] for k in r}):
    png = r.get(('mura', 'png', t))
    if png:
        print(f"mura, {t} thread(s): DICOM uncompressed / PNG {r[('mura', 'raw', t)] / png:.2f}x,"
              f" JPEG 2000 / PNG {r[('mura', 'j2k', t)] / png:.2f}x")
sys.exit(1 if missed and os.environ.get('STRICT') == '1' else 0)
PYEOF
