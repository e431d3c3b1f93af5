#!/usr/bin/env bash
# The mpi backend side by side with the processes backend, in one run: `forkpool images` on one
# folder (resize to fit 1024x1024, JPEG quality 85) and `forkpool matmul --random NxNxN` f64.
#
#   bench/mpi.sh [--ranks P] [--workers J] [--n N] [--count C] [--size WxH] [--set DIR] [--rounds R]
#
# mpi runs as P ranks (default 3: rank 0 coordinates, P-1 work) under mpirun --oversubscribe;
# processes with J workers (default P-1), matmul over the copying pipe transport (the fair
# peer: MPI ranks do not share memory either). Each case runs R times (default 1) and its
# fastest run counts. Prints, per case, the batch's own time (what forkpool reports: from the
# first job handed out to the last result) and the whole command's wall time (mpirun's start
# of P processes and MPI_Init included), and mpi's speed as a multiple of processes' on each.
# The image set (default 24 JPEGs of 2560x1440 in /tmp/forkpool-bench-images-mpi) is made by
# scripts/make-bench-images when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

ranks=3 workers="" n=4096 count=24 size=2560x1440 set=/tmp/forkpool-bench-images-mpi rounds=1
while (($#)); do
  case "$1" in
    --ranks) ranks=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --set) set=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/mpi.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
workers=${workers:-$((ranks - 1))}

forkpool=${FORKPOOL:-build/apps/forkpool}
[[ -x "$forkpool" ]] || scripts/build.sh >/dev/null
command -v mpirun >/dev/null || { echo "bench/mpi.sh: mpirun not found (openmpi-bin)" >&2; exit 1; }
have_set=0
[[ -d "$set" ]] && have_set=$(find "$set" -maxdepth 1 -name 'bench_*.jpg' | wc -l)
if [[ "$have_set" -ne "$count" ]]; then
  rm -rf "$set"
  scripts/make-bench-images "$set" -n "$count" --size "$size"
fi
cat "$set"/*.jpg >/dev/null  # every run reads from the page cache, the first included

work=$(mktemp -d /tmp/forkpool-bench-mpi.XXXXXX)
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --oversubscribe -np "$ranks")
[[ "$(id -u)" -eq 0 ]] && mpi=(mpirun --allow-run-as-root --oversubscribe -np "$ranks")

calc() { /usr/bin/python3 -c "print($1)"; }

# run JSON_FIELD COMMAND...: the fastest of R runs; sets batch_s and wall_s.
run() {
  local field=$1; shift
  batch_s="" wall_s=""
  for ((i = 0; i < rounds; i++)); do
    local start end b
    start=$(date +%s.%N)
    "$@" --json "$work/report.json" -q >/dev/null
    end=$(date +%s.%N)
    b=$(/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($field)" "$work/report.json")
    local w; w=$(calc "$end - $start")
    if [[ -z "$batch_s" ]] || [[ $(calc "int($b < $batch_s)") == 1 ]]; then batch_s=$b wall_s=$w; fi
  done
}

echo "forkpool bench/mpi.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %10s %10s\n' "case" "batch s" "wall s"

images_ops=(--op 'resize=1024x1024>' --format jpg --quality 85 --overwrite)
run "d['summary']['wall_seconds']" "$forkpool" images "$set" "$work/p" "${images_ops[@]}" \
  --backend processes -j "$workers"
ip_b=$batch_s ip_w=$wall_s
printf '%-44s %10.2f %10.2f\n' "images $count, processes -j $workers" "$ip_b" "$ip_w"
run "d['summary']['wall_seconds']" "${mpi[@]}" "$forkpool" images "$set" "$work/m" "${images_ops[@]}" \
  --backend mpi
im_b=$batch_s im_w=$wall_s
printf '%-44s %10.2f %10.2f\n' "images $count, mpi -np $ranks" "$im_b" "$im_w"
cmp_images=$(diff -rq "$work/p" "$work/m" >/dev/null && echo "same bytes" || echo "OUTPUTS DIFFER")

run "d['compute_seconds']" "$forkpool" matmul --random "${n}x${n}x${n}" --backend processes \
  --transport pipe -j "$workers"
mp_b=$batch_s mp_w=$wall_s
printf '%-44s %10.2f %10.2f\n' "matmul ${n}^3 f64, processes pipe -j $workers" "$mp_b" "$mp_w"
run "d['compute_seconds']" "${mpi[@]}" "$forkpool" matmul --random "${n}x${n}x${n}" --backend mpi
mm_b=$batch_s mm_w=$wall_s
printf '%-44s %10.2f %10.2f\n' "matmul ${n}^3 f64, mpi -np $ranks" "$mm_b" "$mm_w"

echo
printf 'images: mpi is %.2fx processes (batch), %.2fx (wall); outputs: %s\n' \
  "$(calc "$ip_b / $im_b")" "$(calc "$ip_w / $im_w")" "$cmp_images"
printf 'matmul: mpi is %.2fx processes over pipe (batch), %.2fx (wall)\n' \
  "$(calc "$mp_b / $mm_b")" "$(calc "$mp_w / $mm_w")"
