//! What the host and the kernel took from a run: the hypervisor's steal time, and the
//! involuntary context switches and run-queue waits of threads, read from `/proc` and
//! `getrusage`.
//!
//! - **Steal** is the 8th value of the `cpu` line of `/proc/stat`: time, summed over all CPUs,
//!   during which the hypervisor ran something else while this VM wanted a CPU, in `USER_HZ`
//!   ticks (usually 10 ms each, so a 100 ms sample of a 2-CPU machine sees steal in steps of
//!   5 %). A stolen CPU looks to the guest like a thread that simply ran slowly, so nothing else
//!   in the guest shows it.
//! - **Involuntary context switches** (`nonvoluntary_ctxt_switches` of
//!   `/proc/self/task/<tid>/status`, `ru_nivcsw` of `getrusage`) count the times the guest's own
//!   scheduler took a CPU from a thread that still wanted it: other processes on the machine, or
//!   the process's own threads crowding each other.
//! - **Run-queue wait** (the second value of `/proc/self/task/<tid>/schedstat`, ns) is how long a
//!   thread was ready to run but waited for a CPU the guest gave to something else: the length
//!   that the switches only count.

use std::io::Read;

/// Steal so far (all CPUs together) from the `cpu` line of `/proc/stat`'s text, in ticks; `None`
/// if the line or its 8th value is missing (kernels before 2.6.11 have no steal column).
pub fn parse_steal_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    line.split_ascii_whitespace().nth(8)?.parse().ok()
}

/// The `nonvoluntary_ctxt_switches` value of a `/proc/<pid>/status` text.
pub fn parse_nonvoluntary_switches(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))?
        .trim()
        .parse()
        .ok()
}

/// Reads the machine's steal time, reusing a buffer.
pub struct StealReader {
    buf: String,
    ns_per_tick: u64,
}

impl StealReader {
    /// A reader; `USER_HZ` comes from `sysconf(_SC_CLK_TCK)` (100 if unknown).
    pub fn new() -> Self {
        // SAFETY: sysconf has no memory-safety preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let hz = if hz > 0 { hz as u64 } else { 100 };
        StealReader {
            buf: String::with_capacity(4096),
            ns_per_tick: 1_000_000_000 / hz,
        }
    }

    /// Steal so far, ns summed over all CPUs; `None` where `/proc/stat` cannot be read or has no
    /// steal column (the report then says steal is unknown rather than zero).
    pub fn read_ns(&mut self) -> Option<u64> {
        self.buf.clear();
        std::fs::File::open("/proc/stat")
            .and_then(|mut f| f.read_to_string(&mut self.buf))
            .ok()?;
        parse_steal_ticks(&self.buf).map(|t| t.saturating_mul(self.ns_per_tick))
    }
}

impl Default for StealReader {
    fn default() -> Self {
        Self::new()
    }
}

/// Involuntary context switches of the whole process so far, exited threads included.
pub fn process_involuntary_switches() -> u64 {
    rusage(libc::RUSAGE_SELF).map_or(0, |r| r.ru_nivcsw as u64)
}

/// Involuntary context switches of the calling thread so far.
pub fn thread_involuntary_switches() -> u64 {
    rusage(libc::RUSAGE_THREAD).map_or(0, |r| r.ru_nivcsw as u64)
}

fn rusage(who: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; `who` is RUSAGE_SELF or RUSAGE_THREAD.
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    (rc == 0).then_some(usage)
}

/// The calling thread's kernel id.
pub fn current_tid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// Involuntary context switches so far of thread `tid` of this process, reading
/// `/proc/self/task/<tid>/status` into `buf`; `None` once the thread has exited.
pub fn read_thread_switches(tid: i32, buf: &mut String) -> Option<u64> {
    buf.clear();
    std::fs::File::open(format!("/proc/self/task/{tid}/status"))
        .and_then(|mut f| f.read_to_string(buf))
        .ok()?;
    parse_nonvoluntary_switches(buf)
}

/// The run-queue wait (ns) of a `/proc/<pid>/task/<tid>/schedstat` text: its second value.
pub fn parse_schedstat_wait(schedstat: &str) -> Option<u64> {
    schedstat.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Run-queue wait so far of thread `tid` of this process, ns, reading its `schedstat` into
/// `buf`; `None` once the thread has exited or where the kernel keeps no schedstat.
pub fn read_thread_wait(tid: i32, buf: &mut String) -> Option<u64> {
    buf.clear();
    std::fs::File::open(format!("/proc/self/task/{tid}/schedstat"))
        .and_then(|mut f| f.read_to_string(buf))
        .ok()?;
    parse_schedstat_wait(buf)
}

/// The kernel ids of this process's threads now (empty if `/proc/self/task` cannot be read).
pub fn thread_ids() -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_value_of_the_cpu_line() {
        let stat = "cpu  14642 0 4584 38557 406 0 47 59 0 0\n\
                    cpu0 7121 0 2176 19709 86 0 17 29 0 0\nctxt 1234\n";
        assert_eq!(parse_steal_ticks(stat), Some(59));
        // An old kernel without the steal column, and garbage.
        assert_eq!(parse_steal_ticks("cpu  1 2 3 4 5 6 7\n"), None);
        assert_eq!(parse_steal_ticks("cpu0 1 2 3 4 5 6 7 8\n"), None);
        assert_eq!(parse_steal_ticks("cpu  1 2 3 4 5 6 7 x\n"), None);
    }

    #[test]
    fn nonvoluntary_switches_from_status() {
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(parse_nonvoluntary_switches(status), Some(7));
        assert_eq!(parse_nonvoluntary_switches("Name:\tx\n"), None);
    }

    #[test]
    fn run_queue_wait_is_the_second_schedstat_value() {
        assert_eq!(
            parse_schedstat_wait("5890976 18188405 3\n"),
            Some(18_188_405)
        );
        assert_eq!(parse_schedstat_wait("5890976\n"), None);
    }

    #[test]
    fn live_readings_work_on_this_machine() {
        let mut steal = StealReader::new();
        assert!(steal.read_ns().is_some(), "/proc/stat has a steal column");
        let mut buf = String::new();
        let mine = read_thread_switches(current_tid(), &mut buf);
        assert!(mine.is_some(), "own status readable");
        assert!(process_involuntary_switches() >= thread_involuntary_switches());
        assert_eq!(read_thread_switches(i32::MAX, &mut buf), None);
        assert!(thread_ids().contains(&current_tid()));
        assert!(read_thread_wait(current_tid(), &mut buf).is_some());
    }
}
