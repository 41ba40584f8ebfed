#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking mura needs.
# Idempotent: packages already present are not reinstalled; apt is only touched when
# something is missing. Uses sudo when not run as root.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang-format
  # ccache: a fresh clone (CI) reuses the objects an earlier clone compiled (CMakeLists.txt)
  ccache
  # the fuzz harnesses (`make fuzz`): clang with libFuzzer, ASan and UBSan; zlib (DICOM deflate)
  clang libfuzzer-14-dev zlib1g-dev
  # libraries (each one used: CMakeLists.txt finds every one of them)
  libtorch-dev libopencv-dev libcli11-dev nlohmann-json3-dev libgtest-dev
  # DICOM decoding (GDCM: every transfer syntax; JPEG 2000 with OpenJPEG, which mura calls
  # itself: data/dicom_j2k.cpp)
  libgdcm-dev libopenjp2-7-dev
  # HTTP for `mura serve` (cpp-httplib 0.11.4, hardened in src/mura/serve/http.cpp)
  libcpp-httplib-dev
  # data-parallel training on c10d: libtorch-dev carries ProcessGroupGloo, libgloo-dev its
  # headers; the tests launch with torchrun (python3-torch), the failure tests use procps
  libgloo-dev procps
  # test oracles and the benchmark peer (never runtime dependencies of mura)
  python3 python3-torch python3-torchvision python3-sklearn python3-scipy python3-numpy python3-pil
  # DICOM references: pydicom (and its real test files), DCMTK's dcm2pnm, GDCM's gdcmconv
  python3-pydicom dcmtk libgdcm-tools
  # the service's load test and its Python peer (FastAPI + uvicorn)
  hey curl python3-fastapi uvicorn python3-multipart
  # the HTML report's and the service page's end-to-end tests open them in headless Chromium
  # (the page through playwright-core from npm: Node >= 20 and npm, see npm_deps below)
  chromium nodejs
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The browser tests' npm packages (tests/browser/package-lock.json pins them), installed
# when Node >= 20 and npm are there; the tests say why they skip otherwise.
npm_deps() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
  if [ -d "$dir/node_modules/playwright-core" ]; then return 0; fi
  if ! command -v npm > /dev/null || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "install-deps: no Node >= 20 with npm: the browser test of the service page will skip"
    return 0
  fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "install-deps: npm ci failed in $dir: the browser test of the service page will skip"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  npm_deps
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
npm_deps
