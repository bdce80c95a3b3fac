# bash completion for dnd. Install: source share/dnd-completion.bash (or copy it to
# /etc/bash_completion.d/dnd).
_dnd() {
  local cur prev cmd
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  local w
  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) cmd="$w"; break ;; esac
  done
  local global="-h --help --version -v --verbose -q --quiet -n --nranks --plugin"
  case "$prev" in
    -n|--nranks) COMPREPLY=($(compgen -W "1 2 4 8 16" -- "$cur")); return ;;
    --timings|--out|--svg|--compare) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --set) COMPREPLY=(); return ;;
    --plugin) COMPREPLY=($(compgen -f -X '!*.so' -- "$cur") $(compgen -d -- "$cur")); return ;;
    -w|--workload) COMPREPLY=($(compgen -W "all elementwise reduce resplit reshape matmul qr svd kmeans io-save io-load" -- "$cur")); return ;;
    --mode) COMPREPLY=($(compgen -W "strong weak both" -- "$cur")); return ;;
    --launcher) COMPREPLY=($(compgen -W "mpirun srun" -- "$cur")); return ;;
    --scratch) COMPREPLY=($(compgen -d -- "$cur")); return ;;
  esac
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "run plan validate ops inspect bench jobs info demo $global" -- "$cur"))
    return
  fi
  case "$cmd" in
    run) COMPREPLY=($(compgen -W "--set --timings --quiet --force $global" -- "$cur")) ;;
    plan) COMPREPLY=($(compgen -W "--set --json $global" -- "$cur")) ;;
    validate) COMPREPLY=($(compgen -W "--set $global" -- "$cur")) ;;
    bench)
      COMPREPLY=($(compgen -W "--workload --ranks --mode --size --split-pair --io-format --scratch --scale --set --repeat
                              --warmup --threads --out --compare --launcher --list --quiet $global" -- "$cur")) ;;
    ops)
      COMPREPLY=($(compgen -W "--schema $(dnd ops 2>/dev/null | awk '/^  [a-z]/ {print $1}')" -- "$cur"))
      return ;;
    *) COMPREPLY=($(compgen -W "$global" -- "$cur")) ;;
  esac
  if [[ "$cur" != -* ]]; then
    COMPREPLY+=($(compgen -f -X '!*.@(yaml|yml|h5|hdf5|nc|npy|csv)' -- "$cur") $(compgen -d -- "$cur"))
  fi
}
shopt -s extglob
complete -o filenames -F _dnd dnd
