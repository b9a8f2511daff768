//! Shared Criterion configuration for every bench file, with a pprof flamegraph profiler.
//!
//! pprof's own `criterion` feature pins Criterion 0.5 and does not build with 0.8, so this module
//! implements `criterion::profiler::Profiler` itself. Criterion calls the profiler only under
//! `--profile-time N`; a normal `cargo bench` never starts it, so it costs nothing there.
//!
//! ```text
//! cargo bench --bench signal -- --profile-time 5 engine/tick
//! # → target/criterion/<group>/<id>/profile/flamegraph.svg
//! ```

#![allow(dead_code)] // each bench file uses a different subset

use std::fs::File;
use std::io::BufWriter;
use std::os::raw::c_int;
use std::path::Path;

use criterion::profiler::Profiler;
use criterion::Criterion;

/// Sampling frequency of the flamegraph profiler, in Hz.
pub const PROFILE_HZ: c_int = 997;

/// The Criterion configuration every bench file starts from: Criterion's defaults (100 samples,
/// 3 s warm-up, 5 s measurement) plus the flamegraph profiler. Command-line flags still apply.
pub fn criterion() -> Criterion {
    Criterion::default().with_profiler(FlamegraphProfiler::new(PROFILE_HZ))
}

/// Writes `flamegraph.svg` into the benchmark's profile directory when Criterion profiles it.
pub struct FlamegraphProfiler {
    frequency: c_int,
    active: Option<pprof::ProfilerGuard<'static>>,
}

impl FlamegraphProfiler {
    /// A profiler sampling at `frequency` Hz.
    pub fn new(frequency: c_int) -> Self {
        Self {
            frequency,
            active: None,
        }
    }
}

impl Profiler for FlamegraphProfiler {
    fn start_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
        match pprof::ProfilerGuardBuilder::default()
            .frequency(self.frequency)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
        {
            Ok(guard) => self.active = Some(guard),
            Err(e) => eprintln!("flamegraph: cannot start profiler for {benchmark_id}: {e}"),
        }
    }

    fn stop_profiling(&mut self, benchmark_id: &str, benchmark_dir: &Path) {
        let Some(guard) = self.active.take() else {
            return;
        };
        let path = benchmark_dir.join("flamegraph.svg");
        let result = (|| -> Result<(), Box<dyn std::error::Error>> {
            std::fs::create_dir_all(benchmark_dir)?;
            let report = guard.report().build()?;
            let tmp = benchmark_dir.join("flamegraph.svg.tmp");
            report.flamegraph(BufWriter::new(File::create(&tmp)?))?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        })();
        match result {
            Ok(()) => eprintln!("flamegraph: {benchmark_id} → {}", path.display()),
            Err(e) => eprintln!("flamegraph: cannot write {}: {e}", path.display()),
        }
    }
}
