//! The queries: latest-N, time ranges and aggregates read chunks through the index on
//! `(symbol, last_ts)` and decode them in Rust; tick ranges read rows.

use rusqlite::Connection;

use super::chunk::{chunk_data, chunk_rows, decode_row};
use super::{SideAggregate, MAX_TS_NS};
use crate::engine::signal::{Side, Signal};
use crate::engine::tick::{SymbolId, Tick};

pub(super) fn latest(
    conn: &Connection,
    symbol: SymbolId,
    n: usize,
) -> rusqlite::Result<Vec<Signal>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT last_ts, data FROM signal_chunks WHERE symbol = ?1 ORDER BY last_ts DESC",
    )?;
    let mut chunks = stmt.query([symbol])?;
    // The newest rows seen so far, newest first, at most n.
    let mut newest: Vec<(u64, u64, Signal)> = Vec::new();
    while let Some(chunk) = chunks.next()? {
        // Chunks come newest last row first; once n rows are newer than all of this chunk,
        // no later chunk can hold one of the newest n.
        let last_ts = chunk.get::<_, i64>(0)? as u64;
        if newest.len() == n && last_ts < newest[n - 1].0 {
            break;
        }
        for row in chunk_rows(chunk_data(chunk, 1)?)?.rev().take(n) {
            newest.push(decode_row(symbol, row)?);
        }
        newest.sort_unstable_by_key(|r| std::cmp::Reverse((r.0, r.1)));
        newest.truncate(n);
    }
    Ok(newest.into_iter().map(|(_, _, s)| s).collect())
}

pub(super) fn range(
    conn: &Connection,
    symbol: SymbolId,
    from_ns: u64,
    to_ns: u64,
) -> rusqlite::Result<Vec<Signal>> {
    let (from, to) = (clamp_ts(from_ns), clamp_ts(to_ns));
    if from >= to {
        return Ok(Vec::new());
    }
    // A chunk holds rows of the window iff first_ts < to and last_ts >= from; first_ts is at
    // least last_ts - max_span, so the index range on last_ts ends below to + max_span.
    let mut stmt = conn.prepare_cached(
        "SELECT c.data FROM symbols AS s CROSS JOIN signal_chunks AS c \
         WHERE s.symbol = ?1 AND c.symbol = s.symbol \
           AND c.last_ts >= ?2 AND c.last_ts < ?3 + s.max_span AND c.first_ts < ?3 \
         ORDER BY c.last_ts",
    )?;
    let mut chunks = stmt.query((symbol, from, to))?;
    let mut found: Vec<(u64, u64, Signal)> = Vec::new();
    let window = from as u64..to as u64;
    while let Some(chunk) = chunks.next()? {
        for row in chunk_rows(chunk_data(chunk, 0)?)? {
            let decoded = decode_row(symbol, row)?;
            if window.contains(&decoded.0) {
                found.push(decoded);
            }
        }
    }
    // Chunks of batches that arrived out of time order overlap.
    if !found.is_sorted_by_key(|r| (r.0, r.1)) {
        found.sort_unstable_by_key(|r| (r.0, r.1));
    }
    Ok(found.into_iter().map(|(_, _, s)| s).collect())
}

pub(super) fn aggregates(
    conn: &Connection,
    from_ns: u64,
    to_ns: u64,
) -> rusqlite::Result<Vec<SideAggregate>> {
    let (from, to) = (clamp_ts(from_ns), clamp_ts(to_ns));
    if from >= to {
        return Ok(Vec::new());
    }
    // CROSS JOIN pins the loop order: for each known symbol (in symbol order), a range seek into
    // its chunks, bounded as in `range`.
    let mut stmt = conn.prepare_cached(
        "SELECT s.symbol, c.data FROM symbols AS s CROSS JOIN signal_chunks AS c \
         WHERE c.symbol = s.symbol \
           AND c.last_ts >= ?1 AND c.last_ts < ?2 + s.max_span AND c.first_ts < ?2 \
         ORDER BY s.symbol",
    )?;
    let mut chunks = stmt.query((from, to))?;
    let window = from as u64..to as u64;
    let mut out = Vec::new();
    // Per side (buy, sell) of the current symbol: count and sum of strengths.
    let mut current: Option<(SymbolId, [(u64, f64); 2])> = None;
    let flush = |out: &mut Vec<SideAggregate>, (symbol, sides): (SymbolId, [(u64, f64); 2])| {
        for (side, (count, sum)) in [Side::Buy, Side::Sell].into_iter().zip(sides) {
            if count > 0 {
                out.push(SideAggregate {
                    symbol,
                    side,
                    count,
                    mean_strength: sum / count as f64,
                });
            }
        }
    };
    while let Some(chunk) = chunks.next()? {
        let symbol: SymbolId = chunk.get(0)?;
        if current.is_some_and(|(s, _)| s != symbol) {
            flush(&mut out, current.take().expect("checked"));
        }
        let sides = &mut current.get_or_insert((symbol, [(0, 0.0); 2])).1;
        for row in chunk_rows(chunk_data(chunk, 1)?)? {
            let (ts, _, signal) = decode_row(symbol, row)?;
            if window.contains(&ts) {
                let side = &mut sides[usize::from(signal.side == Side::Sell)];
                side.0 += 1;
                side.1 += signal.strength;
            }
        }
    }
    if let Some(last) = current {
        flush(&mut out, last);
    }
    Ok(out)
}

/// Ticks of `symbol` with `from_ns <= ts_ns < to_ns`, oldest first.
pub(super) fn tick_range(
    conn: &Connection,
    symbol: SymbolId,
    from_ns: u64,
    to_ns: u64,
) -> rusqlite::Result<Vec<Tick>> {
    let (from, to) = (clamp_ts(from_ns), clamp_ts(to_ns));
    let mut stmt = conn.prepare_cached(
        "SELECT ts_ns, price, size FROM ticks \
         WHERE symbol = ?1 AND ts_ns >= ?2 AND ts_ns < ?3 ORDER BY ts_ns, seq",
    )?;
    let rows = stmt.query_map((symbol, from, to), |r| {
        Ok(Tick {
            ts_ns: r.get::<_, i64>(0)? as u64,
            price: r.get(1)?,
            symbol,
            size: r.get(2)?,
        })
    })?;
    rows.collect()
}

pub(super) fn count(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

/// Query bounds above the storable maximum mean "to the end".
fn clamp_ts(ts_ns: u64) -> i64 {
    ts_ns.min(MAX_TS_NS) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::signal::Reason;
    use crate::engine::store::SignalStore;

    fn batch(symbol: SymbolId, times: impl IntoIterator<Item = u64>) -> Vec<Signal> {
        times
            .into_iter()
            .map(|ts_ns| Signal {
                symbol,
                ts_ns,
                side: if ts_ns % 2 == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                },
                strength: ts_ns as f64,
                reason: Reason::MacdCrossRsi,
            })
            .collect()
    }

    #[test]
    fn queries_read_no_chunk_they_do_not_need() {
        // Two full chunks of symbol 1, [0, 64) and [100, 164); the older one is then damaged, so
        // a query that reads it fails.
        let mut store = SignalStore::open_in_memory().unwrap();
        store.insert_signals(&batch(1, 0..64)).unwrap();
        store.insert_signals(&batch(1, 100..164)).unwrap();
        store
            .conn
            .execute(
                "UPDATE signal_chunks SET data = x'00' WHERE last_ts = 63",
                [],
            )
            .unwrap();
        let conn = &store.conn;
        let newest: Vec<u64> = latest(conn, 1, 64)
            .unwrap()
            .iter()
            .map(|s| s.ts_ns)
            .collect();
        assert_eq!(newest, (100..164).rev().collect::<Vec<u64>>());
        assert!(
            latest(conn, 1, 65).is_err(),
            "the 65th newest is in the damaged chunk"
        );
        assert_eq!(range(conn, 1, 100, 1_000).unwrap(), batch(1, 100..164));
        assert!(
            range(conn, 1, 63, 1_000).is_err(),
            "the window reaches the damaged chunk"
        );
        let sums = aggregates(conn, 100, 1_000).unwrap();
        assert_eq!(sums.iter().map(|a| a.count).sum::<u64>(), 64);
        assert!(aggregates(conn, 0, 1_000).is_err());
    }

    #[test]
    fn bounds_past_the_storable_maximum_reach_the_end_and_empty_windows_read_nothing() {
        let mut store = SignalStore::open_in_memory().unwrap();
        let signals = batch(2, [5, MAX_TS_NS - 1]);
        store.insert_signals(&signals).unwrap();
        let ticks: Vec<Tick> = [5, MAX_TS_NS - 1]
            .map(|ts_ns| Tick {
                ts_ns,
                price: 1.5,
                symbol: 2,
                size: 3,
            })
            .to_vec();
        store.insert_ticks(&ticks).unwrap();
        let conn = &store.conn;
        assert_eq!(range(conn, 2, 0, u64::MAX).unwrap(), signals);
        assert_eq!(tick_range(conn, 2, 0, u64::MAX).unwrap(), ticks);
        let sums = aggregates(conn, 0, u64::MAX).unwrap();
        assert_eq!(sums.iter().map(|a| a.count).sum::<u64>(), 2);
        assert_eq!(range(conn, 2, 5, 5).unwrap(), []);
        assert_eq!(range(conn, 2, 6, 5).unwrap(), []);
        assert_eq!(aggregates(conn, 6, 5).unwrap(), []);
        assert_eq!(latest(conn, 2, 0).unwrap(), []);
        assert_eq!(latest(conn, 2, 1).unwrap(), signals[1..]);
    }
}
