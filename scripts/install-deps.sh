#!/usr/bin/env bash
# Installs the Debian 12 packages forkpool needs to build and test, and nothing when all are
# present. Needs root (or sudo) only when something is missing.
set -euo pipefail

# libopenblas-serial-dev: forkpool's matrix tiles run on the single-threaded OpenBLAS (no BLAS
# thread pool in a forked worker). libopenblas0-pthread: numpy's BLAS for bench/matmul.py; without
# it Debian's numpy falls back to the reference BLAS and the comparison would be meaningless.
# liblcms2-dev, libexiv2-dev: colour profiles and metadata of `forkpool images`; libjpeg-dev: its
# JPEG encoder where OpenCV cannot set the chroma subsampling.
# libopenmpi-dev + openmpi-bin: the mpi backend (FORKPOOL_WITH_MPI) and its tests under mpirun.
# clang-19 + libclang-rt-19-dev: the `fuzz` preset (libFuzzer; Debian's default clang 14 lacks
# std::expected). help2man: the man pages, made from --help at build time; bash-completion: the
# completion test loads it.
packages=(
  build-essential cmake pkg-config
  libopencv-dev liblcms2-dev libexiv2-dev zlib1g-dev libjpeg-dev libeigen3-dev libtbb-dev libgtest-dev libbenchmark-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libopenblas-serial-dev
  help2man bash-completion
  libopenmpi-dev openmpi-bin
  python3 python3-numpy libopenblas0-pthread gnuplot-nox
  clang-19 libclang-rt-19-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
