#!/usr/bin/env bash
# Runs the benchmark suite, saves a Criterion baseline, and reports against this machine's
# stored baseline.
#
# Usage: scripts/bench.sh [--quick] [--name NAME] [--bench FILE]... [FILTER]...
#
#   --quick        pass --quick to Criterion (fast, rough; never store such a run)
#   --name NAME    Criterion baseline name to save [default: run-<UTC timestamp>]
#   --bench FILE   only this bench file (benches/FILE.rs); repeatable [default: all]
#   FILTER...      Criterion id filters (regexes), joined with `|` and passed through
#   -h, --help     this text
#
# The canary bench (benches/canary.rs, ids canary/*) always runs too, also with --bench or a
# FILTER: it anchors the machine-drift correction of the compare.
# Then: if baselines/<machine-id>.json exists (`tickbench machine --id`), prints
# `tickbench compare baselines/<machine-id>.json NAME` and exits with its code (0 ok,
# 1 regression, 2 bad input); otherwise prints `tickbench summary NAME` and how to store it:
#   tickbench save NAME --as "$(tickbench machine --id)"            # first run
#   tickbench save NAME --as "$(tickbench machine --id)" --append   # more runs of the same code
# Environment: TICKBENCH_COMPARE_ARGS adds flags to the compare (e.g. "--threshold 3").
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

quick=()
name="run-$(date -u +%Y%m%dT%H%M%SZ)"
benches=()
filters=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --quick) quick=(--quick); shift ;;
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
    # shellcheck disable=SC2086 # word splitting of extra flags is intended
    exec "$tickbench" compare "$stored" "$name" ${TICKBENCH_COMPARE_ARGS:-}
else
    echo
    echo "== tickbench summary $name (no stored baseline $stored for this machine yet)"
    "$tickbench" summary "$name"
    echo
    echo "To make this run the baseline of this machine (not on CI):"
    echo "  $tickbench save $name --as $(basename "$stored" .json)"
fi
