#!/usr/bin/env bash
# The bash completion (completion/forkpool.bash) as a user meets it: loaded by bash-completion,
# asked what follows `forkpool`, `forkpool matmul --ba`, `forkpool ipc-bench --transport `.
#   completion_test.sh FORKPOOL_BINARY SOURCE_DIR
# Exit 77 (skipped) without bash-completion.
set -uo pipefail
binary=$1 source_dir=$2
loader=/usr/share/bash-completion/bash_completion
[ -f "$loader" ] || { echo "skipped: bash-completion is not installed ($loader)"; exit 77; }
source "$loader"
source "$source_dir/completion/forkpool.bash"

failed=0
# complete WORDS...: what the completion offers for the last word (which may be empty).
complete_words() {
  COMP_WORDS=("$binary" "$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _forkpool
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() {  # expect WHAT GOT WANT
  if [ "$2" != "$3" ]; then echo "FAILED: $1: got '$2', want '$3'"; failed=1; else echo "ok: $1"; fi
}
expect "subcommands" "$(complete_words "")" "--help --version compare images ipc-bench matmul "
expect "what compare runs" "$(complete_words compare "")" "--help images matmul tasks "
expect "a flag of compare tasks" "$(complete_words compare tasks --ki)" "--kind "
expect "the choices of --kind" "$(complete_words compare tasks --kind "")" "cpu memory sleep tiny "
expect "a flag of matmul" "$(complete_words matmul --ba)" "--backend "
expect "a flag of ipc-bench" "$(complete_words ipc-bench --tra)" "--transport "
expect "the choices of --backend" "$(complete_words matmul --backend "")" "mpi processes serial threads "
expect "the choices of --transport" "$(complete_words images --transport "")" "mq pipe shm tcp unix "
expect "the choices of --colorspace" "$(complete_words images --colorspace "")" "keep srgb "
exit $failed
