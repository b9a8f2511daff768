//! Test targets for the load harness: a single worker thread behind a queue, with a chosen
//! service time, optional back-pressure and an optional stall.

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
            for (ticks, _sent) in rx {
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
