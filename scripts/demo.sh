#!/usr/bin/env bash
# Installs what is missing, builds, and runs forkpool's main job on the sample data: every image
# in data/images resized to fit 800x800 and sharpened, written to out/images. Says what it is
# doing at each step, since the first run installs and builds for several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*" >&2; }

step "1/3 Debian packages forkpool needs (scripts/install-deps.sh; only those missing)"
scripts/install-deps.sh
step "2/3 building build/apps/forkpool (a few minutes the first time; quick after that)"
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
step "3/3 forkpool images: resize to fit 800x800 and sharpen every image in data/images"
build/apps/forkpool images data/images out/images -r --op 'resize=800x800>' --op sharpen --overwrite "$@"

cat >&2 <<'DONE'

The outputs are in out/images. Next, try:
  build/apps/forkpool images data/images out/gray -r --op gray --backend threads -v
  build/apps/forkpool matmul --random 2048x2048x2048 --verify
  build/apps/forkpool ipc-bench --transport shm,pipe --sizes 64,1M
  build/apps/forkpool images --help     (man pages: cmake --install build, then man forkpool-images)
DONE
