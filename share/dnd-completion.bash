# bash completion for dnd. Install: source share/dnd-completion.bash (or copy it to
# /etc/bash_completion.d/dnd). tests/cli/test_cli.sh checks that it offers every command
# and every option that `dnd --help` and each `dnd COMMAND --help` list.
_dnd_commands="run plan validate ops inspect bench jobs checkpoints info demo"
_dnd_global="-h --help -V --version -v --verbose -q --quiet -n --nranks --plugin"

# The options of one command (jobs: of `jobs sbatch`).
_dnd_options() {
  case "$1" in
    run) echo "--set --timings --quiet --force --no-sync --dry-run --checkpoint --checkpoint-dir --resume" ;;
    plan) echo "--set --json --checkpoint --checkpoint-dir --resume" ;;
    validate) echo "--set --json" ;;
    ops) echo "--schema --json" ;;
    inspect) echo "-d --dataset -n --nranks --split --format --json --svg" ;;
    bench)
      echo "-w --workload --ranks --mode --size --split-pair --io-format --cols --io-sync --scratch" \
        "--scale --set --repeat --warmup --threads -o --out --compare --launcher --list --quiet" \
        "--part --no-baselines" ;;
    jobs)
      echo "-N --nodes --ntasks-per-node -c --cpus-per-task --gpus-per-node -t --time" \
        "--signal-before -p --partition -A --account --mem --set --array --launcher --workload" \
        "--sweep --template --ranks --mode --out --dnd --no-check" ;;
    checkpoints) echo "--pipeline --set --remove-stale --json" ;;
    demo) echo "--shape --split --seed" ;;
    *) echo "" ;;
  esac
}

_dnd() {
  local cur prev cmd sub
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  cmd="" sub=""
  local w
  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in
      -*) ;;
      *) if [ -z "$cmd" ]; then cmd="$w"; elif [ "$cmd" = jobs ] && [ -z "$sub" ]; then sub="$w"; fi ;;
    esac
  done
  case "$prev" in
    -n|--nranks) COMPREPLY=($(compgen -W "1 2 4 8 16" -- "$cur")); return ;;
    --timings|--out|-o|--svg|--compare|--pipeline) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --checkpoint-dir|--scratch) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --set|--checkpoint|--size|--ranks|--repeat|--warmup|--threads) COMPREPLY=(); return ;;
    --plugin) COMPREPLY=($(compgen -f -X '!*.so' -- "$cur") $(compgen -d -- "$cur")); return ;;
    -w|--workload)
      COMPREPLY=($(compgen -W "$(dnd bench --list 2>/dev/null | awk '/^  [a-z]/ {print $1}')" -- "$cur"))
      return ;;
    --mode) COMPREPLY=($(compgen -W "strong weak both" -- "$cur")); return ;;
    --launcher) COMPREPLY=($(compgen -W "mpirun srun" -- "$cur")); return ;;
    --template) COMPREPLY=($(compgen -W "pipeline array bench gpu" -- "$cur") $(compgen -f -X '!*.sbatch' -- "$cur")); return ;;
  esac
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "$_dnd_commands $_dnd_global" -- "$cur"))
    return
  fi
  if [ "$cmd" = jobs ] && [ -z "$sub" ]; then
    COMPREPLY=($(compgen -W "sbatch templates" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -W "$(_dnd_options "$cmd") $_dnd_global" -- "$cur"))
  if [ "$cmd" = ops ] && [[ "$cur" != -* ]]; then
    COMPREPLY+=($(compgen -W "$(dnd ops 2>/dev/null | awk '/^  [a-z]/ {print $1}')" -- "$cur"))
    return
  fi
  if [[ "$cur" != -* ]]; then
    COMPREPLY+=($(compgen -f -X '!*.@(yaml|yml|h5|hdf5|nc|npy|csv)' -- "$cur") $(compgen -d -- "$cur"))
  fi
}
shopt -s extglob
complete -o filenames -F _dnd dnd
