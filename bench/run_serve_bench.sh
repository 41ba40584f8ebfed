#!/usr/bin/env bash
# `mura serve` under load against the Python service a user would write (FastAPI + uvicorn +
# torchvision, the seeds' preprocessing, one forward per request): same weights, model, size,
# machine and image, loopback only, one after the other, driven by `hey` (Debian's package).
# Also mura with --max-batch 1, to show what dynamic batching buys, and mura in fp32 (the
# peer's precision; mura's default is bf16 where the CPU has it).
#
#   bash bench/run_serve_bench.sh BUILD_DIR
#
# Environment: ARCH (densenet169) SIZE (224) N (requests per run, 400) C (concurrency, 8)
#   THREADS (compute threads for both, all cores) MURA_PYTHON (/usr/bin/python3)
set -euo pipefail
[[ $# -eq 1 && "$1" != -h && "$1" != --help ]] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$1" && pwd)"
PY="${MURA_PYTHON:-/usr/bin/python3}"
ARCH="${ARCH:-densenet169}" SIZE="${SIZE:-224}" N="${N:-400}" C="${C:-8}" THREADS="${THREADS:-$(nproc)}"
command -v hey > /dev/null || { echo "run_serve_bench: no hey (apt-get install hey)" >&2; exit 1; }
"$PY" -c 'import fastapi, uvicorn, torchvision' 2>/dev/null ||
  { echo "run_serve_bench: $PY lacks fastapi/uvicorn/torchvision" >&2; exit 1; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-serve-bench.XXXXXX")"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

IMAGE="$(find "$REPO/../shared/data/fracatlas" -name '*.png' 2>/dev/null | sort | head -n 1 || true)"
if [[ -z "$IMAGE" ]]; then
  "$BUILD_DIR/mura" synth --output-dir "$TMP/synth" --patients 4 --quiet >&2
  IMAGE="$(find "$TMP/synth" -name '*.png' | sort | head -n 1)"
fi
"$PY" "$REPO/bench/peer/write_weights.py" "$ARCH" "$TMP/w.pth"
"$BUILD_DIR/mura" convert-weights --input "$TMP/w.pth" --output "$TMP/w.ckpt" --img-size "$SIZE" --quiet >&2

wait_up() {  # URL
  for _ in $(seq 1 600); do curl -sf "$1" > /dev/null 2>&1 && return 0; sleep 0.2; done
  echo "run_serve_bench: $1 never came up" >&2; exit 1
}
load() {  # NAME URL -> one JSON line from hey's CSV output
  hey -n 16 -c "$C" -m POST -T image/png -D "$IMAGE" "$2" > /dev/null  # warm
  hey -n "$N" -c "$C" -m POST -T image/png -D "$IMAGE" -o csv "$2" > "$TMP/$1.csv"
  "$PY" - "$1" "$TMP/$1.csv" <<'PYEOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[2])))
lat = sorted(float(r["response-time"]) for r in rows)
ok = sum(1 for r in rows if r["status-code"] == "200")
span = max(float(r["offset"]) + float(r["response-time"]) for r in rows)
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000
print(json.dumps({"name": sys.argv[1], "requests": len(rows), "ok": ok, "rps": len(rows) / span,
                  "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99)}))
PYEOF
}

echo "# $ARCH at $SIZE px, $N requests at concurrency $C, $THREADS threads, image $(basename "$IMAGE")" >&2
RESULTS="$TMP/results.jsonl"
OMP_NUM_THREADS="$THREADS" "$PY" "$REPO/bench/peer/serve_peer.py" --weights "$TMP/w.pth" --arch "$ARCH" \
  --img-size "$SIZE" --port 18090 --threads "$THREADS" & pids+=($!)
wait_up http://127.0.0.1:18090/health
load peer http://127.0.0.1:18090/predict | tee -a "$RESULTS" >&2
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
for config in 8:auto 1:auto 8:fp32; do
  mb="${config%%:*}" precision="${config##*:}"
  "$BUILD_DIR/mura" serve --checkpoint "$TMP/w.ckpt" --port 18091 --threads "$THREADS" --max-batch "$mb" \
    --precision "$precision" --quiet > /dev/null 2>&1 & pids+=($!)
  wait_up http://127.0.0.1:18091/v2/health/ready
  name="mura-max-batch-$mb"
  [[ "$precision" == fp32 ]] && name="mura-max-batch-$mb-fp32"
  load "$name" http://127.0.0.1:18091/predict | tee -a "$RESULTS" >&2
  kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

"$PY" - "$RESULTS" <<'PYEOF'
import json, sys
r = {x["name"]: x for x in map(json.loads, open(sys.argv[1]))}
print(f"\n{'service':22s} {'ok':>6s} {'req/s':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}")
for k in ("peer", "mura-max-batch-8", "mura-max-batch-1", "mura-max-batch-8-fp32"):
    x = r[k]
    print(f"{k:22s} {x['ok']:6d} {x['rps']:8.2f} {x['p50_ms']:8.1f} {x['p95_ms']:8.1f} {x['p99_ms']:8.1f}")
m, p, one = r["mura-max-batch-8"], r["peer"], r["mura-max-batch-1"]
print(f"\nmura / peer throughput {m['rps'] / p['rps']:.2f}x (target >= 2x), "
      f"p99 {m['p99_ms']:.0f} vs {p['p99_ms']:.0f} ms (target: no worse)")
print(f"batching: max-batch 8 / max-batch 1 throughput {m['rps'] / one['rps']:.2f}x")
f = r["mura-max-batch-8-fp32"]
print(f"like for like (fp32 both): mura / peer throughput {f['rps'] / p['rps']:.2f}x, "
      f"p99 {f['p99_ms']:.0f} vs {p['p99_ms']:.0f} ms")
PYEOF
