#!/usr/bin/env bash
# biopipe end to end, driven by ctest:
#   biopipe_runs.sh ranks  BIOPIPE MPIEXEC PIPELINE WORKDIR
#     runs at 1, 2, 3 and 4 ranks: every run gives the same results digest,
#     and the aligner puts >= 95 % of the synthetic reads at their origin;
#   biopipe_runs.sh resume BIOPIPE MPIEXEC PIPELINE WORKDIR
#     kills a rank in the middle of a run with a journal, reruns, and checks
#     that the rerun skips journaled tasks and gives the uninterrupted digest.
set -euo pipefail
mode=$1 biopipe=$2 mpiexec=$3 pipeline=$4 work=$5

layout() {
  case $1 in
    1) echo booster:1 ;;
    2) echo booster:1,cluster:1 ;;
    3) echo booster:1,cluster:2 ;;
    *) echo booster:$(($1 / 2)),cluster:$(($1 - $1 / 2)) ;;
  esac
}

# run DIR NP [env assignments for the ranks...] -- [biopipe options...]
run() {
  local dir=$1 np=$2
  shift 2
  local xs=(-x "MSA_LAYOUT=$(layout "$np")")
  while [ $# -gt 0 ] && [ "$1" != -- ]; do xs+=(-x "$1"); shift; done
  [ $# -gt 0 ] && shift
  mkdir -p "$dir"
  (cd "$dir" && "$mpiexec" --oversubscribe -np "$np" "${xs[@]}" "$biopipe" run "$pipeline" "$@")
}

digest_of() { sed -n 's/^results digest: //p' "$1/out/summary.txt"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
case $mode in
  ranks)
    for np in 1 2 3 4; do
      run "$work/np$np" "$np" > "$work/np$np.log" 2>&1 || { cat "$work/np$np.log"; fail "run at $np ranks failed"; }
      echo "np $np: $(digest_of "$work/np$np")"
    done
    first=$(digest_of "$work/np1")
    [ -n "$first" ] || fail "no results digest in $work/np1/out/summary.txt"
    for np in 2 3 4; do
      [ "$(digest_of "$work/np$np")" = "$first" ] || fail "results at $np ranks differ from 1 rank"
    done
    # The aligner is right: reads land where the generator took them from.
    read -r correct labelled < <(sed -n 's/^synthetic truth: \([0-9]*\) of \([0-9]*\) .*/\1 \2/p' "$work/np1/out/summary.txt")
    [ "$labelled" -gt 2000 ] || fail "only $labelled labelled reads"
    [ $((100 * correct)) -ge $((95 * labelled)) ] || fail "only $correct of $labelled reads at their origin"
    # With both modules present, both ran tasks.
    grep -Eq "module booster +2 ranks +[1-9]" "$work/np4/out/summary.txt" || fail "booster idle at 4 ranks"
    grep -Eq "module cluster +2 ranks +[1-9]" "$work/np4/out/summary.txt" || fail "cluster idle at 4 ranks"
    echo "biopipe: identical results at 1-4 ranks ($first), $correct of $labelled reads at their origin"
    ;;
  resume)
    run "$work/reference" 2 > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; fail "reference run failed"; }
    expected=$(digest_of "$work/reference")
    # A rank dies (SIGKILL) when it starts its second alignment.
    if run "$work/resume" 3 MSA_BIOPIPE_KILL_AFTER=1 -- --journal journal > "$work/killed.log" 2>&1; then
      cat "$work/killed.log"; fail "the run with a killed rank succeeded"
    fi
    grep -q "killed by MSA_BIOPIPE_KILL_AFTER" "$work/killed.log" || { cat "$work/killed.log"; fail "no rank was killed"; }
    [ ! -e "$work/resume/out/summary.txt" ] || fail "the killed run wrote a summary"
    run "$work/resume" 3 -- --journal journal > "$work/resumed.log" 2>&1 || { cat "$work/resumed.log"; fail "the rerun failed"; }
    skipped=$(sed -n 's/^scheduler: [0-9]* tasks run, \([0-9]*\) from the journal.*/\1/p' "$work/resume/out/summary.txt")
    [ "${skipped:-0}" -gt 0 ] || fail "the rerun skipped no task"
    [ "$(digest_of "$work/resume")" = "$expected" ] || fail "the resumed results differ from an uninterrupted run"
    echo "biopipe: resumed after a killed rank, $skipped tasks from the journal, same results ($expected)"
    ;;
  *) fail "unknown mode $mode" ;;
esac
