#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking mura needs.
# Idempotent: packages already present are not reinstalled; apt is only touched when
# something is missing. Uses sudo when not run as root.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang-format
  # libraries (each one used: CMakeLists.txt finds every one of them)
  libtorch-dev libopencv-dev libcli11-dev nlohmann-json3-dev libgtest-dev
  # DICOM decoding (GDCM: every transfer syntax, JPEG 2000 through OpenJPEG)
  libgdcm-dev
  # test oracles and the benchmark peer (never runtime dependencies of mura)
  python3 python3-torch python3-torchvision python3-sklearn python3-numpy python3-pil
  # DICOM references: pydicom (and its real test files), DCMTK's dcm2pnm, GDCM's gdcmconv
  python3-pydicom dcmtk libgdcm-tools
  # the HTML report's end-to-end test opens the page in headless Chromium
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
