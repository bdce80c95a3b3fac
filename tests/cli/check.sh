# Shared by the CLI test scripts: `check NAME EXPECTED_RC PATTERN -- command...` runs the
# command, then checks its exit code and that its output (stdout and stderr) matches the
# extended regex PATTERN; a failure is printed with the output and sets fail=1.
fail=0
check() {
  local name="$1" want="$2" pattern="$3"; shift 4
  local out rc
  out="$("$@" 2>&1)"; rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; echo "$out" | sed 's/^/    /'; fail=1; return
  fi
  if ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output lacks /$pattern/"; echo "$out" | sed 's/^/    /'; fail=1; return
  fi
  echo "ok   $name"
}
