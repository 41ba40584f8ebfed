#!/usr/bin/env bash
# Screenshot of an HTML report with headless Chromium (as docs/report.png was made):
#   bash scripts/screenshot-report.sh demo/report.html docs/report.png [1280,2400]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
  exit 2
fi
html=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1280,2400}
chromium=${MURA_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chromium" ]; then
  echo "screenshot-report: no Chromium; run scripts/install-deps.sh" >&2
  exit 1
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$chromium" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions --hide-scrollbars \
  --proxy-server=127.0.0.1:9 --user-data-dir="$profile" --window-size="$size" --screenshot="$out" \
  "file://$html" 2>/dev/null
echo "screenshot-report: $out"
