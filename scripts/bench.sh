#!/usr/bin/env bash
# Runs the benchmark suite and reports against this machine's stored baseline: builds the
# tickbench CLI and hands every argument to `tickbench bench`, which does the work (progress
# with an ETA, save, compare with baselines/<machine-id>.json, a second run to confirm a
# regression; exit 0 ok, 1 confirmed regression, 2 bad input or failure).
#
# Usage: scripts/bench.sh [--quick] [--name NAME] [--bench FILE]... [--no-confirm] [FILTER]...
#        scripts/bench.sh --help       # all options (`tickbench bench --help`)
#
# Runs from the repository root, so baselines/ and target/ are the repository's.
# Environment: TICKBENCH_COMPARE_ARGS adds compare flags (e.g. "--threshold 3").
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    echo
fi
cargo build --release --quiet --bin tickbench
# shellcheck disable=SC2086 # word splitting of the extra flags is intended
exec "${CARGO_TARGET_DIR:-target}/release/tickbench" bench ${TICKBENCH_COMPARE_ARGS:-} "$@"
