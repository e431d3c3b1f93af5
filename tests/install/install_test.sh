#!/usr/bin/env bash
# Installs the build into a temporary prefix, then configures, builds and runs a separate
# project that finds it with find_package(forkpool COMPONENTS lib) and links forkpool::lib: its
# own check, and the complete example of docs/library.md, taken out of that page, on every
# backend. That project sets no C++ standard (forkpool::lib must bring C++23) and is configured
# with OpenCV made unfindable (the lib component must not need it). Where forkpool was built
# with images, the images component is found with OpenCV and refused, saying why, without.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(cd "$source_dir/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/forkpool"
"$work/prefix/bin/forkpool" --version
# The images commands are a module the installed binary finds in its library folder.
if [ -n "$(find "$work/prefix" -name forkpool-images.so)" ]; then
  "$work/prefix/bin/forkpool" images --help >/dev/null
fi
test -f "$work/prefix/share/bash-completion/completions/forkpool"
if command -v help2man >/dev/null; then
  for page in forkpool forkpool-matmul forkpool-ipc-bench; do
    test -s "$work/prefix/share/man/man1/$page.1" || { echo "man page $page.1 not installed" >&2; exit 1; }
  done
fi

# The first ```cpp block after the example's marker, as it stands in the page.
example="$work/library_example.cpp"
awk '/<!-- example: library_example.cpp -->/ { found = 1; next }
     found && !inside && /^```cpp/ { inside = 1; next }
     inside && /^```/ { exit }
     inside { print }' "$repo_dir/docs/library.md" >"$example"
if [ ! -s "$example" ]; then
  echo "docs/library.md: no example after <!-- example: library_example.cpp -->" >&2
  exit 1
fi

cmake -S "$source_dir/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release -DFORKPOOL_LIBRARY_EXAMPLE="$example" \
  -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
for backend in serial threads processes; do
  "$work/build/library_example" "$backend"
done

if [ -n "$(find "$work/prefix" -name forkpoolImagesTargets.cmake)" ]; then
  cmake -S "$source_dir/images_consumer" -B "$work/images" -DCMAKE_PREFIX_PATH="$work/prefix" \
    >/dev/null
  if cmake -S "$source_dir/images_consumer" -B "$work/images-no-opencv" \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON \
      >"$work/no-opencv.log" 2>&1; then
    echo "find_package(forkpool COMPONENTS images) succeeded without OpenCV" >&2
    exit 1
  fi
  if ! grep -q OpenCV "$work/no-opencv.log"; then
    echo "find_package(forkpool COMPONENTS images) failed without naming OpenCV:" >&2
    cat "$work/no-opencv.log" >&2
    exit 1
  fi
fi
echo "install: ok"
