#!/usr/bin/env bash
# Import speed of a ResNet-50 .pth (about 100 MB): mura's native reader vs Python's
# torch.load + load_state_dict, in the zip and the legacy format, in one run.
#   bash bench/run_pth_import_bench.sh BUILD_DIR
set -euo pipefail
BUILD_DIR="$(cd "$1" && pwd)"
PY="${MURA_PYTHON:-/usr/bin/python3}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/mura-pth-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
"$PY" - "$TMP" <<'PYEOF'
import sys, time, torch, torchvision
d = sys.argv[1]
torch.manual_seed(0)
m = torchvision.models.resnet50(weights=None)
torch.save(m.state_dict(), d + "/resnet50.zip.pth")
torch.save(m.state_dict(), d + "/resnet50.legacy.pth", _use_new_zipfile_serialization=False)
for fmt in ("zip", "legacy"):
    best_read = best_total = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        sd = torch.load(d + "/resnet50.%s.pth" % fmt)
        t1 = time.perf_counter()
        m.load_state_dict(sd)
        t2 = time.perf_counter()
        best_read, best_total = min(best_read, t1 - t0), min(best_total, t2 - t0)
    print('{"impl":"python","format":"%s","read_s":%.4f,"read_and_load_s":%.4f}' % (fmt, best_read, best_total))
PYEOF
for fmt in zip legacy; do
  "$BUILD_DIR/mura_bench_pth_import" "$TMP/resnet50.$fmt.pth" resnet50 5
done
