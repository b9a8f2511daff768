//! A chunk's bytes: the 25-byte rows that pack a run of one symbol's signals into one row of
//! `signal_chunks`, and the checks that refuse a damaged chunk as corrupt.

use crate::engine::signal::{Reason, Side, Signal};
use crate::engine::tick::SymbolId;

/// Bytes of one signal inside a chunk: `ts_ns` and `seq` (u64, little-endian), `kind` (u8),
/// the strength's IEEE-754 bits (u64, little-endian).
pub(super) const CHUNK_ROW_BYTES: usize = 25;

/// Appends one signal's 25 bytes to a chunk's data.
// Called per row from writer.rs, another codegen unit: inlined there, no call per row.
#[inline]
pub(super) fn push_row(data: &mut Vec<u8>, ts: u64, seq: i64, kind: i64, strength: f64) {
    data.extend_from_slice(&ts.to_le_bytes());
    data.extend_from_slice(&(seq as u64).to_le_bytes());
    data.push(kind as u8);
    data.extend_from_slice(&strength.to_bits().to_le_bytes());
}

/// Packs side (bit 0) and reason (bits 1..) into one small integer.
pub(super) fn encode_kind(side: Side, reason: Reason) -> i64 {
    let side = match side {
        Side::Buy => 0,
        Side::Sell => 1,
    };
    let reason = match reason {
        Reason::MacdCrossRsi => 0,
        Reason::BollingerBreakout => 1,
    };
    side | reason << 1
}

/// Inserts one chunk.
pub(super) const INSERT_CHUNK: &str =
    "INSERT INTO signal_chunks(symbol, first_ts, last_ts, rows, data) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Writes `rows` (`(ts_ns, seq, kind, strength)`, in key order, at least one) of `symbol` as one
/// chunk through `stmt` ([`INSERT_CHUNK`]), encoding into `data`; returns the chunk's time span.
pub(super) fn write_chunk(
    stmt: &mut rusqlite::Statement<'_>,
    data: &mut Vec<u8>,
    symbol: SymbolId,
    rows: impl Iterator<Item = (u64, i64, i64, f64)>,
) -> rusqlite::Result<i64> {
    data.clear();
    let (mut first, mut last, mut n) = (None, 0, 0i64);
    for (ts, seq, kind, strength) in rows {
        first.get_or_insert(ts);
        last = ts;
        n += 1;
        push_row(data, ts, seq, kind, strength);
    }
    let first = first.expect("a chunk has at least one row");
    stmt.raw_bind_parameter(1, symbol)?;
    stmt.raw_bind_parameter(2, first as i64)?;
    stmt.raw_bind_parameter(3, last as i64)?;
    stmt.raw_bind_parameter(4, n)?;
    stmt.raw_bind_parameter(5, &data[..])?;
    stmt.raw_execute()?;
    Ok(last as i64 - first as i64)
}

/// Column `i` of a query row: a chunk's data, which must be a blob.
pub(super) fn chunk_data<'a>(row: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a [u8]> {
    row.get_ref(i)?
        .as_blob()
        .map_err(|_| corrupt("a signal chunk's data is not a blob".into()))
}

/// The rows of a chunk's data, checked for a whole number of rows.
// Called per chunk from query.rs and writer.rs, another codegen unit: inlined there.
#[inline]
pub(super) fn chunk_rows(data: &[u8]) -> rusqlite::Result<std::slice::ChunksExact<'_, u8>> {
    if data.len() % CHUNK_ROW_BYTES != 0 {
        return Err(corrupt(format!(
            "a signal chunk holds {} bytes, not a multiple of {CHUNK_ROW_BYTES}",
            data.len()
        )));
    }
    Ok(data.chunks_exact(CHUNK_ROW_BYTES))
}

/// One row of a chunk: `(ts_ns, seq, signal)`.
// Called per row from query.rs, another codegen unit: inlined there, no call per row.
#[inline]
pub(super) fn decode_row(symbol: SymbolId, row: &[u8]) -> rusqlite::Result<(u64, u64, Signal)> {
    let word = |at: usize| u64::from_le_bytes(row[at..at + 8].try_into().expect("8 bytes"));
    let (ts_ns, seq, kind) = (word(0), word(8), row[16]);
    let (side, reason) = decode_kind(i64::from(kind)).ok_or_else(|| {
        corrupt(format!(
            "a stored signal has kind {kind}, which no version writes"
        ))
    })?;
    let signal = Signal {
        symbol,
        ts_ns,
        side,
        strength: f64::from_bits(word(17)),
        reason,
    };
    Ok((ts_ns, seq, signal))
}

fn decode_kind(kind: i64) -> Option<(Side, Reason)> {
    let side = if kind & 1 == 0 { Side::Buy } else { Side::Sell };
    let reason = match kind >> 1 {
        0 => Reason::MacdCrossRsi,
        1 => Reason::BollingerBreakout,
        _ => return None,
    };
    Some((side, reason))
}

/// An SQLite "database corrupt" error with `message`: [`super::classify`] turns it into
/// [`super::StoreError::Corrupt`], naming the file.
fn corrupt(message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some(message),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::Connection;

    use super::*;
    use crate::engine::store::schema::check_and_upgrade;
    use crate::engine::store::MAX_TS_NS;

    #[test]
    fn kind_round_trips_every_side_and_reason() {
        for side in [Side::Buy, Side::Sell] {
            for reason in [Reason::MacdCrossRsi, Reason::BollingerBreakout] {
                assert_eq!(decode_kind(encode_kind(side, reason)), Some((side, reason)));
            }
        }
        assert_eq!(decode_kind(9), None);
    }

    #[test]
    fn rows_round_trip_through_a_chunk_bit_for_bit() {
        let (buy, sell) = (Side::Buy, Side::Sell);
        let (macd, bollinger) = (Reason::MacdCrossRsi, Reason::BollingerBreakout);
        let rows = [
            (0, 0, encode_kind(buy, macd), 0.0),
            (
                1_700_000_000_000_000_000,
                41,
                encode_kind(sell, bollinger),
                -0.0,
            ),
            (
                MAX_TS_NS,
                i64::MAX,
                encode_kind(sell, macd),
                f64::MIN_POSITIVE,
            ),
            (MAX_TS_NS, 7, encode_kind(buy, bollinger), f64::NAN),
        ];
        let mut data = Vec::new();
        for &(ts, seq, kind, strength) in &rows {
            push_row(&mut data, ts, seq, kind, strength);
        }
        assert_eq!(data.len(), rows.len() * CHUNK_ROW_BYTES);
        let decoded: Vec<(u64, u64, Signal)> = chunk_rows(&data)
            .unwrap()
            .map(|row| decode_row(9, row).unwrap())
            .collect();
        assert_eq!(decoded.len(), rows.len());
        for (&(ts, seq, kind, strength), (got_ts, got_seq, signal)) in rows.iter().zip(decoded) {
            assert_eq!((got_ts, got_seq), (ts, seq as u64));
            assert_eq!((signal.symbol, signal.ts_ns), (9, ts));
            assert_eq!(encode_kind(signal.side, signal.reason), kind);
            assert_eq!(signal.strength.to_bits(), strength.to_bits());
        }
    }

    #[test]
    fn a_damaged_chunk_is_refused_as_corrupt() {
        let is_corrupt = |e: rusqlite::Error| {
            e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseCorrupt)
        };
        let mut data = Vec::new();
        push_row(
            &mut data,
            5,
            1,
            encode_kind(Side::Buy, Reason::MacdCrossRsi),
            0.5,
        );
        push_row(
            &mut data,
            6,
            2,
            encode_kind(Side::Sell, Reason::MacdCrossRsi),
            0.25,
        );
        // Not a whole number of rows.
        assert!(is_corrupt(chunk_rows(&data[..data.len() - 1]).unwrap_err()));
        // A kind that no version writes, in the second row.
        data[CHUNK_ROW_BYTES + 16] = 4;
        let mut rows = chunk_rows(&data).unwrap();
        assert!(decode_row(1, rows.next().unwrap()).is_ok());
        assert!(is_corrupt(decode_row(1, rows.next().unwrap()).unwrap_err()));
    }

    #[test]
    fn a_written_chunk_holds_its_bounds_count_and_rows() {
        let conn = Connection::open_in_memory().unwrap();
        check_and_upgrade(&conn, Path::new(":memory:")).unwrap();
        let rows = [(100, 0, 0, 0.5), (100, 1, 1, 0.75), (250, 2, 3, 1.0)];
        let mut data = Vec::new();
        let mut insert = conn.prepare(INSERT_CHUNK).unwrap();
        let span = write_chunk(&mut insert, &mut data, 7, rows.into_iter()).unwrap();
        assert_eq!(span, 150);
        let mut stmt = conn
            .prepare("SELECT symbol, first_ts, last_ts, rows, data FROM signal_chunks")
            .unwrap();
        let mut found = stmt.query([]).unwrap();
        let chunk = found.next().unwrap().unwrap();
        let bounds: (SymbolId, i64, i64, i64) = (
            chunk.get(0).unwrap(),
            chunk.get(1).unwrap(),
            chunk.get(2).unwrap(),
            chunk.get(3).unwrap(),
        );
        assert_eq!(bounds, (7, 100, 250, 3));
        let keys: Vec<(u64, u64)> = chunk_rows(chunk_data(chunk, 4).unwrap())
            .unwrap()
            .map(|row| decode_row(7, row).map(|(ts, seq, _)| (ts, seq)).unwrap())
            .collect();
        assert_eq!(keys, [(100, 0), (100, 1), (250, 2)]);
        assert!(found.next().unwrap().is_none());
        // Data that is not a blob is refused as corrupt.
        let mut text = conn.prepare("SELECT 'text'").unwrap();
        let mut found = text.query([]).unwrap();
        let err = chunk_data(found.next().unwrap().unwrap(), 0).unwrap_err();
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt)
        );
    }
}
