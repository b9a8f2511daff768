#!/usr/bin/env bash
# Runs the benchmark suite, saves a Criterion baseline, and reports against this machine's
# stored baseline.
#
# Usage: scripts/bench.sh [--quick] [--name NAME] [--bench FILE]... [FILTER]...
#
#   --quick        pass --quick to Criterion (fast, rough; never store such a run)
#   --name NAME    Criterion baseline name to save [default: run-<UTC timestamp>]
#   --bench FILE   only this bench file (benches/FILE.rs); repeatable [default: all]
#   --no-confirm   do not re-run flagged benchmarks to confirm a regression
#   FILTER...      Criterion id filters (regexes), joined with `|` and passed through
#   -h, --help     this text
#
# The canary bench (benches/canary.rs, ids canary/*) always runs too, also with --bench or a
# FILTER: it anchors the machine-drift correction of the compare.
# Then: if baselines/<machine-id>.json exists (`tickbench machine --id`), prints
# `tickbench compare baselines/<machine-id>.json NAME`; when it finds regressions, re-runs just
# those benchmarks (and the canaries) as NAME-confirm and prints the compare of both new runs,
# NAME,NAME-confirm, whose exit code it returns (0 ok, 1 regression, 2 bad input): a regression
# must reproduce. Otherwise prints `tickbench summary NAME` and how to store it:
#   tickbench save NAME --as "$(tickbench machine --id)"            # first run
#   tickbench save NAME --as "$(tickbench machine --id)" --append   # more runs of the same code
# Environment: TICKBENCH_COMPARE_ARGS adds flags to the compare (e.g. "--threshold 3").
set -euo pipefail

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

quick=()
confirm=1
name="run-$(date -u +%Y%m%dT%H%M%SZ)"
benches=()
filters=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --quick) quick=(--quick); shift ;;
        --no-confirm) confirm=0; shift ;;
        --name) [[ $# -ge 2 ]] || { echo "error: --name needs a value" >&2; exit 2; }
                name="$2"; shift 2 ;;
        --bench) [[ $# -ge 2 ]] || { echo "error: --bench needs a value" >&2; exit 2; }
                 benches+=(--bench "$2"); shift 2 ;;
        --) shift; filters+=("$@"); break ;;
        -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) filters+=("$1"); shift ;;
    esac
done

cd "$(dirname "$0")/.."
cargo build --release --quiet --bin tickbench
tickbench=target/release/tickbench

# `--benches` runs every bench file; with --bench, add the canary file (the drift anchor).
if [[ ${#benches[@]} -eq 0 ]]; then
    benches=(--benches)
elif [[ " ${benches[*]} " != *" canary "* ]]; then
    benches+=(--bench canary)
fi
filter=()
if [[ ${#filters[@]} -gt 0 ]]; then
    filter=("$(IFS='|'; echo "${filters[*]}")|^canary/")
fi
cargo bench "${benches[@]}" -- --save-baseline "$name" "${quick[@]}" "${filter[@]}"

stored="baselines/$("$tickbench" machine --id).json"
if [[ -f "$stored" ]]; then
    echo
    echo "== tickbench compare $stored $name"
    status=0
    # shellcheck disable=SC2086 # word splitting of extra flags is intended
    "$tickbench" compare "$stored" "$name" ${TICKBENCH_COMPARE_ARGS:-} || status=$?
    if [[ $status -ne 1 || $confirm -eq 0 ]]; then
        exit "$status"
    fi
    # A regression must reproduce. A shared VM sometimes slows one benchmark for its whole
    # measurement (a neighbour, a migration); no statistic on one run can tell that from a real
    # change, a second run can. Re-run only the flagged benchmarks (and the canaries) and judge
    # both new runs together against the stored ones.
    report="$(mktemp)"
    trap 'rm -f "$report"' EXIT
    # shellcheck disable=SC2086
    "$tickbench" compare "$stored" "$name" ${TICKBENCH_COMPARE_ARGS:-} --format json --out "$report" || true
    # The JSON report is pretty-printed with "id" then "verdict" on consecutive lines.
    ids="$(awk -F'"' '/^ *"id": /{id=$4} /^ *"verdict": "regressed"/{print id}' "$report")"
    [[ -n "$ids" ]] || exit "$status"
    regex="$(printf '%s\n' "$ids" | sed 's/[][\\.^$*+?(){}|]/\\&/g; s/^/^/; s/$/$/' | paste -sd'|')"
    echo
    echo "== confirming $(printf '%s\n' "$ids" | wc -l) flagged benchmark(s) with a second run ($name-confirm)"
    cargo bench "${benches[@]}" -- --save-baseline "$name-confirm" "${quick[@]}" "$regex|^canary/"
    echo
    echo "== tickbench compare $stored $name,$name-confirm"
    # shellcheck disable=SC2086
    exec "$tickbench" compare "$stored" "$name,$name-confirm" ${TICKBENCH_COMPARE_ARGS:-}
else
    echo
    echo "== tickbench summary $name (no stored baseline $stored for this machine yet)"
    "$tickbench" summary "$name"
    echo
    echo "To make this run the baseline of this machine (not on CI):"
    echo "  $tickbench save $name --as $(basename "$stored" .json)"
fi
