#!/usr/bin/env bash
# Starts `msa run` on a job of two 300 s sleeps, sends it SIGINT as a
# terminal's Ctrl-C would, and checks that the job stops promptly with exit
# code 130 and says why.
set -u
msa=$1 job=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$msa" run "$job" >"$out" 2>&1 &
pid=$!
sleep 4
kill -INT "$pid"
start=$(date +%s)
wait "$pid"
rc=$?
took=$(( $(date +%s) - start ))
cat "$out"
if [ "$rc" -ne 130 ]; then echo "FAIL: msa run exited $rc after SIGINT, expected 130"; exit 1; fi
if [ "$took" -gt 20 ]; then echo "FAIL: the job took ${took}s to stop"; exit 1; fi
grep -q "got signal 2, stopping the job" "$out" || { echo "FAIL: no message about the signal"; exit 1; }
grep -qE "^  a +booster +1 +[0-9.]+ s +1[34][03] \(rank 0 ended by signal (2|15), stopped\)" "$out" ||
  { echo "FAIL: summary does not show component a stopped by a signal"; exit 1; }
sleep 1
if pgrep -f "sleep 307" >/dev/null; then echo "FAIL: the job's processes are still running"; exit 1; fi
echo "ok: stopped in ${took}s with exit code 130"
