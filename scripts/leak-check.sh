#!/usr/bin/env bash
# Run the dhat heap-growth checks (tests/heap_*.rs) in release mode; optionally keep DHAT profiles.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/leak-check.sh [--profile] [WORKLOAD...]

Runs each dhat heap-growth test in release mode (`cargo test --release --test heap_<WORKLOAD>`),
where the workloads run at full size (millions of ticks; CI's debug `cargo test` runs them
scaled down). Each test warms up, samples dhat's live bytes/blocks after every later window,
prints the figures and fails on growth beyond its stated slack. heap_leak_detected leaks on
purpose and passes only if the check catches it.

  WORKLOAD    names after `heap_` (default: every tests/heap_*.rs), e.g. signal_engine journal
  --profile   also write a dhat-heap.json per workload under target/dhat/<workload>/ (dhat's
              profiling mode instead of its testing mode; slower) and print how to open them
  -h, --help  this text

Examples:
  scripts/leak-check.sh
  scripts/leak-check.sh signal_engine
  scripts/leak-check.sh --profile

Exit status: 0 when every check passed, 1 when any failed (each is still run), 2 on bad usage.
USAGE
}

profile=0
workloads=()
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        --profile) profile=1 ;;
        -*) echo "leak-check.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
        *) workloads+=("${arg#heap_}") ;;
    esac
done

cd "$(dirname "$0")/.."
if [[ ${#workloads[@]} -eq 0 ]]; then
    for f in tests/heap_*.rs; do
        name=${f#tests/heap_}
        workloads+=("${name%.rs}")
    done
fi
for w in "${workloads[@]}"; do
    if [[ ! -f tests/heap_$w.rs ]]; then
        echo "leak-check.sh: no heap check 'tests/heap_$w.rs'" >&2
        exit 2
    fi
done

target=${CARGO_TARGET_DIR:-target}
if [[ $profile -eq 1 ]]; then
    mkdir -p "$target/dhat"
    dhat_dir=$(cd "$target/dhat" && pwd)
    export TICKBENCH_DHAT_DIR=$dhat_dir
fi

# Build every selected test once, so the per-test runs below only run.
build_args=()
for w in "${workloads[@]}"; do build_args+=(--test "heap_$w"); done
cargo test --release --no-run "${build_args[@]}"

failed=()
for w in "${workloads[@]}"; do
    echo
    echo "== heap_$w (release)"
    if [[ $profile -eq 1 ]]; then rm -f "$dhat_dir/$w/dhat-heap.json"; fi
    if ! cargo test --release --quiet --test "heap_$w" -- --nocapture; then
        failed+=("$w")
    fi
done

if [[ $profile -eq 1 ]]; then
    echo
    echo "DHAT profiles:"
    for w in "${workloads[@]}"; do
        f=$dhat_dir/$w/dhat-heap.json
        if [[ -s $f ]]; then echo "  $f"; fi
    done
    viewer=""
    for v in /usr/libexec/valgrind/dh_view.html /usr/lib/valgrind/dh_view.html \
        /usr/local/libexec/valgrind/dh_view.html; do
        if [[ -f $v ]]; then viewer=$v; break; fi
    done
    echo
    if [[ -n $viewer ]]; then
        echo "Open one in the DHAT viewer: file://$viewer (valgrind's copy), then 'Load' the JSON."
    else
        echo "Open one in the DHAT viewer: https://nnethercote.github.io/dh_view/dh_view.html"
        echo "(or valgrind's dh_view.html), then 'Load' the JSON."
    fi
    echo "(heap_leak_detected always runs in testing mode and writes no profile.)"
fi

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "leak-check: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "leak-check: all ${#workloads[@]} heap checks passed"
