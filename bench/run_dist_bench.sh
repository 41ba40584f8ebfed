#!/usr/bin/env bash
# Data-parallel scaling on this machine and on paper.
#
#   bash bench/run_dist_bench.sh BUILD_DIR
#
# 1. The same training (ResNet-18 by default, `mura synth` data, fp32, cache warm in the
#    measured epoch) as 1 process x all cores and as N processes x (cores / N) threads under
#    Debian's torchrun on loopback: images/s of the second epoch, and the share of the
#    training time the processes waited for gradient all-reduces (mura's own count).
# 2. A projection for k machines: the bytes one step all-reduces for ResNet-50 and
#    DenseNet-169 (1-output heads, fp32 gradients), a ring all-reduce's cost
#    2 (k-1)/k * bytes / bandwidth at 10 and 100 Gbit/s, against the compute time of one
#    step measured here (batch BATCH2 at 224 px, one process): where communication starts
#    to dominate.
#
# Environment: ARCH (resnet18) SIZE (128) BATCH (32) NPROC (2) PATIENTS (120)
#   BATCH2 (16) PROJECT (1: part 2; 0 skips it) MURA_PYTHON (/usr/bin/python3)
set -euo pipefail
[[ $# -eq 1 && "$1" != -h && "$1" != --help ]] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
BUILD_DIR="$(cd "$1" && pwd)"
MURA="$BUILD_DIR/mura"
PY="${MURA_PYTHON:-/usr/bin/python3}"
ARCH="${ARCH:-resnet18}" SIZE="${SIZE:-128}" BATCH="${BATCH:-32}" NPROC="${NPROC:-2}"
PATIENTS="${PATIENTS:-120}" BATCH2="${BATCH2:-16}" PROJECT="${PROJECT:-1}"
CORES="$(nproc)"
command -v torchrun > /dev/null || { echo "run_dist_bench: no torchrun (python3-torch)" >&2; exit 1; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-dist-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

"$MURA" synth --output-dir "$TMP/MURA-synth" --patients "$PATIENTS" --seed 1 --quiet
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
train_args() {  # OUT THREADS
  echo "train --data_dir $TMP/MURA-synth --model $ARCH --img_size $SIZE --batch_size $BATCH" \
       "--epochs 2 --val-split 0.2 --precision fp32 --cache memory --workers 1 --threads $2" \
       "--no-progress --output_dir $1"
}
# images/s of the last epoch in metrics.jsonl
rate() { "$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["images_per_s"])' "$1/metrics.jsonl"; }

echo "# 1 process x $CORES threads" >&2
# shellcheck disable=SC2046
"$MURA" $(train_args "$TMP/one" "$CORES") > "$TMP/one.log" 2>&1
echo "# $NPROC processes x $((CORES / NPROC)) thread(s), torchrun" >&2
# shellcheck disable=SC2046
torchrun --no_python --nproc_per_node "$NPROC" -r 9:1 -t 9:1 --master_addr 127.0.0.1 \
  --master_port "$(port)" "$MURA" $(train_args "$TMP/many" "$((CORES / NPROC))") > "$TMP/many.log" 2>&1
one="$(rate "$TMP/one")" many="$(rate "$TMP/many")"
share="$(grep -o 'waited for gradient all-reduces ([0-9.]*%' "$TMP/many.log" | grep -o '[0-9.]*%' || echo '?')"
bytes="$(grep -o '[0-9.]* MB all-reduced per step' "$TMP/many.log" | head -1 || echo '?')"
echo
echo "$ARCH, $SIZE px, global batch $BATCH, fp32, $CORES cores, second epoch (cache warm)"
printf '%-34s %12s\n' "layout" "images/s"
printf '%-34s %12.1f\n' "1 process x $CORES threads" "$one"
printf '%-34s %12.1f   (%s of training waiting for all-reduces; %s)\n' \
  "$NPROC processes x $((CORES / NPROC)) thread(s)" "$many" "$share" "$bytes"
"$PY" -c "import sys; print(f'ratio {float(sys.argv[2])/float(sys.argv[1]):.2f}x')" "$one" "$many"

[[ "$PROJECT" == 1 ]] || exit 0
echo
echo "# projection: one process per machine, ring all-reduce of fp32 gradients each step" >&2
for arch in resnet50 densenet169; do
  # compute time of one step here: 3 steps of one process, batch BATCH2 at 224 px
  "$MURA" train --data_dir "$TMP/MURA-synth" --model "$arch" --img_size 224 \
    --batch_size "$BATCH2" --epochs 1 --max-steps 3 --val-split 0.2 --precision fp32 \
    --cache memory --workers 1 --threads "$CORES" --no-progress --output_dir "$TMP/p-$arch" \
    > "$TMP/p-$arch.log" 2>&1
  echo "$arch $(rate "$TMP/p-$arch")"
done > "$TMP/steps.txt"
"$PY" - "$TMP/steps.txt" "$BATCH2" "$CORES" <<'PYEOF'
import sys, torchvision
rates = dict(line.split() for line in open(sys.argv[1]))
batch, cores = int(sys.argv[2]), sys.argv[3]
print(f"{'model':12s} {'MB/step':>8s} {'step here':>10s}   ring all-reduce per step (k machines)")
print(f"{'':12s} {'':>8s} {'(s)':>10s}   {'k=2 10G':>8s} {'k=8 10G':>8s} {'k=8 100G':>9s} {'k=64 100G':>10s}")
for arch in ("resnet50", "densenet169"):
    m = getattr(torchvision.models, arch)(num_classes=1)
    nbytes = 4 * sum(p.numel() for p in m.parameters())
    step = batch / float(rates[arch])
    def ring(k, gbit):
        return 2 * (k - 1) / k * nbytes / (gbit * 1e9 / 8)
    cells = [ring(2, 10), ring(8, 10), ring(8, 100), ring(64, 100)]
    print(f"{arch:12s} {nbytes / 1e6:8.1f} {step:10.2f}   " +
          " ".join(f"{c:8.3f}s" for c in cells))
print(f"(step here: one process, {cores} CPU cores, batch {batch}, 224 px; a GPU step is ~100x shorter,")
print(" so communication dominates once the ring time approaches it: compare the columns)")
PYEOF
