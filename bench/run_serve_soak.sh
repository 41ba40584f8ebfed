#!/usr/bin/env bash
# The service soak (a bench, not a test): `mura serve` on loopback under a steady mix of good
# and bad uploads for SOAK_SECONDS (default 1800 = 30 minutes) at moderate concurrency, then
# one table: requests, good failures, bad answers by status, RSS first/last/peak, and p50/p99
# of the first and the last five minutes. Exit 1 when a good request failed, a bad one got
# anything but a 4xx, RSS grew past RSS_BOUND_MB (default 64) after the first five minutes,
# or the last five minutes' p99 is over 1.5x the first's.
#
#   bash bench/run_serve_soak.sh BUILD_DIR
#
# Environment: SOAK_SECONDS (1800) C (concurrency, 4) THREADS (the service's compute
#   threads, 1) ARCH (resnet18) SIZE (224) RSS_BOUND_MB (64) MURA_PYTHON (/usr/bin/python3)
set -euo pipefail
[[ $# -eq 1 && "$1" != -h && "$1" != --help ]] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$1" && pwd)"
PY="${MURA_PYTHON:-/usr/bin/python3}"
ARCH="${ARCH:-resnet18}" SIZE="${SIZE:-224}" THREADS="${THREADS:-1}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-soak.XXXXXX")"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

# Inputs: real radiographs when ../shared is there (else synthetic ones), one as DICOM too.
mapfile -t IMAGES < <(find "$REPO/../shared/data/fracatlas" -name '*.png' 2>/dev/null | sort | head -n 20 || true)
if [[ ${#IMAGES[@]} -eq 0 ]]; then
  "$BUILD_DIR/mura" synth --output-dir "$TMP/synth" --patients 8 --quiet >&2
  mapfile -t IMAGES < <(find "$TMP/synth" -name '*.png' | sort | head -n 20)
fi
"$PY" "$REPO/bench/peer/write_weights.py" "$ARCH" "$TMP/w.pth"
"$BUILD_DIR/mura" convert-weights --input "$TMP/w.pth" --output "$TMP/w.ckpt" --img-size "$SIZE" --quiet >&2
"$BUILD_DIR/mura" serve --checkpoint "$TMP/w.ckpt" --port 0 --threads "$THREADS" --no-progress \
  > "$TMP/serve.log" 2>&1 & pid=$!
for _ in $(seq 1 600); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$TMP/serve.log" | head -n 1 || true)
  [[ -n "$url" ]] && curl -sf "${url}v2/health/ready" > /dev/null 2>&1 && break
  sleep 0.2
done
[[ -n "${url:-}" ]] || { cat "$TMP/serve.log" >&2; echo "run_serve_soak: the service never came up" >&2; exit 1; }
echo "# soak: $ARCH at $SIZE px, ${SOAK_SECONDS:-1800} s, concurrency ${C:-4}, $THREADS compute thread(s), ${#IMAGES[@]} images, $url" >&2
"$PY" "$REPO/bench/peer/soak_driver.py" --url "$url" --pid "$pid" --seconds "${SOAK_SECONDS:-1800}" \
  --concurrency "${C:-4}" --rss-bound-mb "${RSS_BOUND_MB:-64}" "${IMAGES[@]}"
