//! Test targets for the load harness: a single worker thread behind a queue, with a chosen
//! service time, optional back-pressure, an optional stall of the worker and an optional
//! freeze of the whole process.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tickbench::engine::tick::Tick;
use tickbench::load::{Recorder, SubmitError, Submitter, Target, TargetStats};

/// How the worker behaves.
#[derive(Clone, Copy, Debug)]
pub struct Worker {
    /// Time spent per tick (the worker sleeps `len × per_tick` per batch).
    pub per_tick: Duration,
    /// `Some(n)`: a bounded queue of `n` ticks (submit blocks when full); `None`: unbounded.
    pub capacity: Option<usize>,
    /// Stall once for this long when the first tick planned at or after `stall_at` arrives.
    pub stall: Option<(Duration, Duration)>,
    /// `(at, how_long)`: freeze the whole process (SIGSTOP, then SIGCONT from a helper
    /// process) once, when the first tick planned at or after `at` arrives.
    pub freeze: Option<(Duration, Duration)>,
}

enum Tx {
    Unbounded(mpsc::Sender<(Vec<Tick>, Instant)>),
    Bounded(mpsc::SyncSender<(Vec<Tick>, Instant)>),
}

/// A queue plus one worker thread that reports to the run's recorder.
pub struct QueueTarget {
    tx: Tx,
    worker: JoinHandle<u64>,
}

/// The submit side of [`QueueTarget`].
pub struct QueueSubmitter(Tx);

impl Clone for Tx {
    fn clone(&self) -> Self {
        match self {
            Tx::Unbounded(tx) => Tx::Unbounded(tx.clone()),
            Tx::Bounded(tx) => Tx::Bounded(tx.clone()),
        }
    }
}

impl QueueTarget {
    /// Starts the worker.
    pub fn start(recorder: Recorder, worker: Worker) -> Self {
        let (tx, rx) = match worker.capacity {
            Some(n) => {
                let (tx, rx) = mpsc::sync_channel(n);
                (Tx::Bounded(tx), rx)
            }
            None => {
                let (tx, rx) = mpsc::channel();
                (Tx::Unbounded(tx), rx)
            }
        };
        let handle = std::thread::spawn(move || {
            let mut processed = 0u64;
            let mut stall = worker.stall;
            let mut freeze = worker.freeze;
            for (ticks, _sent) in rx {
                if let Some((at, how_long)) = freeze {
                    if ticks.iter().any(|t| t.ts_ns >= at.as_nanos() as u64) {
                        freeze_process(how_long);
                        freeze = None;
                    }
                }
                let dequeued = Instant::now();
                if let Some((at, how_long)) = stall {
                    if ticks.iter().any(|t| t.ts_ns >= at.as_nanos() as u64) {
                        std::thread::sleep(how_long);
                        stall = None;
                    }
                }
                std::thread::sleep(worker.per_tick * ticks.len() as u32);
                recorder.record_batch(0, &ticks, 0, dequeued);
                processed += ticks.len() as u64;
            }
            processed
        });
        QueueTarget { tx, worker: handle }
    }
}

impl Submitter for QueueSubmitter {
    fn submit(&mut self, ticks: &[Tick]) -> Result<(), SubmitError> {
        let sent = match &self.0 {
            Tx::Unbounded(tx) => tx
                .send((ticks.to_vec(), Instant::now()))
                .map_err(|e| e.to_string()),
            // One message per tick, so the bound counts ticks whatever the batch sizes.
            Tx::Bounded(tx) => ticks
                .iter()
                .try_for_each(|t| tx.send((vec![*t], Instant::now())))
                .map_err(|e| e.to_string()),
        };
        sent.map_err(SubmitError)
    }
}

impl Target for QueueTarget {
    type Submitter = QueueSubmitter;

    fn submitter(&self) -> QueueSubmitter {
        QueueSubmitter(self.tx.clone())
    }

    fn shutdown(self) -> TargetStats {
        drop(self.tx);
        let processed = self.worker.join().expect("worker thread");
        TargetStats {
            received: processed,
            processed,
            dropped: 0,
        }
    }
}

/// Stops every thread of this process for about `how_long`, as a debugger, `kill -STOP` or a
/// hypervisor would: a helper process sends SIGCONT after the pause. Does nothing if the helper
/// cannot be started (then nobody would wake the process up).
pub fn freeze_process(how_long: Duration) {
    let pid = std::process::id();
    let waker = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sleep {}; kill -CONT {pid}",
            how_long.as_secs_f64()
        ))
        .spawn();
    if let Ok(mut waker) = waker {
        // SAFETY: kill with our own pid and a valid signal number has no memory effects.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGSTOP);
        }
        let _ = waker.wait();
    }
}

/// A small pool of valid ticks over 8 symbols.
pub fn pool() -> Vec<Tick> {
    (0..64)
        .map(|i| Tick {
            ts_ns: 0,
            price: 100.0 + (i % 7) as f64 * 0.01,
            symbol: i % 8,
            size: 1 + i,
        })
        .collect()
}
