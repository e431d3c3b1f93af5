# bash completion for forkpool. The subcommands' flags and the choices of a flag are read from
# `forkpool SUBCOMMAND --help` when asked for, so that this file never falls behind the binary.
_forkpool() {
  local cur prev words cword
  _init_completion || return

  # The subcommand's words: "matmul", or "compare tasks" (compare has subcommands of its own).
  local subcommand=() i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      images | matmul | ipc-bench) subcommand=("${words[i]}"); break ;;
      compare)
        subcommand=(compare)
        for ((i++; i < cword; i++)); do
          case ${words[i]} in
            tasks | matmul | images) subcommand+=("${words[i]}"); break ;;
          esac
        done
        if ((${#subcommand[@]} == 1)); then
          COMPREPLY=($(compgen -W "tasks matmul images --help" -- "$cur"))
          return
        fi
        break
        ;;
    esac
  done
  if ((${#subcommand[@]} == 0)); then
    COMPREPLY=($(compgen -W "images matmul ipc-bench compare --help --version" -- "$cur"))
    return
  fi

  local help
  help=$("${words[0]}" "${subcommand[@]}" --help 2>/dev/null) || return
  if [[ $prev == -* ]]; then
    # A flag whose help lists its choices as {a,b,c} completes to them.
    local line choices
    line=$(grep -E -- "^ +(-[A-Za-z0-9],)?${prev}( |,|$)" <<<"$help" | head -n1)
    choices=$(sed -nE 's/.*\{([^}]*)\}.*/\1/p' <<<"$line" | tr ',' ' ')
    if [[ -n $choices ]]; then
      COMPREPLY=($(compgen -W "$choices" -- "$cur"))
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)" -- "$cur"))
    return
  fi
  _filedir
}
complete -F _forkpool forkpool
