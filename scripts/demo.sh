#!/usr/bin/env bash
# Installs what is missing, builds, and runs forkpool's main job on the sample data: every image
# in data/images resized to fit 800x800 and sharpened, written to out/images.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
build/apps/forkpool images data/images out/images -r --op 'resize=800x800>' --op sharpen --overwrite "$@"
