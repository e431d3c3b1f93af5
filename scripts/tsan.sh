#!/usr/bin/env bash
# Builds the `tsan` preset (ThreadSanitizer, g++) into build-tsan/ and runs its tests.
#   scripts/tsan.sh [CTEST ARGS...]
# Debian's oneTBB is not instrumented: ThreadSanitizer cannot see the hand-offs inside it (a task
# built on one thread and run on another, a pipeline token passed between stages) and reports
# each as a race. So this first builds libtbb itself with -fsanitize=thread, from the Debian
# source of the installed version (apt-get source, with a private source list: the system's apt
# configuration is not touched), into build-tsan/onetbb/, where the preset finds it. Done once;
# later runs reuse it. tbbmalloc is left out on purpose: without it TBB allocates with malloc,
# which ThreadSanitizer tracks. The preset leaves out the tests labelled opencv_threads (OpenCV's
# own TBB code is not instrumented) and mpi (nor is Open MPI, whose progress threads it would
# report).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

deps=build-tsan/_deps
prefix=build-tsan/onetbb
if [ ! -f "$prefix/lib/cmake/TBB/TBBConfig.cmake" ]; then
  version=$(dpkg-query -W -f='${source:Version}' libtbb-dev)
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  rm -rf "$deps" && mkdir -p "$deps/apt/lists/partial" "$deps/apt/cache/archives/partial" "$deps/src"
  cat >"$deps/apt/sources.list" <<EOF
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
EOF
  apt=(-o Dir::Etc::SourceList="$PWD/$deps/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o Dir::State::Lists="$PWD/$deps/apt/lists" -o Dir::Cache="$PWD/$deps/apt/cache"
       -o APT::Sandbox::User="$(id -un)")
  echo "== oneTBB $version: source" >&2
  apt-get "${apt[@]}" -q update >/dev/null
  (cd "$deps/src" && apt-get "${apt[@]}" -q source "onetbb=$version" >/dev/null)
  src=$(find "$deps/src" -mindepth 1 -maxdepth 1 -type d -name 'onetbb-*' | head -n1)
  echo "== oneTBB $version: build with -fsanitize=thread" >&2
  cmake -S "$src" -B "$deps/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_INSTALL_PREFIX="$PWD/$prefix" -DTBB_SANITIZE=thread -DTBB_TEST=OFF \
    -DTBBMALLOC_BUILD=OFF -DTBB_STRICT=OFF -DTBB_ENABLE_IPO=OFF >/dev/null
  cmake --build "$deps/build" -j"$(nproc)"
  cmake --install "$deps/build" >/dev/null
  rm -rf "$deps"
fi

# -U TBB_DIR: a tree configured before the instrumented oneTBB existed finds it now.
cmake --preset tsan -U TBB_DIR >/dev/null
cmake --build --preset tsan -j"$(nproc)"
# The preset's TSAN_OPTIONS send every process's reports to build-tsan/tsan-report.<pid>, so a
# report from a forked worker or a spawned forkpool whose exit status no test checks still
# fails the run.
rm -f build-tsan/tsan-report.*
status=0
ctest --preset tsan -j"$(nproc)" "$@" || status=$?
if compgen -G 'build-tsan/tsan-report.*' >/dev/null; then
  cat build-tsan/tsan-report.* >&2
  echo "ThreadSanitizer reports: $(ls build-tsan/tsan-report.* | tr '\n' ' ')" >&2
  status=1
fi
exit $status
