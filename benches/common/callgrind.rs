//! Valgrind client requests (callgrind's subset), written out instead of linking valgrind's
//! headers: each request is the documented "magic" instruction sequence, which does nothing on
//! a real CPU (the four rotations of `rdi` add up to 128 bits, and `xchg rbx, rbx` is a no-op)
//! and which valgrind's JIT recognises and turns into a call into the tool.
//!
//! Outside valgrind every request returns its default (0) and costs a few cycles, so the same
//! binary runs natively and under `valgrind --tool=callgrind`.

/// `VG_USERREQ_TOOL_BASE('C','T')`: callgrind's requests start here (callgrind.h).
const CALLGRIND_BASE: usize = ((b'C' as usize) << 24) | ((b'T' as usize) << 16);
const DUMP_STATS_AT: usize = CALLGRIND_BASE + 3;
const ZERO_STATS: usize = CALLGRIND_BASE + 1;
const TOGGLE_COLLECT: usize = CALLGRIND_BASE + 2;
const START_INSTRUMENTATION: usize = CALLGRIND_BASE + 4;
const STOP_INSTRUMENTATION: usize = CALLGRIND_BASE + 5;
/// valgrind.h's `VG_USERREQ__RUNNING_ON_VALGRIND`.
const RUNNING_ON_VALGRIND: usize = 0x1001;

/// One client request: `args[0]` is the request, `args[1..]` its arguments; returns valgrind's
/// answer, or `default` on a real CPU.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn request(default: usize, args: [usize; 6]) -> usize {
    let result: usize;
    // SAFETY: the sequence only rotates rdi by a multiple of 64 bits (unchanged) and exchanges
    // rbx with itself; valgrind may write rdx (declared) and read the argument array, which
    // lives until the asm ends.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") default => result,
            in("rax") args.as_ptr(),
            in("rdi") 0usize,
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
fn request(default: usize, _args: [usize; 6]) -> usize {
    default
}

/// Whether this process runs under valgrind.
pub fn running_on_valgrind() -> bool {
    request(0, [RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) != 0
}

/// Starts or stops counting events (callgrind `--collect-atstart=no` starts stopped).
#[inline(always)]
pub fn toggle_collect() {
    request(0, [TOGGLE_COLLECT, 0, 0, 0, 0, 0]);
}

/// Sets every counter to zero.
pub fn zero_stats() {
    request(0, [ZERO_STATS, 0, 0, 0, 0, 0]);
}

/// Writes the counters to a new profile file whose `desc: Trigger:` line ends with `label`,
/// then zeroes them.
pub fn dump_stats_at(label: &str) {
    let c = std::ffi::CString::new(label).expect("a label without NUL");
    request(0, [DUMP_STATS_AT, c.as_ptr() as usize, 0, 0, 0, 0]);
}

/// Switches instrumentation on (callgrind `--instr-atstart=no` leaves setup uninstrumented,
/// which runs several times faster).
pub fn start_instrumentation() {
    request(0, [START_INSTRUMENTATION, 0, 0, 0, 0, 0]);
}

/// Switches instrumentation off again.
pub fn stop_instrumentation() {
    request(0, [STOP_INSTRUMENTATION, 0, 0, 0, 0, 0]);
}
