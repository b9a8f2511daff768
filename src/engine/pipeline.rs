//! The tokio pipeline: producers send ticks, the pipeline routes them by symbol to N worker
//! shards, each shard runs its own [`SignalEngine`] and hands every processed batch with its
//! signals to a [`SignalSink`].
//!
//! # How it is built, and why
//!
//! - **Sharding by symbol.** A tick goes to shard `symbol % shards` ([`shard_of`]). Every tick of
//!   a symbol therefore meets the same engine in the order the producer sent it, so per-symbol
//!   results are exactly those of a single engine fed the same ticks (the engine keeps no state
//!   across symbols).
//! - **Batches, not ticks, travel.** Producers route a slice into one `Vec<Tick>` per shard and
//!   move each vector through the queue as one message, so queue operations, wake-ups and the
//!   clock read that stamps `dequeued` are paid per batch, not per tick. Vectors return to a small
//!   per-shard pool after processing, so a warm pipeline allocates nothing per batch.
//! - **Bounded by ticks, with batch-level backpressure.** Each shard owns a FIFO (fair)
//!   [`Semaphore`] holding `queue_capacity` permits, one per queued tick, in front of an unbounded
//!   tokio channel. A producer takes as many permits as its batch has ticks in one operation; the
//!   shard gives them back when it takes the batch off the queue. So at most `queue_capacity`
//!   ticks wait per shard and the bound holds in ticks whatever the batch size.
//! - **Overload policy.** [`OverloadPolicy::Block`] waits for room (nothing is ever dropped);
//!   [`OverloadPolicy::DropNewest`] keeps the part of the batch that fits and drops the rest (the
//!   newest ticks), never silently: the drop is reported through the same queue.
//! - **Honest accounting without per-tick atomics.** An accepted batch is counted by the shard
//!   task, on its own variables, when it dequeues it: a producer's send either enqueues the batch
//!   (then the drain counts it) or fails with [`PipelineClosed`] (then nothing was counted). Drops
//!   are counted by the producer in one per-shard atomic, once per dropped batch (the overload
//!   path only); the shard seals that counter with a "closed" bit when it finishes, in the same
//!   atomic operation that reads the final count, and a producer whose add lands after the seal
//!   gets [`PipelineClosed`]. So `received == processed + dropped` holds exactly in the stats
//!   [`Pipeline::shutdown`] returns, even when producers race with shutdown, and the queue stays
//!   bounded in memory however many batches are dropped.
//! - **Graceful drain.** [`Pipeline::shutdown`] posts a close message behind everything already
//!   queued; on seeing it a shard closes its channel (later sends fail), closes its semaphore
//!   (blocked producers wake up with [`PipelineClosed`]), processes what is still buffered and
//!   returns its counts. Shutdown never waits for producers, so a producer that is dropped, panics
//!   or simply keeps running cannot hang it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tickbench::engine::pipeline::{ChannelSink, Pipeline, PipelineConfig};
//! use tickbench::engine::tick::{MarketConfig, MarketGenerator};
//!
//! let (sink, mut signals) = ChannelSink::new();
//! let pipeline = Pipeline::start(PipelineConfig::default(), sink)?; // inside a tokio runtime
//! let producer = pipeline.producer();
//! let ticks = MarketGenerator::new(MarketConfig::default()).take_vec(10_000);
//! producer.send_batch(&ticks).await?;
//! let stats = pipeline.shutdown().await;
//! assert_eq!(stats.received, 10_000);
//! while let Ok(batch) = signals.try_recv() {
//!     println!("{} signals", batch.len());
//! }
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{Notify, Semaphore, TryAcquireError};
use tokio::task::JoinHandle;

use super::signal::{EngineConfig, EngineConfigError, Signal, SignalEngine};
use super::tick::{SymbolId, Tick};

/// What a producer does when its tick's shard queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OverloadPolicy {
    /// Wait until the shard has room (backpressure). Nothing is ever dropped.
    #[default]
    Block,
    /// Enqueue the part of the batch that fits and drop the rest (the newest ticks). Drops are
    /// counted in [`PipelineStats::dropped`].
    DropNewest,
}

/// Settings of a [`Pipeline`].
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Number of worker shards (tokio tasks, one engine each). At least 1.
    pub shards: usize,
    /// Most ticks that may wait in one shard's queue. At least 1.
    pub queue_capacity: usize,
    /// What producers do when a queue is full.
    pub overload: OverloadPolicy,
    /// Dense symbol count each shard's engine is sized for (the engine grows past it if needed).
    pub symbols: usize,
    /// Rules of every shard's engine.
    pub engine: EngineConfig,
    /// Most ticks in one queued batch: a producer's slice is cut into batches of at most this
    /// many ticks per shard (and at most `queue_capacity`). At least 1.
    pub max_batch: usize,
}

impl Default for PipelineConfig {
    /// Two shards (one per core of the reference machine), 65 536 ticks per queue, `Block`,
    /// 64 symbols, default engine rules, batches of up to 1 024 ticks.
    fn default() -> Self {
        Self {
            shards: 2,
            queue_capacity: 65_536,
            overload: OverloadPolicy::Block,
            symbols: 64,
            engine: EngineConfig::default(),
            max_batch: 1_024,
        }
    }
}

/// Most shards a pipeline may have.
pub const MAX_SHARDS: usize = 4_096;

/// A [`PipelineConfig`] the pipeline cannot run with.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// `shards` was 0 or more than [`MAX_SHARDS`].
    #[error("pipeline config: shards must be in 1..={MAX_SHARDS}, got {got}")]
    Shards {
        /// The value given.
        got: usize,
    },
    /// `queue_capacity` was 0 or too large for a semaphore.
    #[error("pipeline config: queue_capacity must be in 1..={max}, got {got}")]
    QueueCapacity {
        /// The value given.
        got: usize,
        /// The largest value allowed.
        max: usize,
    },
    /// `max_batch` was 0.
    #[error("pipeline config: max_batch must be at least 1")]
    MaxBatch,
    /// The engine rules are invalid.
    #[error("pipeline config: {0}")]
    Engine(#[from] EngineConfigError),
}

/// The pipeline has shut down (or a shard died); the ticks of the failed call that were not yet
/// enqueued were not received and are not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("pipeline closed")]
pub struct PipelineClosed;

/// Receives every processed batch, on the shard's task.
///
/// `on_batch` runs on the shard's tokio worker between two batches, so it should be quick and
/// must not block; hand heavy work to another task (see [`ChannelSink`]).
pub trait SignalSink: Send + 'static {
    /// `ticks` were just processed by shard `shard` and produced `signals` (in tick order).
    /// `dequeued` is when the shard took the batch off its queue, so a caller who knows when a
    /// tick was sent can split queue delay (`dequeued - sent`) from service time (`now -
    /// dequeued`).
    fn on_batch(&mut self, shard: usize, ticks: &[Tick], signals: &[Signal], dequeued: Instant);
}

/// A sink that ignores everything (the stats still count signals).
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

impl SignalSink for NullSink {
    fn on_batch(&mut self, _: usize, _: &[Tick], _: &[Signal], _: Instant) {}
}

/// A sink that forwards each non-empty batch of signals to an unbounded tokio channel.
///
/// Unbounded because a shard must never block on a slow consumer; the consumer has to keep up
/// (signals are rare next to ticks). Batches of one shard arrive in tick order; batches of
/// different shards interleave.
#[derive(Clone, Debug)]
pub struct ChannelSink {
    tx: UnboundedSender<Vec<Signal>>,
}

impl ChannelSink {
    /// A sink and the receiver its signal batches arrive on.
    pub fn new() -> (Self, UnboundedReceiver<Vec<Signal>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }
}

impl SignalSink for ChannelSink {
    fn on_batch(&mut self, _: usize, _: &[Tick], signals: &[Signal], _: Instant) {
        if !signals.is_empty() {
            // A dropped receiver means nobody wants the signals any more; not an error.
            let _ = self.tx.send(signals.to_vec());
        }
    }
}

/// A sink that counts processed ticks and signals and lets a task wait until a number of ticks
/// has been processed: the end-to-end clock of the benches and the load harness.
///
/// Costs one atomic add per batch per counter (shared by all shards).
#[derive(Clone, Debug, Default)]
pub struct ProgressSink {
    inner: Arc<Progress>,
}

#[derive(Debug, Default)]
struct Progress {
    processed: AtomicU64,
    signals: AtomicU64,
    target: AtomicU64,
    reached: Mutex<Option<Instant>>,
    notify: Notify,
}

impl ProgressSink {
    /// A sink with all counts at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ticks processed so far, by all shards.
    pub fn processed(&self) -> u64 {
        self.inner.processed.load(Ordering::SeqCst)
    }

    /// Signals emitted so far, by all shards.
    pub fn signals(&self) -> u64 {
        self.inner.signals.load(Ordering::SeqCst)
    }

    /// Sets the total [`ProgressSink::wait`] waits for. Call it before sending the ticks that
    /// reach it, so the batch that crosses it records when it finished.
    pub fn arm(&self, total: u64) {
        *self.inner.reached.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.inner.target.store(total, Ordering::SeqCst);
    }

    /// Waits until the armed total has been processed and returns when the batch that reached
    /// it finished (or now, if it was reached before [`ProgressSink::arm`]).
    pub async fn wait(&self) -> Instant {
        let total = self.inner.target.load(Ordering::SeqCst);
        loop {
            let notified = self.inner.notify.notified();
            if self.processed() >= total {
                let reached = self.inner.reached.lock().unwrap_or_else(|e| e.into_inner());
                return reached.unwrap_or_else(Instant::now);
            }
            notified.await;
        }
    }
}

impl SignalSink for ProgressSink {
    fn on_batch(&mut self, _: usize, ticks: &[Tick], signals: &[Signal], _: Instant) {
        let p = &self.inner;
        let n = ticks.len() as u64;
        p.signals.fetch_add(signals.len() as u64, Ordering::SeqCst);
        let done = p.processed.fetch_add(n, Ordering::SeqCst) + n;
        let target = p.target.load(Ordering::SeqCst);
        if done >= target && done - n < target {
            *p.reached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            p.notify.notify_one();
        }
    }
}

/// The shard a symbol's ticks go to, for `shards` shards: `symbol % shards`.
pub fn shard_of(symbol: SymbolId, shards: usize) -> usize {
    symbol as usize % shards
}

/// [`shard_of`] without a division per tick (a 64-bit `%` by a run-time divisor costs tens of
/// cycles, as much as a tenth of the engine's work on a tick): Lemire's "fastmod",
/// `a % d == ((M * a mod 2^64) * d) >> 64` with `M = ceil(2^64 / d)`, exact for every 32-bit `a`
/// and `d` (Lemire, Kaser, Kurz, "Faster remainder by direct computation", 2019).
#[derive(Clone, Copy, Debug)]
struct Router {
    shards: u64,
    m: u64,
}

impl Router {
    fn new(shards: u32) -> Self {
        let d = u64::from(shards.max(1));
        Self {
            shards: d,
            m: (u64::MAX / d).wrapping_add(1),
        }
    }

    #[inline(always)]
    fn route(self, symbol: SymbolId) -> usize {
        let low = self.m.wrapping_mul(u64::from(symbol));
        ((u128::from(low) * u128::from(self.shards)) >> 64) as usize
    }

    /// Appends ticks from the front of `ticks` to their shard's buffer until one buffer holds
    /// `chunk` ticks or `ticks` runs out; returns how many ticks were taken and the full shard.
    /// A plain function, not part of the `async` caller, so the hot loop keeps its state in
    /// registers rather than in the future.
    fn route_until_full(
        self,
        ticks: &[Tick],
        bufs: &mut [Vec<Tick>],
        chunk: usize,
    ) -> (usize, Option<usize>) {
        for (i, tick) in ticks.iter().enumerate() {
            let shard = self.route(tick.symbol);
            let buf = &mut bufs[shard];
            buf.push(*tick);
            if buf.len() >= chunk {
                return (i + 1, Some(shard));
            }
        }
        (ticks.len(), None)
    }
}

/// Counts of one shard, made by the shard's task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// Ticks producers handed to this shard: enqueued plus dropped.
    pub received: u64,
    /// Ticks the shard's engine processed.
    pub processed: u64,
    /// Ticks dropped by [`OverloadPolicy::DropNewest`] because the queue was full.
    pub dropped: u64,
    /// Signals the engine emitted.
    pub signals: u64,
    /// Batches dequeued.
    pub batches: u64,
    /// Most ticks seen waiting in the queue (enqueued or reserved by a producer, not yet
    /// dequeued), observed at every dequeue, which is where the occupancy peaks.
    pub max_queue_depth: usize,
}

/// What a pipeline did, returned by [`Pipeline::shutdown`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Ticks producers handed over successfully (enqueued or dropped by policy).
    pub received: u64,
    /// Ticks processed by the engines.
    pub processed: u64,
    /// Ticks dropped by [`OverloadPolicy::DropNewest`].
    pub dropped: u64,
    /// Signals emitted.
    pub signals: u64,
    /// Largest [`ShardStats::max_queue_depth`] of any shard, in ticks.
    pub max_queue_depth: usize,
    /// The same counts per shard, indexed by shard.
    pub per_shard: Vec<ShardStats>,
}

/// A broken accounting invariant found by [`PipelineStats::check`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvariantViolation {
    /// `received != processed + dropped` (for the shard, or for the total when `shard` is None).
    #[error("shard {shard:?}: received {received} != processed {processed} + dropped {dropped}")]
    Unbalanced {
        /// The shard, or None for the totals.
        shard: Option<usize>,
        /// Ticks received.
        received: u64,
        /// Ticks processed.
        processed: u64,
        /// Ticks dropped.
        dropped: u64,
    },
    /// Ticks were dropped under [`OverloadPolicy::Block`].
    #[error("{dropped} ticks dropped under OverloadPolicy::Block")]
    DroppedUnderBlock {
        /// Ticks dropped.
        dropped: u64,
    },
    /// The totals are not the sums of the per-shard counts.
    #[error("totals are not the sum of the per-shard counts")]
    TotalsMismatch,
}

impl PipelineStats {
    /// Checks the accounting invariants: `received == processed + dropped` per shard and in
    /// total, totals equal to the per-shard sums, and `dropped == 0` under `Block`.
    pub fn check(&self, policy: OverloadPolicy) -> Result<(), InvariantViolation> {
        let sum = Self::from_shards(self.per_shard.clone());
        if (
            sum.received,
            sum.processed,
            sum.dropped,
            sum.signals,
            sum.max_queue_depth,
        ) != (
            self.received,
            self.processed,
            self.dropped,
            self.signals,
            self.max_queue_depth,
        ) {
            return Err(InvariantViolation::TotalsMismatch);
        }
        let shards = self.per_shard.iter().enumerate();
        let rows = shards
            .map(|(i, s)| (Some(i), s.received, s.processed, s.dropped))
            .chain([(None, self.received, self.processed, self.dropped)]);
        for (shard, received, processed, dropped) in rows {
            if processed.checked_add(dropped) != Some(received) {
                return Err(InvariantViolation::Unbalanced {
                    shard,
                    received,
                    processed,
                    dropped,
                });
            }
        }
        if policy == OverloadPolicy::Block && self.dropped != 0 {
            return Err(InvariantViolation::DroppedUnderBlock {
                dropped: self.dropped,
            });
        }
        Ok(())
    }

    fn from_shards(per_shard: Vec<ShardStats>) -> Self {
        let mut total = PipelineStats::default();
        for s in &per_shard {
            total.received += s.received;
            total.processed += s.processed;
            total.dropped += s.dropped;
            total.signals += s.signals;
            total.max_queue_depth = total.max_queue_depth.max(s.max_queue_depth);
        }
        total.per_shard = per_shard;
        total
    }
}

/// A message on a shard's queue.
enum Msg {
    /// Ticks to process.
    Batch(Vec<Tick>),
    /// One tick to process (from [`Producer::send`]).
    One(Tick),
    /// Shut down after draining.
    Close,
}

/// Bit of [`ShardLink::dropped`] set by the shard when it has read its final drop count.
const SEALED: u64 = 1 << 63;

/// Most empty vectors a shard keeps for reuse.
const POOL_MAX: usize = 64;

/// What producers and the pipeline share with one shard.
struct ShardLink {
    tx: UnboundedSender<Msg>,
    permits: Semaphore,
    pool: Mutex<Vec<Vec<Tick>>>,
    /// Ticks dropped by policy, plus [`SEALED`] once the shard has taken its final count.
    dropped: AtomicU64,
}

impl ShardLink {
    fn take_buf(&self, capacity: usize) -> Vec<Tick> {
        let reused = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        reused.unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    fn recycle(&self, mut buf: Vec<Tick>) {
        buf.clear();
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < POOL_MAX {
                pool.push(buf);
            }
        }
    }
}

struct Shared {
    links: Vec<ShardLink>,
    router: Router,
    overload: OverloadPolicy,
    /// Ticks per queued batch: `min(max_batch, queue_capacity)`.
    chunk: usize,
}

/// A running pipeline. Shut it down with [`Pipeline::shutdown`] to drain it and get its stats;
/// dropping it also drains the queues, in the background.
pub struct Pipeline {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<ShardStats>>,
}

/// A handle producers send ticks through. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

impl Pipeline {
    /// Starts one shard task per `cfg.shards`, each with its own engine and a clone of `sink`.
    ///
    /// Must be called from inside a tokio runtime (use a multi-thread runtime so shards run in
    /// parallel); panics otherwise, like [`tokio::spawn`].
    pub fn start<S: SignalSink + Clone>(cfg: PipelineConfig, sink: S) -> Result<Self, ConfigError> {
        if cfg.shards == 0 || cfg.shards > MAX_SHARDS {
            return Err(ConfigError::Shards { got: cfg.shards });
        }
        let max_capacity = Semaphore::MAX_PERMITS.min(u32::MAX as usize);
        if cfg.queue_capacity == 0 || cfg.queue_capacity > max_capacity {
            return Err(ConfigError::QueueCapacity {
                got: cfg.queue_capacity,
                max: max_capacity,
            });
        }
        if cfg.max_batch == 0 {
            return Err(ConfigError::MaxBatch);
        }
        let engines = (0..cfg.shards)
            .map(|_| SignalEngine::try_new(cfg.symbols, cfg.engine.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let chunk = cfg.max_batch.min(cfg.queue_capacity);
        let mut links = Vec::with_capacity(cfg.shards);
        let mut receivers = Vec::with_capacity(cfg.shards);
        for _ in 0..cfg.shards {
            let (tx, rx) = mpsc::unbounded_channel();
            links.push(ShardLink {
                tx,
                permits: Semaphore::new(cfg.queue_capacity),
                pool: Mutex::new(Vec::new()),
                dropped: AtomicU64::new(0),
            });
            receivers.push(rx);
        }
        let shared = Arc::new(Shared {
            links,
            router: Router::new(cfg.shards as u32),
            overload: cfg.overload,
            chunk,
        });
        let tasks = receivers
            .into_iter()
            .zip(engines)
            .enumerate()
            .map(|(index, (rx, engine))| {
                let worker = ShardWorker {
                    index,
                    shared: Arc::clone(&shared),
                    engine,
                    signals: Vec::new(),
                    capacity: cfg.queue_capacity,
                    stats: ShardStats::default(),
                };
                tokio::spawn(worker.run(rx, sink.clone()))
            })
            .collect();
        Ok(Self { shared, tasks })
    }

    /// A new handle to send ticks with.
    pub fn producer(&self) -> Producer {
        Producer {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.shared.links.len()
    }

    /// Stops accepting ticks, processes everything already queued, and returns the counts.
    ///
    /// Producers still sending get [`PipelineClosed`] from then on; shutdown does not wait for
    /// them. If a shard's task panicked (a panicking sink), the panic resumes here.
    pub async fn shutdown(mut self) -> PipelineStats {
        self.post_close();
        let mut per_shard = Vec::with_capacity(self.tasks.len());
        for task in std::mem::take(&mut self.tasks) {
            match task.await {
                Ok(stats) => per_shard.push(stats),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("pipeline shard task failed: {e}"),
            }
        }
        PipelineStats::from_shards(per_shard)
    }

    fn post_close(&self) {
        for link in &self.shared.links {
            // Fails only if the shard already closed its queue; then it is draining already.
            let _ = link.tx.send(Msg::Close);
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if !self.tasks.is_empty() {
            self.post_close();
        }
    }
}

impl Producer {
    /// Sends one tick to its symbol's shard. Slow next to [`Producer::send_batch`]: every tick
    /// pays a queue operation and possibly a wake-up.
    pub async fn send(&self, tick: Tick) -> Result<(), PipelineClosed> {
        // A tick travels alone, without a `Vec` (an allocation per tick once the pool runs dry
        // under many single-tick producers was the largest cost here).
        let link = &self.shared.links[self.shared.router.route(tick.symbol)];
        match self.shared.overload {
            OverloadPolicy::Block => {
                let permit = link.permits.acquire().await.map_err(|_| PipelineClosed)?;
                permit.forget();
            }
            OverloadPolicy::DropNewest => {
                tokio::task::consume_budget().await;
                match link.permits.try_acquire() {
                    Ok(permit) => permit.forget(),
                    Err(TryAcquireError::Closed) => return Err(PipelineClosed),
                    Err(TryAcquireError::NoPermits) => {
                        let before = link.dropped.fetch_add(1, Ordering::Relaxed);
                        return if before & SEALED != 0 {
                            Err(PipelineClosed)
                        } else {
                            Ok(())
                        };
                    }
                }
            }
        }
        if link.tx.send(Msg::One(tick)).is_err() {
            link.permits.add_permits(1);
            return Err(PipelineClosed);
        }
        Ok(())
    }

    /// Sends ticks, routed by symbol: each shard receives its ticks in slice order, in batches
    /// of at most `max_batch` ticks.
    ///
    /// On `Err`, ticks routed before the pipeline closed may have been received (they are
    /// counted in the stats); the rest were not.
    pub async fn send_batch(&self, ticks: &[Tick]) -> Result<(), PipelineClosed> {
        let shards = self.shared.links.len();
        let chunk = self.shared.chunk;
        if shards == 1 {
            for part in ticks.chunks(chunk) {
                let mut buf = self.shared.links[0].take_buf(chunk);
                buf.extend_from_slice(part);
                self.enqueue(0, buf).await?;
            }
            return Ok(());
        }
        // One pass: each shard's buffer goes on its queue as soon as it holds `chunk` ticks, so
        // in a large burst every shard gets work early and each shard sees its ticks in order.
        let router = self.shared.router;
        let mut bufs: Vec<Vec<Tick>> = self
            .shared
            .links
            .iter()
            .map(|link| link.take_buf(chunk))
            .collect();
        let mut rest = ticks;
        while !rest.is_empty() {
            let (used, full) = router.route_until_full(rest, &mut bufs, chunk);
            rest = &rest[used..];
            if let Some(shard) = full {
                let next = self.shared.links[shard].take_buf(chunk);
                let full = std::mem::replace(&mut bufs[shard], next);
                if let Err(closed) = self.enqueue(shard, full).await {
                    self.recycle_all(bufs);
                    return Err(closed);
                }
            }
        }
        let mut result = Ok(());
        for (shard, buf) in bufs.into_iter().enumerate() {
            if result.is_ok() {
                result = self.enqueue(shard, buf).await;
            } else {
                self.shared.links[shard].recycle(buf);
            }
        }
        result
    }

    fn recycle_all(&self, bufs: Vec<Vec<Tick>>) {
        for (link, buf) in self.shared.links.iter().zip(bufs) {
            link.recycle(buf);
        }
    }

    /// Enqueues one shard's batch (`ticks.len() <= chunk <= queue_capacity`) under the policy.
    async fn enqueue(&self, shard: usize, mut ticks: Vec<Tick>) -> Result<(), PipelineClosed> {
        let link = &self.shared.links[shard];
        let n = ticks.len();
        if n == 0 {
            link.recycle(ticks);
            return Ok(());
        }
        match self.shared.overload {
            OverloadPolicy::Block => {
                let permit = link
                    .permits
                    .acquire_many(n as u32)
                    .await
                    .map_err(|_| PipelineClosed)?;
                permit.forget();
            }
            OverloadPolicy::DropNewest => {
                // `try_acquire` never waits, so give the scheduler its turn now and then: a
                // producer looping over a full queue must not starve the shards on its worker.
                tokio::task::consume_budget().await;
                let kept = match link.permits.try_acquire_many(n as u32) {
                    Ok(permit) => {
                        permit.forget();
                        n
                    }
                    Err(TryAcquireError::Closed) => return Err(PipelineClosed),
                    Err(TryAcquireError::NoPermits) => {
                        // Keep the prefix that fits; if another producer takes the room first,
                        // the whole batch is dropped.
                        let room = link.permits.available_permits().min(n);
                        match link.permits.try_acquire_many(room as u32) {
                            Ok(permit) => {
                                permit.forget();
                                room
                            }
                            Err(TryAcquireError::Closed) => return Err(PipelineClosed),
                            Err(TryAcquireError::NoPermits) => 0,
                        }
                    }
                };
                if kept < n {
                    ticks.truncate(kept);
                    if kept == 0 {
                        link.recycle(ticks);
                    } else {
                        Self::push(link, ticks)?;
                    }
                    let before = link.dropped.fetch_add((n - kept) as u64, Ordering::Relaxed);
                    if before & SEALED != 0 {
                        // The shard has already taken its final count: these drops were not
                        // received.
                        return Err(PipelineClosed);
                    }
                    return Ok(());
                }
            }
        }
        Self::push(link, ticks)
    }

    /// Puts a batch whose permits are taken on the shard's queue.
    fn push(link: &ShardLink, ticks: Vec<Tick>) -> Result<(), PipelineClosed> {
        let kept = ticks.len();
        if link.tx.send(Msg::Batch(ticks)).is_err() {
            // The shard closed its queue: give the room back (the semaphore is closed too, so
            // this only keeps the count tidy) and report that nothing was received.
            link.permits.add_permits(kept);
            return Err(PipelineClosed);
        }
        Ok(())
    }
}

/// One shard's task state.
struct ShardWorker {
    index: usize,
    shared: Arc<Shared>,
    engine: SignalEngine,
    signals: Vec<Signal>,
    capacity: usize,
    stats: ShardStats,
}

/// Closes the shard's semaphore when the task ends, even by panic, so producers blocked on a
/// full queue wake up with [`PipelineClosed`] instead of waiting forever.
struct CloseOnExit<'a>(&'a ShardLink);

impl Drop for CloseOnExit<'_> {
    fn drop(&mut self) {
        self.0.permits.close();
    }
}

impl ShardWorker {
    async fn run<S: SignalSink>(
        mut self,
        mut rx: UnboundedReceiver<Msg>,
        mut sink: S,
    ) -> ShardStats {
        let shared = Arc::clone(&self.shared);
        let link = &shared.links[self.index];
        let _close = CloseOnExit(link);
        // Room freed by dequeued batches but not yet handed back to producers. Handing it back
        // batch by batch would wake a producer blocked on a full queue once per batch (a futex
        // wake and a park each time, measured at about half of the producer's CPU time in a
        // burst); under `Block` it is handed back a quarter queue at a time instead, and always
        // before the shard waits on an empty queue, so producers never wait on an idle shard.
        let release_at = match self.shared.overload {
            OverloadPolicy::Block => (self.capacity / 4).max(self.shared.chunk),
            OverloadPolicy::DropNewest => 0,
        };
        let mut unreleased = 0;
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    link.permits.add_permits(std::mem::take(&mut unreleased));
                    match rx.recv().await {
                        Some(msg) => msg,
                        None => break,
                    }
                }
            };
            match msg {
                Msg::Batch(ticks) => {
                    self.process(link, &mut sink, &ticks, &mut unreleased, release_at)
                        .await;
                    link.recycle(ticks);
                }
                Msg::One(tick) => {
                    let ticks = std::slice::from_ref(&tick);
                    self.process(link, &mut sink, ticks, &mut unreleased, release_at)
                        .await;
                }
                Msg::Close => {
                    // Later sends fail; what is buffered is still delivered, then recv ends.
                    rx.close();
                    link.permits.close();
                }
            }
        }
        // Read the final drop count and seal it in one step: a producer's later drop sees the
        // seal and reports the pipeline closed instead of going uncounted.
        self.stats.dropped = link.dropped.fetch_or(SEALED, Ordering::Relaxed) & !SEALED;
        self.stats.received += self.stats.dropped;
        self.stats
    }

    /// Runs one dequeued batch through the engine and the sink; hands queue room back once
    /// `release_at` ticks of it have accumulated.
    async fn process<S: SignalSink>(
        &mut self,
        link: &ShardLink,
        sink: &mut S,
        ticks: &[Tick],
        unreleased: &mut usize,
        release_at: usize,
    ) {
        // `try_recv` does not count against tokio's cooperative budget: yield now and then so
        // other tasks on this worker get their turn under a flood.
        tokio::task::consume_budget().await;
        let dequeued = Instant::now();
        let n = ticks.len();
        let held = self.capacity - link.permits.available_permits() - *unreleased;
        self.stats.max_queue_depth = self.stats.max_queue_depth.max(held);
        *unreleased += n;
        if *unreleased >= release_at {
            link.permits.add_permits(std::mem::take(unreleased));
        }
        self.stats.received += n as u64;
        self.engine.on_ticks(ticks, &mut self.signals);
        self.stats.processed += n as u64;
        self.stats.signals += self.signals.len() as u64;
        self.stats.batches += 1;
        sink.on_batch(self.index, ticks, &self.signals, dequeued);
        self.signals.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(shards: &[(u64, u64, u64)]) -> PipelineStats {
        PipelineStats::from_shards(
            shards
                .iter()
                .map(|&(received, processed, dropped)| ShardStats {
                    received,
                    processed,
                    dropped,
                    ..ShardStats::default()
                })
                .collect(),
        )
    }

    #[test]
    fn check_accepts_balanced_counts() {
        assert_eq!(
            stats(&[(10, 10, 0), (5, 5, 0)]).check(OverloadPolicy::Block),
            Ok(())
        );
        assert_eq!(
            stats(&[(10, 7, 3)]).check(OverloadPolicy::DropNewest),
            Ok(())
        );
    }

    #[test]
    fn check_fails_on_unbalanced_shard() {
        let err = stats(&[(10, 10, 0), (5, 4, 0)]).check(OverloadPolicy::Block);
        assert!(matches!(
            err,
            Err(InvariantViolation::Unbalanced { shard: Some(1), .. })
        ));
    }

    #[test]
    fn check_fails_on_drops_under_block() {
        let err = stats(&[(10, 7, 3)]).check(OverloadPolicy::Block);
        assert_eq!(
            err,
            Err(InvariantViolation::DroppedUnderBlock { dropped: 3 })
        );
    }

    #[test]
    fn check_fails_when_totals_do_not_add_up() {
        let mut s = stats(&[(10, 10, 0)]);
        s.received = 11;
        s.processed = 11;
        assert_eq!(
            s.check(OverloadPolicy::Block),
            Err(InvariantViolation::TotalsMismatch)
        );
    }

    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Producer>();
        send_sync::<Pipeline>();
        send_sync::<ProgressSink>();
    }

    #[test]
    fn router_matches_modulo() {
        let symbols = (0..10_000).chain([u32::MAX - 1, u32::MAX, 1 << 31, (1 << 31) - 1]);
        let symbols: Vec<u32> = symbols.collect();
        for shards in (1..=20).chain([64, 1000, MAX_SHARDS]) {
            let router = Router::new(shards as u32);
            for &s in &symbols {
                assert_eq!(router.route(s), shard_of(s, shards), "{s} % {shards}");
            }
        }
    }

    #[test]
    fn rejects_bad_config() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let bad = |f: fn(&mut PipelineConfig)| {
            let mut cfg = PipelineConfig::default();
            f(&mut cfg);
            Pipeline::start(cfg, NullSink).err()
        };
        assert_eq!(bad(|c| c.shards = 0), Some(ConfigError::Shards { got: 0 }));
        assert!(bad(|c| c.shards = MAX_SHARDS + 1).is_some());
        assert!(matches!(
            bad(|c| c.queue_capacity = 0),
            Some(ConfigError::QueueCapacity { .. })
        ));
        assert_eq!(bad(|c| c.max_batch = 0), Some(ConfigError::MaxBatch));
        assert!(matches!(
            bad(|c| c.engine.rsi_period = 0),
            Some(ConfigError::Engine(_))
        ));
    }
}
