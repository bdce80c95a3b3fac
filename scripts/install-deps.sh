#!/usr/bin/env bash
# Installs every Debian package dnd needs to build, test and run. Idempotent: when all
# packages are present it changes nothing and takes about a second.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libtorch-dev
  libopenblas0-openmp
  libyaml-cpp-dev libcli11-dev libfmt-dev libgtest-dev nlohmann-json3-dev
  ccache  # rebuilds in other clones of the repository are cheap
  strace  # the CLI tests check that saves sync their files
  clang-format  # the format_check test (scripts/format.sh --check)
  groff-base man-db bsdextrautils zsh  # the CLI tests render the manual page (man, col) and check the zsh completion
  # The job tests start a private single-node Slurm (not the slurm-wlm metapackage,
  # whose recommends pull in ~30 more packages).
  slurmctld slurmd slurm-client munge
  python3-h5py python3-numpy  # the I/O tests write their fixture files with h5py/numpy
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
