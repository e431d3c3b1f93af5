#!/usr/bin/env bash
# Builds the libFuzzer harnesses (the `fuzz` preset, clang 19) and runs each for SECONDS
# (default 60) on its seeds. A crash stops that harness and leaves the input in
# build-fuzz/artifacts/<name>/: copy it into tests/fuzz/<name>/regressions/ once fixed.
# New corpus entries go to build-fuzz/corpus/<name>/ (not committed: seeds stay small).
#   scripts/fuzz.sh [SECONDS] [NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
scripts/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in build-fuzz/tests/fuzz/fuzz_*; do names+=("$(basename "${f#*/fuzz_}")"); done
fi
status=0
for name in "${names[@]}"; do
  corpus=build-fuzz/corpus/$name artifacts=build-fuzz/artifacts/$name
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzz_$name: ${seconds}s" >&2
  # -rss_limit_mb: a parser that allocates what a header claims is a finding, not an OOM kill.
  if ! build-fuzz/tests/fuzz/fuzz_"$name" "$corpus" tests/fuzz/"$name"/seeds tests/fuzz/"$name"/regressions \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts/" \
      -print_final_stats=1 2>&1 | grep -E '(DONE|stat::|==[0-9]+==ERROR|SUMMARY|Test unit written)'; then
    :
  fi
  if [ -n "$(ls -A "$artifacts")" ]; then echo "fuzz_$name: crash inputs in $artifacts" >&2; status=1; fi
done
exit $status
