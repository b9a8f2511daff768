#!/usr/bin/env bash
# Profile Criterion benches with pprof and print the flamegraph SVGs produced.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/flamegraph.sh BENCH [FILTER] [SECONDS]

Runs `cargo bench --bench BENCH -- --profile-time SECONDS [FILTER]`: Criterion runs each selected
benchmark for SECONDS (default 5) without measuring it, while the shared pprof profiler
(benches/common/mod.rs) samples the process and writes one flamegraph per benchmark:

    target/criterion/<group>/<id>/profile/flamegraph.svg

(the root follows $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion). The script prints the path
of every SVG the run produced and fails if it produced none (a FILTER matching nothing, say).

  BENCH     a [[bench]] name from Cargo.toml: signal, burst, concurrency, database, journal
  FILTER    Criterion's regex over benchmark ids (default: every benchmark in BENCH)
  SECONDS   profiling time per benchmark (default 5)

Environment:
  TICKBENCH_PROFILE_HZ   sampling frequency in Hz (default 997)

Examples:
  scripts/flamegraph.sh signal engine/tick 5
  scripts/flamegraph.sh database
  TICKBENCH_PROFILE_HZ=4999 scripts/flamegraph.sh signal 'engine/' 10

Open an SVG in a browser: frames are clickable (zoom) and searchable (Ctrl-F).
USAGE
}

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
esac
[[ $# -le 3 ]] || { echo "flamegraph.sh: too many arguments (see --help)" >&2; exit 2; }

bench=$1
filter=${2:-}
seconds=${3:-5}
if ! [[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || [[ $seconds =~ ^0+([.]0*)?$ ]]; then
    echo "flamegraph.sh: SECONDS must be a positive number, got '$seconds'" >&2
    exit 2
fi

cd "$(dirname "$0")/.."
if ! grep -qx "name = \"$bench\"" Cargo.toml; then
    echo "flamegraph.sh: no bench named '$bench' in Cargo.toml" >&2
    exit 2
fi

if [[ -n ${CRITERION_HOME:-} ]]; then
    root=$CRITERION_HOME
else
    root=${CARGO_TARGET_DIR:-target}/criterion
fi
mkdir -p "$root"
marker=$(mktemp "$root/.flamegraph-start.XXXXXX")
trap 'rm -f "$marker"' EXIT

args=(--profile-time "$seconds")
[[ -n $filter ]] && args+=("$filter")
cargo bench --bench "$bench" -- "${args[@]}"

mapfile -t svgs < <(find "$root" -name flamegraph.svg -newer "$marker" -size +0c | sort)
if [[ ${#svgs[@]} -eq 0 ]]; then
    echo "flamegraph.sh: no flamegraph produced (does FILTER '${filter}' match a benchmark of '$bench'?)" >&2
    exit 1
fi
echo
echo "flamegraphs (${#svgs[@]}):"
printf '  %s\n' "${svgs[@]}"
