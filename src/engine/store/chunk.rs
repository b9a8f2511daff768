//! A chunk's bytes: the 25-byte rows that pack a run of one symbol's signals into one row of
//! `signal_chunks`, and the checks that refuse a damaged chunk as corrupt.

use crate::engine::signal::{Reason, Side, Signal};
use crate::engine::tick::SymbolId;

/// Bytes of one signal inside a chunk: `ts_ns` and `seq` (u64, little-endian), `kind` (u8),
/// the strength's IEEE-754 bits (u64, little-endian).
pub(super) const CHUNK_ROW_BYTES: usize = 25;

/// Appends one signal's 25 bytes to a chunk's data.
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
    use super::*;

    #[test]
    fn kind_round_trips_every_side_and_reason() {
        for side in [Side::Buy, Side::Sell] {
            for reason in [Reason::MacdCrossRsi, Reason::BollingerBreakout] {
                assert_eq!(decode_kind(encode_kind(side, reason)), Some((side, reason)));
            }
        }
        assert_eq!(decode_kind(9), None);
    }
}
