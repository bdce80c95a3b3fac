#!/usr/bin/env bash
# The sbatch scripts of `dnd jobs sbatch` against a real Slurm: starts a private
# single-node cluster (its own munged, slurmctld and slurmd, state, logs and ports under a
# temporary directory), submits rendered scripts, waits for them, checks their states,
# exit codes and output files, and stops exactly the daemons it started.
#
#   bash tests/slurm/test_slurm.sh BUILD/dnd SOURCE_DIR
#
# Needs root and the packages slurmctld slurmd slurm-client munge (scripts/install-deps.sh).
# If Slurm cannot start, the test fails with the reason. DND_SLURM_KEEP=1 keeps the
# temporary directory (logs, scripts, outputs); DND_SLURM_BENCH_WORKLOAD names the
# `dnd bench` workload of the bench check (default matmul).
set -u
DND="$(realpath "$1")"
SRC="$(realpath "${2:-$(dirname "$0")/../..}")"
fail=0
say() { echo "$@"; }
die() {
  say "slurm_jobs: FAILED: $*"
  exit 1
}
ok() { say "ok   $1"; }
bad() {
  say "FAIL $1: $2"
  fail=1
}

# ---- prerequisites -------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "needs root (slurmd starts jobs as their user)"
for t in slurmctld slurmd sbatch srun squeue scontrol sinfo scancel munged munge unmunge; do
  command -v "$t" > /dev/null ||
    die "'$t' not found: install slurmctld slurmd slurm-client munge (bash scripts/install-deps.sh)"
done
id munge > /dev/null 2>&1 || die "no 'munge' user (the munge package creates it)"
[ -x "$DND" ] || die "no dnd executable at $DND"

# A launcher's or an outer job's variables would confuse sbatch and srun.
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(SLURM_[A-Za-z0-9_]*\)=.*/\1/p')

T="$(mktemp -d /tmp/dnd-slurm.XXXXXX)"
chmod 755 "$T"  # munged (user munge) walks this path to its socket
export SLURM_CONF="$T/slurm.conf"
started=()  # "name:pidfile" of each daemon this script started

alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }
stop_daemons() {
  # Jobs first (their slurmstepd outlives slurmd), then the daemons, newest first.
  if [ -f "$T/slurmctld.pid" ]; then
    timeout 10 scancel --full --quiet --user=root > /dev/null 2>&1
    for _ in $(seq 50); do
      [ -z "$(timeout 5 squeue -h -o %i 2> /dev/null)" ] && break
      sleep 0.2
    done
  fi
  local i entry name pidfile pid
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    entry="${started[$i]}"; name="${entry%%:*}"; pidfile="${entry#*:}"
    pid="$(cat "$pidfile" 2> /dev/null)" || continue
    # Only our own daemon: the pid file is ours, and the pid must still be that program.
    [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm")" = "$name" ] || continue
    kill "$pid"
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -9 "$pid"
  done
}
cleanup() {
  stop_daemons
  if [ "${DND_SLURM_KEEP:-0}" = 1 ] || [ "$fail" -ne 0 ]; then
    say "slurm_jobs: logs, scripts and outputs kept in $T"
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_logs() {
  for f in "$T"/log/*.log "$T"/munge/munged.log; do
    [ -f "$f" ] && { say "---- $f (last lines)"; tail -n 15 "$f"; }
  done
}
start_failed() {
  show_logs
  fail=1
  die "Slurm did not start: $*"
}

# ---- munge: a private daemon, key and socket ---------------------------------------
M="$T/munge"
mkdir -p "$M"
head -c 1024 /dev/urandom > "$M/munge.key"
chown -R munge:munge "$M"
chmod 755 "$M"  # munged: the socket's directory must be world-executable
chmod 400 "$M/munge.key"
runuser -u munge -- munged --socket="$M/munge.socket" --key-file="$M/munge.key" --pid-file="$M/munged.pid" \
  --log-file="$M/munged.log" --seed-file="$M/munged.seed" || start_failed "munged exited with $?"
started+=("munged:$M/munged.pid")
# Slurm clients hang ~50 s when munged does not answer: check it first.
timeout 10 munge -n --socket="$M/munge.socket" | timeout 10 unmunge --socket="$M/munge.socket" > /dev/null ||
  start_failed "munge -n | unmunge failed: munged does not answer"

# ---- slurm.conf: this host as the only node, our own ports and directories -----------
host="$(hostname -s)"
read -r real_cpus real_mem < <(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*RealMemory=\([0-9]*\).*/\1 \2/p')
[ -n "${real_cpus:-}" ] || start_failed "slurmd -C printed no CPUs/RealMemory"
# Advertise at least 4 CPUs so that 4-rank jobs run (oversubscribed on a smaller machine).
NODE_CPUS=$((real_cpus > 4 ? real_cpus : 4))
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
for _ in $(seq 20); do
  port=$((20000 + RANDOM % 30000))
  port_free "$port" && port_free $((port + 1)) && break
done
mkdir -p "$T/state" "$T/spool" "$T/log" "$T/jobs"
cat > "$SLURM_CONF" << EOF
ClusterName=dndtest
# Job ids of their own, so that two test runs at once do not share PMIx's /tmp/spmix_* names.
FirstJobId=$((1000 + (RANDOM * 32768 + RANDOM) % 10000000))
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$M/munge.socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
# No cgroups here: plain process tracking, no task binding, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
# Refuse impossible jobs at submission instead of leaving them pending forever.
EnforcePartLimits=ALL
MailProg=/bin/true
ReturnToService=2
# The node may advertise more CPUs than it has.
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=$NODE_CPUS Sockets=1 CoresPerSocket=$NODE_CPUS ThreadsPerCore=1 RealMemory=$((real_mem * 9 / 10)) Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
# Two stand-in GPUs (character devices like /dev/null: Slurm needs device files), enough
# for the gpu template's request; the pipeline itself runs on the CPU.
mknod "$T/gpu0" c 1 3 && mknod "$T/gpu1" c 1 3 || start_failed "cannot create the stand-in GPU device files"
echo "Name=gpu File=$T/gpu[0-1]" > "$T/gres.conf"

slurmctld -c || start_failed "slurmctld exited with $?"
started+=("slurmctld:$T/slurmctld.pid")
slurmd -N "$host" || start_failed "slurmd exited with $?"
started+=("slurmd:$T/slurmd.pid")
state=""
for _ in $(seq 100); do
  state="$(timeout 5 sinfo -h -o %t 2> /dev/null)"
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || start_failed "the node is '${state:-not reported}' after 20 s, not idle"
say "slurm_jobs: Slurm $(sinfo -V | awk '{print $2}') up in $T (node $host, $NODE_CPUS CPUs, ports $port-$((port + 1)))"

# ---- helpers -------------------------------------------------------------------------
cd "$T/jobs"
submit() {  # submit SCRIPT -> prints the job id
  timeout 30 sbatch --parsable "$1" | cut -d';' -f1
}
# wait_job ID [TIMEOUT_S]: waits until every task of the job has ended; prints
# "STATE EXITCODE" per task (array tasks in id order). sbatch --wait polls slowly.
wait_job() {
  local id="$1" limit="${2:-240}" t0=$SECONDS
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    [ -z "$(timeout 10 squeue -h -j "$id" -o %i 2> /dev/null)" ] && break
    sleep 0.5
  done
  timeout 10 scontrol -o show job "$id" 2> /dev/null |
    sed -n 's/.*JobState=\([A-Z_]*\).*ExitCode=\([0-9]*:[0-9]*\).*/\1 \2/p'
}
# expect_job NAME ID "STATE EXIT" [COUNT]: every task ended so (COUNT tasks).
expect_job() {
  local name="$1" id="$2" want="$3" count="${4:-1}" got
  got="$(wait_job "$id")"
  if [ "$(grep -c . <<< "$got")" -ne "$count" ] || [ -n "$(grep -v -x "$want" <<< "$got")" ]; then
    bad "$name" "job $id ended as [$(tr '\n' ' ' <<< "$got")], expected $count x '$want'"
    return 1
  fi
}
render() {  # render OUT.sh ARGS...: `dnd jobs sbatch ARGS` into OUT.sh (stderr in OUT.sh.err)
  local out="$1"; shift
  "$DND" jobs sbatch "$@" > "$out" 2> "$out.err" || { bad "render $out" "exit $?: $(cat "$out.err")"; return 1; }
}
has() {  # has NAME FILE PATTERN
  if [ ! -f "$2" ]; then bad "$1" "no file $2 (in $PWD: $(ls | tr '\n' ' '))"; return 1; fi
  grep -qE -- "$3" "$2" || { bad "$1" "$2 lacks /$3/:"; sed 's/^/    /' "$2"; return 1; }
}

# ---- 1. the mechanics, with `dnd info` through an own template -----------------------
# The rendered #SBATCH lines, thread settings and both launchers, with the real dnd.
cat > info-check.sbatch << 'EOF'
#!/bin/bash
{{SBATCH}}
set -euo pipefail
DND={{DND}}
THREADS={{THREADS}}
export DND_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
{{LAUNCH}} "$DND" info
EOF
cat > info-fails.sbatch << 'EOF'
#!/bin/bash
{{SBATCH}}
{{LAUNCH}} {{DND}} info --frobnicate
EOF

check_info() {  # check_info NAME RANKS THREADS RENDER-ARGS...
  local name="$1" ranks="$2" threads="$3" id out; shift 3
  render "$name.sh" --template info-check.sbatch "$@" || return
  id="$(submit "$name.sh")" || { bad "$name" "sbatch refused it"; return; }
  expect_job "$name" "$id" "COMPLETED 0:0" || { cat "dnd-info-check-$id.out" 2> /dev/null; return; }
  out="dnd-info-check-$id.out"
  has "$name" "$out" "^  ranks     $ranks \\($ranks on this node\\)$" &&
    has "$name" "$out" "^  threads   $threads per rank$" && ok "$name: $ranks ranks x $threads threads"
}
# The test's environment says DND_NUM_THREADS=1: the script must set it from --cpus-per-task.
check_info srun-4x1 4 1 -N 1 --ntasks-per-node 4
check_info srun-2x2 2 2 -N 1 --ntasks-per-node 2 --cpus-per-task 2
check_info mpirun-2x2 2 2 -N 1 --ntasks-per-node 2 --cpus-per-task 2 --launcher mpirun
check_info mpirun-3x1 3 1 -N 1 --ntasks-per-node 3 --launcher mpirun

# A failing rank fails the job with dnd's exit code: 2, or 143 when srun's
# --kill-on-bad-exit stops the other rank (SIGTERM) before it has exited 2 by itself.
if render info-fails.sh --template info-fails.sbatch -N 1 --ntasks-per-node 2; then
  id="$(submit info-fails.sh)" && expect_job exit-code "$id" 'FAILED \(2\|143\):0' &&
    has exit-code "dnd-info-fails-$id.out" "frobnicate" && ok "exit-code: a rank's exit 2 is the job's"
fi

# The gpu template's premise: with --gpus-per-node, every rank of a node sees all of the
# node's GPUs (dnd picks one by node-local rank).
cat > gpu-check.sbatch << 'EOF'
#!/bin/bash
{{SBATCH}}
{{LAUNCH}} bash -c 'echo "rank $SLURM_PROCID sees GPUs ${CUDA_VISIBLE_DEVICES:-none}"'
EOF
if render gpu-check.sh --template gpu-check.sbatch -N 1 --ntasks-per-node 2 --gpus-per-node 2; then
  id="$(submit gpu-check.sh)" && expect_job gpu-visible "$id" "COMPLETED 0:0" &&
    if [ "$(grep -c 'sees GPUs 0,1$' "dnd-gpu-check-$id.out")" -eq 2 ]; then ok "gpu-visible: both ranks see GPUs 0,1"
    else bad gpu-visible "not every rank sees both GPUs:"; cat "dnd-gpu-check-$id.out"; fi
fi

# More ranks x cores than the node has: `dnd jobs` warns (from sinfo), sbatch refuses at
# once (EnforcePartLimits), nothing pends.
if render too-big.sh --template info-check.sbatch -N 1 --ntasks-per-node $((NODE_CPUS + 1)); then
  has too-big-warning too-big.sh.err "warning: $((NODE_CPUS + 1)) rank\\(s\\) per node x 1 core\\(s\\) per rank need $((NODE_CPUS + 1)) CPUs per node, but the nodes have $NODE_CPUS \\(sinfo, default partition\\)" &&
    if out="$(timeout 30 sbatch too-big.sh 2>&1)"; then
      bad too-big "sbatch accepted it: $out"
    else
      ok "too-big: warned, and refused at submission ($out)"
    fi
fi

# ---- 2. the templates, running pipelines ----------------------------------------------
# Needs `dnd validate`, `dnd run`, `dnd plan`, `dnd bench` and pipelines/quickstart.yaml.
PIPE="$SRC/pipelines/quickstart.yaml"
if [ ! -f "$PIPE" ] || ! "$DND" validate "$PIPE" > /dev/null 2>&1; then
  bad pipelines "no pipelines/quickstart.yaml, or \`dnd validate\` cannot check it: the template checks did not run"
else
  # What the pipeline prints under plain mpirun with the same ranks and threads (float
  # reductions may differ in the last digit between rank counts), without the lines that
  # differ by run (timings, rank counts): every one of these must be in the job's log.
  reference() {  # reference OUT RANKS THREADS [--set k=v]...
    local out="$1" ranks="$2" threads="$3"; shift 3
    DND_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" mpirun -n "$ranks" "$DND" run "$PIPE" "$@" 2>&1 |
      grep -vE '[0-9] ?(ns|us|µs|ms|s)\b|[Rr]anks?\b|[Tt]ime' > "$out"
    [ -s "$out" ] || bad reference "\`mpirun -n $ranks dnd run $PIPE $*\` printed nothing to compare"
  }
  same_results() {  # same_results NAME LOG REFERENCE
    local missing
    [ -f "$2" ] || { bad "$1" "no log $2"; return 1; }
    missing="$(grep -vxF -f "$2" "$3")"
    [ -z "$missing" ] || { bad "$1" "$2 lacks lines that mpirun printed:"; sed 's/^/    /' <<< "$missing"; return 1; }
  }
  name="$(sed -n 's/^#SBATCH --job-name=dnd-//p' < <("$DND" jobs sbatch "$PIPE" -N 1 --ntasks-per-node 1 --no-check))"

  for spec in "srun 4 1" "mpirun 2 2"; do
    read -r launcher ranks threads <<< "$spec"
    check="pipeline-$launcher-${ranks}x$threads"
    render "$check.sh" "$PIPE" -N 1 --ntasks-per-node "$ranks" -c "$threads" --launcher "$launcher" --set n=1000 \
      -t 10 || continue
    id="$(submit "$check.sh")" || { bad "$check" "sbatch refused it"; continue; }
    log="dnd-$name-$id.out"
    expect_job "$check" "$id" "COMPLETED 0:0" || { cat "$log" 2> /dev/null; continue; }
    reference "ref-$check.txt" "$ranks" "$threads" --set n=1000
    has "$check" "$log" "^  ranks     $ranks " && has "$check" "$log" "^  threads   $threads per rank$" &&
      same_results "$check" "$log" "ref-$check.txt" && ok "$check: the results of mpirun -n $ranks, in $log"
  done

  # A broken pipeline gets no script; rendered anyway (--no-check), it fails in seconds at
  # the script's `dnd validate`, before any rank starts.
  sed 's/\(\bop: *\)\([a-z_]\+\)/\1\2_no_such_op/' "$PIPE" > broken.yaml
  cmp -s "$PIPE" broken.yaml && bad broken "found no op: line to break in $PIPE"
  if "$DND" jobs sbatch broken.yaml -N 1 --ntasks-per-node 2 > refused.sh 2> refused.err; then
    bad broken-refused "dnd jobs sbatch wrote a script for a pipeline that does not plan"
  elif grep -q 'no script written' refused.err && [ ! -s refused.sh ]; then
    ok "broken-refused: no script for a pipeline that does not plan (exit 2)"
  else
    bad broken-refused "$(cat refused.err)"
  fi
  if render broken.sh broken.yaml -N 1 --ntasks-per-node 2 --no-check; then
    id="$(submit broken.sh)" && t0=$SECONDS && expect_job broken "$id" "FAILED 2:0" &&
      log="dnd-$(sed -n 's/^#SBATCH --job-name=dnd-//p' broken.sh)-$id.out" &&
      has broken "$log" "broken.yaml:[0-9]+:[0-9]+: error" &&
      if grep -q '^  ranks ' "$log"; then bad broken "ranks were started: $log"; else
        ok "broken: exit 2 from dnd validate after $((SECONDS - t0)) s, no rank started"
      fi
  fi

  # A job array: task i runs with --set n=V_i and prints what mpirun prints for it.
  values=(100 2000 30000)
  if render array.sh "$PIPE" -N 1 --ntasks-per-node 2 --sweep "n=$(IFS=,; echo "${values[*]}")"; then
    id="$(submit array.sh)" && expect_job array "$id" "COMPLETED 0:0" 3 && {
      good=1
      for i in 0 1 2; do
        reference "ref-array-$i.txt" 2 1 --set "n=${values[$i]}"
        has array "dnd-$name-${id}_$i.out" "array task $i: --set n=${values[$i]}" &&
          same_results array "dnd-$name-${id}_$i.out" "ref-array-$i.txt" || good=0
      done
      if cmp -s ref-array-0.txt ref-array-2.txt; then bad array "n=${values[0]} and n=${values[2]} print the same"; good=0; fi
      [ "$good" = 1 ] && ok "array: 3 tasks, each with its own n, each the results of mpirun -n 2"
    }
  fi

  # One rank per GPU (two counted GPUs; the pipeline itself runs on the CPU here).
  if render gpu.sh "$PIPE" -N 1 --gpus-per-node 2 --set n=1000; then
    reference ref-gpu.txt 2 1 --set n=1000
    id="$(submit gpu.sh)" && expect_job gpu "$id" "COMPLETED 0:0" &&
      has gpu "dnd-$name-$id.out" "^  ranks     2 " && same_results gpu "dnd-$name-$id.out" ref-gpu.txt &&
      ok "gpu: 2 GPUs, 2 ranks, the results of mpirun -n 2"
  fi

  # Time limits: the warning signal (sent here by scancel --signal=USR1 --batch, as Slurm
  # sends it before the limit) reaches the ranks through the script and the launcher; they
  # stop at a step boundary (exit 75), the script requeues the job, and the requeued job
  # resumes from the checkpoints: the result equals an uninterrupted run's.
  mkdir -p long-out
  cat > long.yaml << 'EOF'
version: 1
steps:
  - {id: a, op: random.normal, shape: [200, 8], seed: 5, split: 0, checkpoint: true}
  - {id: b, op: exp, input: a, checkpoint: true}
  - {id: c, op: multiply, inputs: [b, 3], checkpoint: true}
  - {id: d, op: reduce, input: c, fn: sum, axis: 1}
  - {op: save, input: d, path: long-out/d.npy, overwrite: true}
EOF
  mpirun -n 2 "$DND" run long.yaml --quiet --checkpoint-dir ref.checkpoints && mv long-out/d.npy ref-d.npy
  for launcher in srun mpirun; do
    check="requeue-$launcher"
    rm -rf long-out/long.checkpoints long-out/d.npy
    render "$check.sh" long.yaml -N 1 --ntasks-per-node 2 --launcher "$launcher" -t 10 --signal-before 120 || continue
    has "$check" "$check.sh" '^#SBATCH --signal=B:USR1@120$' && has "$check" "$check.sh" '^#SBATCH --requeue$' || continue
    id="$(DND_TEST_FAULT=slow-before:d submit "$check.sh")" || { bad "$check" "sbatch refused it"; continue; }
    t0=$SECONDS
    for _ in $(seq 240); do [ "$(ls long-out/long.checkpoints 2> /dev/null | grep -c '^c\.')" = 1 ] && break; sleep 0.5; done
    timeout 10 scancel --signal=USR1 --batch "$id" || bad "$check" "scancel --signal refused"
    log="dnd-long-$id.out"
    # Slurm holds a requeued job back for about two minutes: start it now.
    for _ in $(seq 120); do grep -q "requeueing job $id" "$log" 2> /dev/null && break; sleep 0.5; done
    for _ in $(seq 20); do
      [ "$(timeout 5 squeue -h -j "$id" -o %T 2> /dev/null)" = PENDING ] && break
      sleep 0.5
    done
    # The first run's slurmstepd ends a moment after the job is requeued; a requeued job
    # forced to start before that fails to launch its step 0 again ("task launch failed"),
    # which Slurm's own two-minute hold avoids. Wait until that step is gone.
    for _ in $(seq 60); do
      grep -qs "^slurmstepd: \[$id\." /proc/[0-9]*/cmdline || break
      sleep 0.5
    done
    # slurmd revokes the first run's credential at the requeue, to the second: a job
    # started within that second gets a credential of the same time, which counts as
    # revoked ("Killing non-startable batch job: Job credential revoked"). Start it 2 s on.
    sleep 2
    timeout 10 scontrol update JobId="$id" StartTime=now > /dev/null 2>&1
    expect_job "$check" "$id" "COMPLETED 0:0" || { cat "$log" 2> /dev/null; continue; }
    has "$check" "$log" "stopped on request \(SIGUSR1\) before step 'd'" &&
      has "$check" "$log" "requeueing job $id" &&
      has "$check" "$log" "\[3/5\] c: multiply: from checkpoint" &&
      if cmp -s ref-d.npy long-out/d.npy; then
        ok "$check: signalled, stopped, requeued, resumed from step 3's checkpoint; the result equals mpirun's ($((SECONDS - t0)) s)"
      else bad "$check" "long-out/d.npy differs from the uninterrupted run's"; fi
  done

  # A rank killed with SIGKILL under srun: the others end within 30 s (srun alone would
  # leave them waiting in a collective), with a message naming the rank and the step; the
  # checkpoints written before stay valid.
  rm -rf long-out/long.checkpoints long-out/d.npy
  if render die-srun.sh long.yaml -N 1 --ntasks-per-node 2 --launcher srun -t 10; then
    t0=$SECONDS
    id="$(DND_TEST_FAULT=die-before:d submit die-srun.sh)" && got="$(wait_job "$id" 60)"
    took=$((SECONDS - t0)) log="dnd-long-$id.out"
    if [ -z "${id:-}" ] || [ "${got%% *}" = COMPLETED ] || [ "$took" -gt 30 ]; then
      bad die-srun "job ${id:-?} ended as [$got] after $took s"; cat "$log" 2> /dev/null
    elif has die-srun "$log" "rank 1 \(pid [0-9]+ on [^)]+\) died during step 'd' \(\[4/5\], reduce\)"; then
      [ "$(ls long-out/long.checkpoints 2> /dev/null | grep -c '\.h5$')" = 3 ] && [ ! -e long-out/d.npy ] &&
        ok "die-srun: rank 1 killed, the job ended in $took s naming it and step d; 3 checkpoints kept" ||
        bad die-srun "checkpoints or outputs: $(ls long-out long-out/long.checkpoints 2>&1 | tr '\n' ' ')"
    fi
  fi

  # The memory check: 1 KiB per node cannot hold the pipeline.
  if render tiny-mem.sh "$PIPE" -N 1 --ntasks-per-node 2 --mem 1K; then
    has mem-warning tiny-mem.sh.err "warning: the pipeline needs about .* per rank at 2 ranks \\(dnd plan\\), .* but a node has 1.0 KiB \\(--mem 1K\\)" &&
      has mem-note tiny-mem.sh "^# dnd plan: about .* per rank at 2 ranks" && ok "memory: dnd plan's estimate warns"
  fi

  # A scaling study in one allocation.
  workload="${DND_SLURM_BENCH_WORKLOAD:-matmul}"
  if render bench.sh --workload "$workload" -N 1 --ntasks-per-node 2 --ranks 1,2 --out bench-out; then
    id="$(submit bench.sh)" && expect_job bench "$id" "COMPLETED 0:0" && {
      if [ -n "$(ls -A bench-out 2> /dev/null)" ]; then ok "bench: $workload at 1,2 ranks, reports $(ls bench-out | tr '\n' ' ')"
      else bad bench "no reports in bench-out:"; cat "dnd-bench-$workload-$id.out"; fi
    }
  fi
fi

if [ "$fail" -ne 0 ]; then
  show_logs
  echo "slurm_jobs: FAILED"
  exit 1
fi
echo "slurm_jobs: all passed"
