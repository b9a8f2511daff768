//! The live view of a running load test: one status line a second on stderr.
//!
//! On a terminal the line is rewritten in place every second; elsewhere (CI logs, a file) a
//! plain line is written every [`PLAIN_EVERY`] and once more at the end, so a 10-minute run
//! shows in a log as it goes without flooding it. `--quiet` turns it off. A line reads
//!
//! ```text
//! [quick] 3.0/6.0 s  sent 1000513/s (100.0 %)  p99 52.3 µs  CPU 36 % (SUT 12 %)  others 2 %  RSS 14.2 MiB  steal 0.0 %
//! ```
//!
//! elapsed / total (warm-up included), the rate sent since the last line and its share of the
//! offered rate, the p99 of the last second of the measured window that has ended (`warm-up`
//! before there is one), the process's and the system under test's CPU over the last second
//! (% of all cores), other processes' CPU, the RSS, and the machine's steal over the last
//! second (% of all CPUs).
//!
//! The same thread collects the recorder's per-second latency pieces every second (see
//! [`super::metrics`]), with or without a display, so that they never pile up.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::generator::SendCounters;
use super::metrics::Recorder;
use super::monitor::{HarnessThreads, SampleLog};
use super::profile::LoadProfile;

/// How often a plain (non-terminal) status line is written.
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// The line's period: the latency it shows is that of one second.
const PERIOD: Duration = Duration::from_secs(1);
/// Collect just after a second of the measured window ends, so it is complete.
const AFTER_BOUNDARY: Duration = Duration::from_millis(5);

/// Where and how the status goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Nothing shown (the per-second latency is still collected).
    Off,
    /// One line rewritten in place every second.
    Terminal,
    /// A plain line every `every`, and one at the end.
    Lines {
        /// Time between lines.
        every: Duration,
    },
}

/// What one status line shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// The profile's name.
    pub name: String,
    /// Seconds since the start (warm-up included).
    pub elapsed_s: f64,
    /// Seconds the load lasts (warm-up included).
    pub total_s: f64,
    /// Ticks sent per second since the last status.
    pub rate: f64,
    /// The offered rate, ticks per second (bursts included).
    pub offered: f64,
    /// p99 of the last ended second of the measured window, µs (`None` during the warm-up).
    pub p99_us: Option<f64>,
    /// CPU of the process and of the system under test over the last second, % of all cores.
    pub cpu_pct: Option<(f64, f64)>,
    /// CPU of other processes over the last second, % of all cores (`None`: unknown).
    pub others_pct: Option<f64>,
    /// Resident set, bytes.
    pub rss_bytes: Option<u64>,
    /// Steal over the last second, % of all CPUs (`None`: unknown).
    pub steal_pct: Option<f64>,
}

impl Status {
    /// The status as one line, without a line end.
    pub fn line(&self) -> String {
        let mut line = format!(
            "[{}] {:.1}/{:.1} s  sent {:.0}/s ({:.1} %)",
            self.name,
            self.elapsed_s,
            self.total_s,
            self.rate,
            if self.offered > 0.0 {
                self.rate / self.offered * 100.0
            } else {
                0.0
            }
        );
        match self.p99_us {
            Some(us) if us >= 10_000.0 => line += &format!("  p99 {:.1} ms", us / 1000.0),
            Some(us) => line += &format!("  p99 {us:.1} µs"),
            None => line += "  p99 warm-up",
        }
        if let Some((cpu, sut)) = self.cpu_pct {
            line += &format!("  CPU {cpu:.0} % (SUT {sut:.0} %)");
        }
        if let Some(others) = self.others_pct {
            line += &format!("  others {others:.0} %");
        }
        if let Some(rss) = self.rss_bytes {
            line += &format!("  RSS {:.1} MiB", rss as f64 / (1u64 << 20) as f64);
        }
        match self.steal_pct {
            Some(pct) => line += &format!("  steal {pct:.1} %"),
            None => line += "  steal ?",
        }
        line
    }
}

/// The running status thread.
pub struct Live {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

/// What the status thread reads.
pub struct Sources {
    /// The producers' live counters.
    pub counters: Arc<SendCounters>,
    /// The run's recorder (its per-second latency is collected here).
    pub recorder: Recorder,
    /// The monitor's samples.
    pub log: SampleLog,
    /// The harness's threads (the status thread registers as one).
    pub harness: HarnessThreads,
}

impl Live {
    /// Starts the status thread for a run of `profile` that starts at `t0`.
    pub fn start(
        profile: &LoadProfile,
        t0: Instant,
        display: Display,
        sources: Sources,
    ) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let name = profile.name.clone();
        let total_s = profile.total().as_secs_f64();
        let offered = profile.offered_rate();
        let origin = t0 + profile.warmup() + AFTER_BOUNDARY;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let handle = std::thread::Builder::new()
            .name("load-live".to_owned())
            .spawn(move || {
                let me = sources.harness.register_current();
                let mut last_sent = 0;
                let mut last = t0;
                let mut last_line = t0;
                let mut status = |now: Instant| {
                    let p99_us = sources.recorder.collect_seconds(now).map(|s| s.p99_us);
                    let sent = sources.counters.sent.load(Ordering::Relaxed);
                    let span = now.saturating_duration_since(last).as_secs_f64();
                    let rate = if span > 0.0 {
                        sent.saturating_sub(last_sent) as f64 / span
                    } else {
                        0.0
                    };
                    (last_sent, last) = (sent, now);
                    let recent = sources.log.last_span(PERIOD);
                    let pct = |part: u64, wall: u64| part as f64 / wall as f64 * 100.0 / cores;
                    let (mut cpu_pct, mut steal_pct, mut others_pct) = (None, None, None);
                    if let Some((a, b)) = recent {
                        let wall = b.at_ns - a.at_ns;
                        let cpu = b.cpu_ns.saturating_sub(a.cpu_ns);
                        let harness = b.harness_cpu_ns.saturating_sub(a.harness_cpu_ns);
                        cpu_pct = Some((
                            pct(cpu, wall).min(100.0),
                            pct(cpu.saturating_sub(harness), wall).min(100.0),
                        ));
                        steal_pct = a
                            .steal_ns
                            .zip(b.steal_ns)
                            .map(|(x, y)| pct(y.saturating_sub(x), wall).min(100.0));
                        others_pct = a.machine_busy_ns.zip(b.machine_busy_ns).map(|(x, y)| {
                            pct(y.saturating_sub(x).saturating_sub(cpu), wall).min(100.0)
                        });
                    }
                    Status {
                        name: name.clone(),
                        elapsed_s: now.saturating_duration_since(t0).as_secs_f64(),
                        total_s,
                        rate,
                        offered,
                        p99_us,
                        cpu_pct,
                        others_pct,
                        rss_bytes: recent.map(|(_, b)| b.rss_bytes),
                        steal_pct,
                    }
                };
                while !flag.load(Ordering::Acquire) {
                    let wake = next_tick(origin, Instant::now());
                    while !flag.load(Ordering::Acquire) {
                        let now = Instant::now();
                        if now >= wake {
                            break;
                        }
                        std::thread::park_timeout(wake - now);
                    }
                    if flag.load(Ordering::Acquire) {
                        break;
                    }
                    let now = Instant::now();
                    let line = status(now).line();
                    match display {
                        Display::Off => {}
                        Display::Terminal => show(&format!("\r{line}\x1b[K")),
                        Display::Lines { every } => {
                            if now.saturating_duration_since(last_line) >= every {
                                last_line = now;
                                show(&format!("{line}\n"));
                            }
                        }
                    }
                }
                let line = status(Instant::now()).line();
                match display {
                    Display::Off => {}
                    Display::Terminal => show(&format!("\r{line}\x1b[K\n")),
                    Display::Lines { .. } => show(&format!("{line}\n")),
                }
                me.finish();
            })
            .context("cannot spawn the live status thread")?;
        Ok(Live { stop, handle })
    }

    /// Shows the last line and stops the thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        self.handle.thread().unpark();
        if let Err(panic) = self.handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

/// The display for a run: off when `quiet`, a rewritten line when stderr is a terminal, plain
/// lines otherwise.
pub fn display_for_stderr(quiet: bool) -> Display {
    use std::io::IsTerminal;
    if quiet {
        Display::Off
    } else if std::io::stderr().is_terminal() {
        Display::Terminal
    } else {
        Display::Lines { every: PLAIN_EVERY }
    }
}

fn show(text: &str) {
    // The status is best effort: a closed stderr must not stop the run.
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// The first point of the grid `origin + k s` (k any integer) after `now`.
fn next_tick(origin: Instant, now: Instant) -> Instant {
    let step = PERIOD.as_nanos();
    if now < origin {
        let k = (origin - now).as_nanos().div_ceil(step) - 1;
        origin - Duration::from_nanos(u64::try_from(k * step).unwrap_or(0))
    } else {
        let k = (now - origin).as_nanos() / step + 1;
        origin + Duration::from_nanos(u64::try_from(k * step).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> Status {
        Status {
            name: "quick".to_owned(),
            elapsed_s: 3.04,
            total_s: 6.0,
            rate: 1_000_513.0,
            offered: 1_000_500.0,
            p99_us: Some(52.34),
            cpu_pct: Some((36.2, 12.4)),
            others_pct: Some(48.4),
            rss_bytes: Some(14 << 20),
            steal_pct: Some(0.0),
        }
    }

    #[test]
    fn a_status_line_shows_every_figure() {
        assert_eq!(
            status().line(),
            "[quick] 3.0/6.0 s  sent 1000513/s (100.0 %)  p99 52.3 µs  CPU 36 % (SUT 12 %)  \
             others 48 %  RSS 14.0 MiB  steal 0.0 %"
        );
        let early = Status {
            p99_us: None,
            cpu_pct: None,
            others_pct: None,
            rss_bytes: None,
            steal_pct: None,
            ..status()
        };
        assert_eq!(
            early.line(),
            "[quick] 3.0/6.0 s  sent 1000513/s (100.0 %)  p99 warm-up  steal ?"
        );
        let slow = Status {
            p99_us: Some(31_162.4),
            ..status()
        };
        assert!(slow.line().contains("p99 31.2 ms"), "{}", slow.line());
    }

    #[test]
    fn ticks_fall_on_whole_seconds_from_the_origin() {
        let origin = Instant::now() + Duration::from_millis(2_500);
        let ms = |n: u64| Duration::from_millis(n);
        assert_eq!(next_tick(origin, origin - ms(2_400)), origin - ms(2_000));
        assert_eq!(next_tick(origin, origin - ms(2_000)), origin - ms(1_000));
        assert_eq!(next_tick(origin, origin - ms(300)), origin);
        assert_eq!(next_tick(origin, origin), origin + ms(1_000));
        assert_eq!(next_tick(origin, origin + ms(1)), origin + ms(1_000));
        assert_eq!(next_tick(origin, origin + ms(3_000)), origin + ms(4_000));
    }

    #[test]
    fn quiet_turns_the_display_off() {
        assert_eq!(display_for_stderr(true), Display::Off);
    }
}
