#!/usr/bin/env bash
# forkpool images side by side with what people use for the same job, in one run, on one
# folder, for one task: resize every photo to fit 1024x1024 (shrink only), JPEG quality 85.
#
#   bench/images.sh [--count N] [--size WxH] [--set DIR] [--jobs J] [--rounds R]
#
# The set (default 150 JPEGs of 5120x2880 in /tmp/forkpool-bench-images) is made by
# scripts/make-bench-images when missing. Peers, installed here from Debian when missing and
# skipped with a message when they cannot be: vipsthumbnail and mogrify under GNU parallel
# (-X: many files per process, one process per core), and Python multiprocessing.Pool + cv2.
# The set's photos carry an Adobe RGB profile and EXIF with GPS (from data/colour/adobe_rgb_gps.jpg),
# as camera photos do, and two more rows do the same task converting to sRGB with the metadata
# kept: forkpool --colorspace srgb, and vipsthumbnail --export-profile srgb under GNU parallel;
# the last line is their ratio.
# Each tool runs R times (default 1), in turn, and its fastest run counts. Prints seconds,
# images/s, CPU milliseconds per image (user + system of the tool and all its processes: the
# figure to trust when other work shares the machine) and how many times faster forkpool
# (processes) is than each.
set -euo pipefail
cd "$(dirname "$0")/.."

count=150 size=5120x2880 set=/tmp/forkpool-bench-images jobs=$(nproc) rounds=1
while (($#)); do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --set) set=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/images.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done

forkpool=${FORKPOOL:-build/apps/forkpool}
[[ -x "$forkpool" ]] || scripts/build.sh >/dev/null
have_set=0
[[ -d "$set" && -e "$set/.with-metadata" ]] && have_set=$(find "$set" -maxdepth 1 -name 'bench_*.jpg' | wc -l)
if [[ "$have_set" -ne "$count" ]]; then
  rm -rf "$set"
  scripts/make-bench-images "$set" -n "$count" --size "$size" --metadata-from data/colour/adobe_rgb_gps.jpg
  touch "$set/.with-metadata"
fi

install_peer() {  # command, Debian package
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "bench/images.sh: installing $2" >&2
  { apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 &&
    apt-get install -y -qq "$2" >/dev/null 2>&1; }; } || true
  command -v "$1" >/dev/null 2>&1
}
py=/usr/bin/python3
have_vips=0 have_magick=0 have_parallel=0 have_cv2=0
install_peer parallel parallel && have_parallel=1 || echo "bench/images.sh: GNU parallel unavailable" >&2
install_peer vipsthumbnail libvips-tools && have_vips=1 || echo "bench/images.sh: skipping vipsthumbnail (libvips-tools could not be installed)" >&2
install_peer mogrify imagemagick && have_magick=1 || echo "bench/images.sh: skipping mogrify (imagemagick could not be installed)" >&2
if ! "$py" -c 'import cv2' 2>/dev/null; then
  echo "bench/images.sh: installing python3-opencv" >&2
  apt-get install -y -qq python3-opencv >/dev/null 2>&1 || true
fi
"$py" -c 'import cv2' 2>/dev/null && have_cv2=1 || echo "bench/images.sh: skipping Python Pool + cv2 (python3-opencv could not be installed)" >&2

work=$(mktemp -d /tmp/forkpool-bench-out.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat "$set"/*.jpg >/dev/null  # every run reads from the page cache, the first included
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# CPU time of this shell's reaped children (and theirs), in seconds.
tick=$(getconf CLK_TCK)
children_cpu() {
  local f
  read -r -a f < <(sed 's/.*) //' /proc/$$/stat)
  awk "BEGIN { print (${f[13]} + ${f[14]}) / $tick }"
}

declare -A best_seconds best_cpu
order=()
run() {  # name, output folder, command...
  local name=$1 out=$2; shift 2
  rm -rf "$out"; mkdir -p "$out"
  local start end cpu_before cpu_after made
  cpu_before=$(children_cpu)
  start=$(date +%s.%N)
  if ! "$@" >"$out.log" 2>&1; then
    echo "bench/images.sh: $name failed:" >&2; tail -5 "$out.log" >&2; return 0
  fi
  end=$(date +%s.%N)
  cpu_after=$(children_cpu)
  made=$(find "$out" -name '*.jpg' | wc -l)
  if [[ "$made" -ne "$count" ]]; then
    echo "bench/images.sh: $name wrote $made of $count images; not counted" >&2; return 0
  fi
  local took cpu
  took=$(awk "BEGIN { print $end - $start }")
  cpu=$(awk "BEGIN { print $cpu_after - $cpu_before }")
  [[ -v "best_seconds[$name]" ]] || order+=("$name")
  if [[ ! -v "best_seconds[$name]" ]] || awk "BEGIN { exit !($took < ${best_seconds[$name]}) }"; then
    best_seconds[$name]=$took
    best_cpu[$name]=$cpu
  fi
}

files=("$set"/bench_*.jpg)
task=(--op 'resize=1024x1024>' --quality 85 -q -j "$jobs")
# What a Python user writes for this: a Pool over cv2, one file per task.
python_pool='
import os, sys, glob, multiprocessing, cv2
def shrink(path):
    cv2.setNumThreads(0)
    img = cv2.imread(path)
    h, w = img.shape[:2]
    scale = min(1024 / w, 1024 / h, 1.0)
    if scale < 1.0:
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(sys.argv[3], os.path.basename(path)), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
with multiprocessing.Pool(int(sys.argv[2])) as pool:
    pool.map(shrink, sorted(glob.glob(os.path.join(sys.argv[1], "bench_*.jpg"))), chunksize=1)
'
for ((round = 1; round <= rounds; ++round)); do
  run "forkpool processes" "$work/processes" \
    "$forkpool" images "$set" "$work/processes" "${task[@]}" --backend processes
  run "forkpool threads" "$work/threads" \
    "$forkpool" images "$set" "$work/threads" "${task[@]}" --backend threads
  # parallel -q: the command's '>' and '[Q=85]' reach it unquoted by parallel's shell.
  if ((have_parallel && have_vips)); then
    run "vipsthumbnail + parallel" "$work/vips" parallel -q -j "$jobs" -X vipsthumbnail \
      --size '1024x1024>' -o "$work/vips/%s.jpg[Q=85]" ::: "${files[@]}"
  fi
  # The same task converting each photo from its profile to sRGB, metadata kept.
  run "forkpool processes, sRGB" "$work/processes-srgb" \
    "$forkpool" images "$set" "$work/processes-srgb" "${task[@]}" --backend processes --colorspace srgb
  if ((have_parallel && have_vips)); then
    run "vipsthumbnail sRGB + par." "$work/vips-srgb" parallel -q -j "$jobs" -X vipsthumbnail \
      --size '1024x1024>' --export-profile srgb -o "$work/vips-srgb/%s.jpg[Q=85]" ::: "${files[@]}"
  fi
  if ((have_parallel && have_magick)); then
    run "mogrify + parallel" "$work/mogrify" parallel -q -j "$jobs" -X mogrify \
      -path "$work/mogrify" -resize '1024x1024>' -quality 85 ::: "${files[@]}"
  fi
  if ((have_cv2)); then
    run "python Pool + cv2" "$work/python" "$py" -c "$python_pool" "$set" "$jobs" "$work/python"
  fi
done

echo
echo "task: $count JPEGs of $size -> fit 1024x1024, JPEG q85; $jobs jobs on $(nproc) cores" \
  "($(uname -m)), best of $rounds; load average before: $load_before"
printf '%-26s %9s %10s %14s %22s\n' tool seconds images/s "CPU ms/image" "forkpool processes is"
base=${best_seconds["forkpool processes"]:-}
for name in "${order[@]}"; do
  secs=${best_seconds[$name]}
  ratio=$([[ -n "$base" ]] && awk "BEGIN { print $secs / $base }" || echo 0)
  printf '%-26s %9.2f %10.1f %14.1f %21.2fx\n' "$name" "$secs" "$(awk "BEGIN { print $count / $secs }")" \
    "$(awk "BEGIN { print 1000 * ${best_cpu[$name]} / $count }")" "$ratio"
done
srgb=${best_seconds["forkpool processes, sRGB"]:-} vips_srgb=${best_seconds["vipsthumbnail sRGB + par."]:-}
if [[ -n "$srgb" && -n "$vips_srgb" ]]; then
  echo "converting to sRGB with metadata kept: forkpool processes is" \
    "$(awk "BEGIN { printf \"%.2f\", $vips_srgb / $srgb }")x vipsthumbnail --export-profile srgb + parallel"
else
  echo "converting to sRGB with metadata kept: no ratio (vipsthumbnail or GNU parallel missing, or a run failed)"
fi
