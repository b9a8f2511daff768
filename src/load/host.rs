//! What the host and the kernel took from a run: the hypervisor's steal time, the CPU other
//! processes used, and the involuntary context switches and run-queue waits of threads, read
//! from `/proc` and `getrusage`.
//!
//! - **Steal** is the 8th value of the `cpu` line of `/proc/stat`: time, summed over all CPUs,
//!   during which the hypervisor ran something else while this VM wanted a CPU, in `USER_HZ`
//!   ticks (usually 10 ms each, so a 100 ms sample of a 2-CPU machine sees steal in steps of
//!   5 %). A stolen CPU looks to the guest like a thread that simply ran slowly, so nothing else
//!   in the guest shows it.
//! - **Other processes' CPU** is the machine's busy time (the same line's user, nice, system,
//!   irq and softirq) minus this process's own CPU time: compilers, other tests, daemons.
//! - **Involuntary context switches** (`nonvoluntary_ctxt_switches` of
//!   `/proc/self/task/<tid>/status`, `ru_nivcsw` of `getrusage`) count the times the guest's own
//!   scheduler took a CPU from a thread that still wanted it: other processes on the machine, or
//!   the process's own threads crowding each other.
//! - **Run-queue wait** (the second value of `/proc/self/task/<tid>/schedstat`, ns) is how long a
//!   thread was ready to run but waited for a CPU the guest gave to something else: the length
//!   that the switches only count.

use std::io::Read;

/// The machine's CPU time so far, all CPUs together, from the `cpu` line of `/proc/stat`, in
/// `USER_HZ` ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTicks {
    /// Time some process or the kernel ran: user + nice + system + irq + softirq (guest time is
    /// part of user).
    pub busy: u64,
    /// Steal, the 8th value (`None` on kernels before 2.6.11, which have no such column).
    pub steal: Option<u64>,
}

/// The `cpu` line of a `/proc/stat` text; `None` if it is missing or has fewer than 7 values.
pub fn parse_cpu_ticks(stat: &str) -> Option<CpuTicks> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<Option<u64>> = line
        .split_ascii_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect();
    let at = |i: usize| values.get(i).copied().flatten();
    let busy = [0, 1, 2, 5, 6].into_iter().map(at).sum::<Option<u64>>()?;
    Some(CpuTicks { busy, steal: at(7) })
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

/// The machine's busy and steal time so far, ns summed over all CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time every process (this one included) and the kernel ran.
    pub busy_ns: u64,
    /// Time the hypervisor took (`None`: unknown).
    pub steal_ns: Option<u64>,
}

/// Reads the machine's CPU times from `/proc/stat`, reusing a buffer.
pub struct StatReader {
    buf: String,
    ns_per_tick: u64,
}

impl StatReader {
    /// A reader; `USER_HZ` comes from `sysconf(_SC_CLK_TCK)` (100 if unknown).
    pub fn new() -> Self {
        // SAFETY: sysconf has no memory-safety preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let hz = if hz > 0 { hz as u64 } else { 100 };
        StatReader {
            buf: String::with_capacity(4096),
            ns_per_tick: 1_000_000_000 / hz,
        }
    }

    /// The times so far; `None` where `/proc/stat` cannot be read (the report then says they
    /// are unknown rather than zero).
    pub fn read(&mut self) -> Option<CpuTimes> {
        self.buf.clear();
        std::fs::File::open("/proc/stat")
            .and_then(|mut f| f.read_to_string(&mut self.buf))
            .ok()?;
        let ticks = parse_cpu_ticks(&self.buf)?;
        Some(CpuTimes {
            busy_ns: ticks.busy.saturating_mul(self.ns_per_tick),
            steal_ns: ticks.steal.map(|t| t.saturating_mul(self.ns_per_tick)),
        })
    }
}

impl Default for StatReader {
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
    fn busy_and_steal_come_from_the_cpu_line() {
        let stat = "cpu  14642 3 4584 38557 406 2 47 59 0 0\n\
                    cpu0 7121 0 2176 19709 86 0 17 29 0 0\nctxt 1234\n";
        assert_eq!(
            parse_cpu_ticks(stat),
            Some(CpuTicks {
                busy: 14642 + 3 + 4584 + 2 + 47,
                steal: Some(59)
            })
        );
        // An old kernel without the steal column, and garbage.
        assert_eq!(
            parse_cpu_ticks("cpu  1 2 3 4 5 6 7\n"),
            Some(CpuTicks {
                busy: 1 + 2 + 3 + 6 + 7,
                steal: None
            })
        );
        assert_eq!(parse_cpu_ticks("cpu0 1 2 3 4 5 6 7 8\n"), None);
        assert_eq!(parse_cpu_ticks("cpu  1 2 3 4 5 x 7 8\n"), None);
        assert_eq!(parse_cpu_ticks("cpu  1 2 3\n"), None);
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
        let times = StatReader::new().read().expect("/proc/stat readable");
        assert!(times.busy_ns > 0 && times.steal_ns.is_some(), "{times:?}");
        let mut buf = String::new();
        let mine = read_thread_switches(current_tid(), &mut buf);
        assert!(mine.is_some(), "own status readable");
        assert!(process_involuntary_switches() >= thread_involuntary_switches());
        assert_eq!(read_thread_switches(i32::MAX, &mut buf), None);
        assert!(thread_ids().contains(&current_tid()));
        assert!(read_thread_wait(current_tid(), &mut buf).is_some());
    }
}
