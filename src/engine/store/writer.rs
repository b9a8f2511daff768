//! Writing batches: signals into chunks (a short run first fills its symbol's newest chunk),
//! ticks by multi-row statements, each batch one `IMMEDIATE` transaction.

use rusqlite::{Connection, TransactionBehavior};

use super::chunk::{
    chunk_data, chunk_rows, encode_kind, push_row, write_chunk, CHUNK_ROW_BYTES, INSERT_CHUNK,
};
use super::sort::sorted_order;
use super::{classify, SignalStore, StoreError, CHUNK_ROWS, MAX_TS_NS, ROWS_PER_INSERT};
use crate::engine::signal::Signal;
use crate::engine::tick::{SymbolId, Tick};

impl SignalStore {
    /// Refuses a batch with a timestamp beyond what the store holds, naming the first.
    fn check_timestamps(&self, mut ts: impl Iterator<Item = u64>) -> Result<(), StoreError> {
        match ts.find(|&t| t > MAX_TS_NS) {
            Some(ts_ns) => Err(StoreError::TimestampRange {
                path: self.path.clone(),
                ts_ns,
            }),
            None => Ok(()),
        }
    }

    /// Inserts `signals` in one transaction: after `Ok`, all of them are committed; after `Err`,
    /// none of them are.
    pub fn insert_signals(&mut self, signals: &[Signal]) -> Result<(), StoreError> {
        self.check_timestamps(signals.iter().map(|s| s.ts_ns))?;
        let order = sorted_order(signals.len(), |i| (signals[i].symbol, signals[i].ts_ns));
        let path = &self.path;
        let fail = |e| classify(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let mut seq = self.next_seq;
        // (symbol, its new max_span) for the symbols whose row in `symbols` must change.
        let mut grown: Vec<(SymbolId, i64)> = Vec::new();
        {
            let mut stmt = tx.prepare_cached(INSERT_CHUNK).map_err(fail)?;
            let mut tail_of = tx.prepare_cached(TAIL_CHUNK).map_err(fail)?;
            let mut extend = tx.prepare_cached(EXTEND_CHUNK).map_err(fail)?;
            let mut data = Vec::with_capacity(CHUNK_ROWS * CHUNK_ROW_BYTES);
            for run in
                order.chunk_by(|&a, &b| signals[a as usize].symbol == signals[b as usize].symbol)
            {
                let symbol = signals[run[0] as usize].symbol;
                let mut row_of = |i: u32| {
                    let s = &signals[i as usize];
                    seq += 1;
                    (s.ts_ns, seq - 1, encode_kind(s.side, s.reason), s.strength)
                };
                // Small batches would leave many small chunks (and every query would read more
                // of them): a run shorter than a chunk first fills up the symbol's newest chunk
                // when it starts at or after that chunk's last timestamp. Longer runs make full
                // chunks of their own and leave at most one partial one.
                let known = self.spans.get(symbol as usize).copied().flatten();
                let mut span = 0;
                let mut rest = run;
                if run.len() < CHUNK_ROWS && known.is_some() {
                    let first_ts = signals[run[0] as usize].ts_ns;
                    let tail =
                        open_tail(&mut tail_of, &mut data, symbol, first_ts).map_err(fail)?;
                    if let Some((id, tail_first, held)) = tail {
                        let (taken, more) = run.split_at(run.len().min(CHUNK_ROWS - held));
                        let mut last = 0;
                        for &i in taken {
                            let (ts, seq, kind, strength) = row_of(i);
                            last = ts as i64;
                            push_row(&mut data, ts, seq, kind, strength);
                        }
                        let rows = (held + taken.len()) as i64;
                        extend.execute((id, last, rows, &data[..])).map_err(fail)?;
                        span = last - tail_first;
                        rest = more;
                    }
                }
                for chunk in rest.chunks(CHUNK_ROWS) {
                    let rows = chunk.iter().map(|&i| row_of(i));
                    span = span.max(write_chunk(&mut stmt, &mut data, symbol, rows).map_err(fail)?);
                }
                match known {
                    Some(known) if known >= span => {}
                    _ => grown.push((symbol, span_bound(span))),
                }
            }
        }
        if !grown.is_empty() {
            let mut stmt = tx.prepare_cached(RECORD_SPAN).map_err(fail)?;
            for &(symbol, span) in &grown {
                stmt.execute((symbol, span)).map_err(fail)?;
            }
        }
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'next_seq'", [seq])
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        self.next_seq = seq;
        for (symbol, span) in grown {
            set_span(&mut self.spans, symbol, span);
        }
        Ok(())
    }

    /// Inserts `ticks` in one transaction (all or none), like [`SignalStore::insert_signals`].
    pub fn insert_ticks(&mut self, ticks: &[Tick]) -> Result<(), StoreError> {
        self.check_timestamps(ticks.iter().map(|t| t.ts_ns))?;
        let order = sorted_order(ticks.len(), |i| (ticks[i].symbol, ticks[i].ts_ns));
        let path = &self.path;
        let fail = |e| classify(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let mut seq = self.next_seq;
        insert_rows(
            &tx,
            "ticks(symbol, ts_ns, seq, price, size)",
            5,
            &order,
            |stmt, p, i| {
                let t = &ticks[i as usize];
                stmt.raw_bind_parameter(p, t.symbol)?;
                stmt.raw_bind_parameter(p + 1, t.ts_ns as i64)?;
                stmt.raw_bind_parameter(p + 2, seq)?;
                stmt.raw_bind_parameter(p + 3, t.price)?;
                stmt.raw_bind_parameter(p + 4, t.size)?;
                seq += 1;
                Ok(())
            },
        )
        .map_err(fail)?;
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'next_seq'", [seq])
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        self.next_seq = seq;
        Ok(())
    }
}

/// The newest chunk of a symbol (by its last timestamp).
const TAIL_CHUNK: &str = "SELECT id, first_ts, last_ts, data FROM signal_chunks \
     WHERE symbol = ?1 ORDER BY last_ts DESC LIMIT 1";

/// Replaces a chunk's rows (more of them, same first timestamp).
const EXTEND_CHUNK: &str =
    "UPDATE signal_chunks SET last_ts = ?2, rows = ?3, data = ?4 WHERE id = ?1";

/// Records a chunk's span in `symbols.max_span` (adding the symbol), never lowering it.
pub(super) const RECORD_SPAN: &str = "INSERT INTO symbols(symbol, max_span) VALUES (?1, ?2) \
     ON CONFLICT(symbol) DO UPDATE SET max_span = max(max_span, excluded.max_span)";

/// When `symbol`'s newest chunk has room and its last timestamp is at most `first_ts` (so rows
/// appended after it stay in order): copies its data into `data` and returns its id, first
/// timestamp and row count, for the caller to append to and write back ([`EXTEND_CHUNK`]).
fn open_tail(
    tail_of: &mut rusqlite::Statement<'_>,
    data: &mut Vec<u8>,
    symbol: SymbolId,
    first_ts: u64,
) -> rusqlite::Result<Option<(i64, i64, usize)>> {
    let mut found = tail_of.query([symbol])?;
    let Some(tail) = found.next()? else {
        return Ok(None);
    };
    let old = chunk_data(tail, 3)?;
    let held = chunk_rows(old)?.len();
    let (id, tail_first, tail_last): (i64, i64, i64) = (tail.get(0)?, tail.get(1)?, tail.get(2)?);
    if held >= CHUNK_ROWS || (first_ts as i64) < tail_last {
        return Ok(None);
    }
    data.clear();
    data.extend_from_slice(old);
    Ok(Some((id, tail_first, held)))
}

/// Inserts the rows `order` into `table_cols` (`cols` values each), [`ROWS_PER_INSERT`] rows per
/// cached statement (the remainder one row at a time); `bind(stmt, first, i)` binds row `i`'s
/// values to parameters `first..first + cols` (1-based).
fn insert_rows(
    conn: &Connection,
    table_cols: &str,
    cols: usize,
    order: &[u32],
    mut bind: impl FnMut(&mut rusqlite::Statement<'_>, usize, u32) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut chunks = order.chunks_exact(ROWS_PER_INSERT);
    if chunks.len() > 0 {
        let mut stmt = conn.prepare_cached(&insert_sql(table_cols, cols, ROWS_PER_INSERT))?;
        for chunk in &mut chunks {
            for (row, &i) in chunk.iter().enumerate() {
                bind(&mut stmt, 1 + row * cols, i)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = conn.prepare_cached(&insert_sql(table_cols, cols, 1))?;
        for &i in rest {
            bind(&mut stmt, 1, i)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// `INSERT INTO <table_cols> VALUES (?,…),(?,…)…` with `rows` tuples of `cols` placeholders.
fn insert_sql(table_cols: &str, cols: usize, rows: usize) -> String {
    let tuple = format!("({})", vec!["?"; cols].join(","));
    format!(
        "INSERT OR FAIL INTO {table_cols} VALUES {}",
        vec![tuple; rows].join(",")
    )
}

/// What `symbols.max_span` records for a chunk spanning `span` ns: the next power of two, a
/// looser bound that is still correct, so a newest chunk that grows batch by batch rewrites its
/// symbol's row only when its span doubles.
fn span_bound(span: i64) -> i64 {
    (span.max(0) as u64)
        .checked_next_power_of_two()
        .map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64)
}

/// Raises the known `max_span` of `symbol` in `spans` to `span`, never lowering it.
pub(super) fn set_span(spans: &mut Vec<Option<i64>>, symbol: SymbolId, span: i64) {
    let i = symbol as usize;
    if i >= spans.len() {
        spans.resize(i + 1, None);
    }
    spans[i] = Some(spans[i].map_or(span, |known| known.max(span)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::signal::{Reason, Side};

    #[test]
    fn insert_sql_has_one_placeholder_per_value() {
        let sql = insert_sql("t(a, b)", 2, 3);
        assert_eq!(sql, "INSERT OR FAIL INTO t(a, b) VALUES (?,?),(?,?),(?,?)");
    }

    #[test]
    fn a_batch_that_fails_part_way_leaves_no_row_behind() {
        let mut store = SignalStore::open_in_memory().unwrap();
        let signal = |symbol: u32, i: u64| Signal {
            symbol,
            ts_ns: 1_000 + i,
            side: Side::Buy,
            strength: 0.5,
            reason: Reason::MacdCrossRsi,
        };
        store.insert_signals(&[signal(1, 0)]).unwrap();
        // Symbol 1's chunks go in first; the first chunk of symbol 2 then fails.
        store
            .conn
            .execute_batch(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON signal_chunks WHEN NEW.symbol = 2 \
                 BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
            )
            .unwrap();
        let batch: Vec<Signal> = (1..=200).map(|i| signal(1 + (i % 2) as u32, i)).collect();
        let err = store.insert_signals(&batch).unwrap_err();
        assert!(err.to_string().contains("refused by test"), "{err}");
        assert_eq!(
            store.signal_count().unwrap(),
            1,
            "rows of the failed batch remain"
        );
        assert_eq!(store.latest(1, 10).unwrap(), vec![signal(1, 0)]);
        // The store goes on: the failed batch took no sequence numbers and no span.
        store.conn.execute_batch("DROP TRIGGER refuse").unwrap();
        store.insert_signals(&batch[..10]).unwrap();
        assert_eq!(store.signal_count().unwrap(), 11);
    }

    #[test]
    fn small_batches_fill_the_newest_chunk_instead_of_adding_chunks() {
        let mut store = SignalStore::open_in_memory().unwrap();
        let signal = |ts_ns: u64, i: usize| Signal {
            symbol: 1,
            ts_ns,
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            strength: i as f64,
            reason: Reason::BollingerBreakout,
        };
        let chunks = |store: &SignalStore| -> i64 {
            store
                .conn
                .query_row("SELECT count(*) FROM signal_chunks", [], |r| r.get(0))
                .unwrap()
        };
        // 200 one-signal batches in time order (every other timestamp repeated): 4 chunks.
        let mut all = Vec::new();
        for i in 0..200 {
            let s = signal(1_000 + i as u64 / 2, i);
            store.insert_signals(&[s]).unwrap();
            all.push(s);
        }
        assert_eq!(chunks(&store), 4);
        // A batch older than the newest chunk's end starts a chunk of its own.
        let late = [signal(1_010, 200), signal(2_000, 201)];
        store.insert_signals(&late).unwrap();
        all.extend(late);
        assert_eq!(chunks(&store), 5);
        let mut by_time = all.clone();
        by_time.sort_by_key(|s| s.ts_ns); // stable: ties in insertion order
        assert_eq!(store.range(1, 0, u64::MAX).unwrap(), by_time);
        let newest: Vec<Signal> = by_time.iter().rev().take(70).copied().collect();
        assert_eq!(store.latest(1, 70).unwrap(), newest);
        assert_eq!(store.signal_count().unwrap(), 202);
    }

    #[test]
    fn ticks_go_in_by_full_statements_then_single_rows_in_key_order() {
        let mut store = SignalStore::open_in_memory().unwrap();
        // 70 ticks: two 32-row statements and 6 single rows; times descending, so every
        // symbol's run is sorted on the way in.
        let ticks: Vec<Tick> = (0..70u32)
            .map(|i| Tick {
                ts_ns: u64::from(1_000 - i / 2),
                price: f64::from(i),
                symbol: i % 3,
                size: i,
            })
            .collect();
        store.insert_ticks(&ticks).unwrap();
        assert_eq!(store.tick_count().unwrap(), 70);
        for symbol in 0..3 {
            let mut expected: Vec<Tick> = ticks
                .iter()
                .filter(|t| t.symbol == symbol)
                .copied()
                .collect();
            expected.sort_by_key(|t| t.ts_ns); // stable: ties in input order
            assert_eq!(store.tick_range(symbol, 0, u64::MAX).unwrap(), expected);
        }
    }

    #[test]
    fn span_bounds_are_the_next_power_of_two_and_never_overflow() {
        for (span, bound) in [(-5, 1), (0, 1), (1, 1), (5, 8), (8, 8), (9, 16)] {
            assert_eq!(span_bound(span), bound, "{span}");
        }
        assert_eq!(span_bound((1 << 62) + 1), i64::MAX);
        assert_eq!(span_bound(i64::MAX), i64::MAX);
        let mut spans = Vec::new();
        set_span(&mut spans, 3, 8);
        set_span(&mut spans, 3, 4);
        set_span(&mut spans, 1, 2);
        assert_eq!(spans, [None, Some(2), None, Some(8)]);
    }
}
