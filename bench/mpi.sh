#!/usr/bin/env bash
# The mpi backend side by side with the processes backend, in one run: `forkpool images` on one
# folder (resize to fit 1024x1024, JPEG quality 85) and `forkpool matmul --random NxNxN` f64.
#
#   bench/mpi.sh [--ranks P] [--workers J] [--n "N..."] [--count C] [--size WxH] [--set DIR]
#                [--rounds R] [--no-images] [--worker-memory MIB]
#
# mpi runs as P ranks (default 3: rank 0 coordinates, P-1 work) under mpirun --oversubscribe;
# processes with J workers (default P-1), matmul over the copying pipe transport (the fair
# peer: MPI ranks do not share memory either). matmul runs on mpi twice, once per
# --distribute: broadcast (B to every rank, rows of A in the jobs) and blocks (2-D blocks of C,
# each job carrying its rows of A and columns of B), for each size of --n (default 4096; several
# sizes, space-separated, run one after the other); with --worker-memory, blocks a third time
# with that budget (smaller blocks: more jobs, more bytes, less memory per rank). Each case
# runs R times (default 1) and its fastest run counts (matmul: rounds interleaved across its
# cases). Prints, per case, the batch's own time (what forkpool reports: from the first job
# handed out to the last result) and the whole command's wall time (mpirun's start
# of P processes and MPI_Init included), and mpi's speed as a multiple of processes' on each;
# for matmul also the bytes given to the executor to send (the report's payload_bytes) and the
# peak PSS of each rank (/proc/PID/smaps_rollup, sampled every 50 ms by bench/peak_pss.py).
# The image set (default 24 JPEGs of 2560x1440 in /tmp/forkpool-bench-images-mpi) is made by
# scripts/make-bench-images when missing; --no-images skips images.
set -euo pipefail
cd "$(dirname "$0")/.."

ranks=3 workers="" sizes=4096 count=24 size=2560x1440 set=/tmp/forkpool-bench-images-mpi rounds=1
images=1 worker_memory=""
while (($#)); do
  case "$1" in
    --ranks) ranks=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --n) sizes=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --set) set=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-images) images=0; shift ;;
    --worker-memory) worker_memory=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench/mpi.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
workers=${workers:-$((ranks - 1))}

forkpool=${FORKPOOL:-build/apps/forkpool}
[[ -x "$forkpool" ]] || scripts/build.sh >/dev/null
command -v mpirun >/dev/null || { echo "bench/mpi.sh: mpirun not found (openmpi-bin)" >&2; exit 1; }
if ((images)); then
  have_set=0
  [[ -d "$set" ]] && have_set=$(find "$set" -maxdepth 1 -name 'bench_*.jpg' | wc -l)
  if [[ "$have_set" -ne "$count" ]]; then
    rm -rf "$set"
    scripts/make-bench-images "$set" -n "$count" --size "$size"
  fi
  cat "$set"/*.jpg >/dev/null  # every run reads from the page cache, the first included
fi

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

mib() { [[ -z "$1" ]] && echo "-" || calc "round($1 / 2**20)"; }

echo "forkpool bench/mpi.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if ((images)); then
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
fi

# once CASE COMMAND...: runs the matmul COMMAND once; keeps, per CASE, the fastest batch seen,
# with that run's wall time, bytes sent, plan and peak PSS per process.
declare -A best_b best_w best_moved best_plan best_pss
once() {
  local case=$1; shift
  local start end p b w
  start=$(date +%s.%N)
  p=$(/usr/bin/python3 bench/peak_pss.py "$@" --json "$work/report.json" -q)
  end=$(date +%s.%N)
  b=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['compute_seconds'])" "$work/report.json")
  w=$(calc "$end - $start")
  if [[ -z "${best_b[$case]:-}" ]] || [[ $(calc "int($b < ${best_b[$case]})") == 1 ]]; then
    best_b[$case]=$b best_w[$case]=$w best_pss[$case]=$p
    best_moved[$case]=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['payload_bytes'])" "$work/report.json")
    best_plan[$case]=$(/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"{d['tiles']} x {d['tile']['rows']}x{d['tile']['cols']}\")" "$work/report.json")
  fi
}

# The matmul cases of one size, each run R times, rounds interleaved (case 1, 2, 3, 1, 2, 3,
# ...) so that a burst of load from elsewhere does not fall on one case only.
summary=()
for n in $sizes; do
  random=(matmul --random "${n}x${n}x${n}")
  names=("processes pipe -j $workers" "mpi -np $ranks, --distribute broadcast"
         "mpi -np $ranks, --distribute blocks")
  [[ -n "$worker_memory" ]] && names+=("mpi -np $ranks, blocks --worker-memory $worker_memory")
  for ((r = 0; r < rounds; r++)); do
    once "$n/0" "$forkpool" "${random[@]}" --backend processes --transport pipe -j "$workers"
    once "$n/1" "${mpi[@]}" "$forkpool" "${random[@]}" --backend mpi --distribute broadcast
    once "$n/2" "${mpi[@]}" "$forkpool" "${random[@]}" --backend mpi --distribute blocks
    if [[ -n "$worker_memory" ]]; then
      once "$n/3" "${mpi[@]}" "$forkpool" "${random[@]}" --backend mpi --distribute blocks \
        --worker-memory "$worker_memory"
    fi
  done
  echo
  printf '%-44s %8s %8s %9s %-16s %s\n' "matmul ${n}^3 f64, best of $rounds" "batch s" "wall s" \
    "sent MiB" "tiles" "peak PSS MiB per process (mpi: rank 0, 1, ...)"
  for i in "${!names[@]}"; do
    printf '%-44s %8.2f %8.2f %9s %-16s %s\n' "${names[$i]}" "${best_b[$n/$i]}" "${best_w[$n/$i]}" \
      "$(mib "${best_moved[$n/$i]}")" "${best_plan[$n/$i]}" "${best_pss[$n/$i]}"
  done
  summary+=("$(printf 'matmul %s: mpi broadcast is %.2fx processes over pipe (batch), %.2fx (wall); blocks is %.2fx broadcast (batch), %.2fx (wall)' \
    "$n" "$(calc "${best_b[$n/0]} / ${best_b[$n/1]}")" "$(calc "${best_w[$n/0]} / ${best_w[$n/1]}")" \
    "$(calc "${best_b[$n/1]} / ${best_b[$n/2]}")" "$(calc "${best_w[$n/1]} / ${best_w[$n/2]}")")")
  if [[ -n "$worker_memory" ]]; then
    summary+=("$(printf 'matmul %s: blocks with --worker-memory %s is %.2fx broadcast (batch)' "$n" \
      "$worker_memory" "$(calc "${best_b[$n/1]} / ${best_b[$n/3]}")")")
  fi
done

echo
if ((images)); then
  printf 'images: mpi is %.2fx processes (batch), %.2fx (wall); outputs: %s\n' \
    "$(calc "$ip_b / $im_b")" "$(calc "$ip_w / $im_w")" "$cmp_images"
fi
printf '%s\n' "${summary[@]}"
