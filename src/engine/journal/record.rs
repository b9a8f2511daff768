//! One record's bytes: encoding a signal as a line (in place, eight digits at a time) and
//! decoding a line back, refusing it if its CRC or any field is wrong.

use crate::engine::crc32::crc32;
use crate::engine::signal::{Reason, Side, Signal};

use super::{JournalRecord, Seq, MAX_RECORD_BYTES};

/// Appends the encoded record, newline included.
pub(super) fn encode(buf: &mut Vec<u8>, seq: Seq, s: &Signal) {
    // Written in place: the buffer grows by a fixed-size room (zeroed by a few vector stores),
    // the fields go in as whole 8-byte words (digits made eight at a time in a `u64`) with a
    // cursor the compiler keeps in a register, then the buffer is cut to the record's length.
    let start = buf.len();
    buf.resize(start + RECORD_ROOM, 0);
    let room: &mut [u8; RECORD_ROOM] = (&mut buf[start..]).try_into().expect("room just made");
    let mut rec = Record {
        bytes: room,
        len: 0,
    };
    rec.decimal(seq);
    rec.byte(b' ');
    rec.decimal(u64::from(s.symbol));
    rec.byte(b' ');
    rec.decimal(s.ts_ns);
    rec.bytes(match s.side {
        Side::Buy => b" B ",
        Side::Sell => b" S ",
    });
    let bits = s.strength.to_bits();
    rec.word(hex_digits((bits >> 32) as u32), 8);
    rec.word(hex_digits(bits as u32), 8);
    let reason = reason_code(s.reason);
    debug_assert!(reason < 10, "reason codes are one digit");
    rec.bytes(&[b' ', b'0' + reason as u8, b' ']);
    let crc = crc32(rec.as_bytes());
    rec.word(hex_digits(crc), 8);
    rec.byte(b'\n');
    let len = rec.len;
    buf.truncate(start + len);
}

/// Room an encoding takes in the buffer: the longest record and the last 8-byte word's
/// overhang.
pub(super) const RECORD_ROOM: usize = MAX_RECORD_BYTES + 8;

/// One record being encoded in its room: at most [`MAX_RECORD_BYTES`], which every field's
/// worst case adds up to; the room has space for the last 8-byte word written past the end.
struct Record<'a> {
    bytes: &'a mut [u8; RECORD_ROOM],
    len: usize,
}

impl Record<'_> {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        self.bytes[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// Writes the 8 bytes of `word` (first byte lowest) and keeps the first `keep` of them.
    #[inline(always)]
    fn word(&mut self, word: u64, keep: usize) {
        self.bytes[self.len..self.len + 8].copy_from_slice(&word.to_le_bytes());
        self.len += keep;
    }

    /// Decimal, as `u64::to_string`: the number's 8-digit groups, the first without its
    /// leading zeros.
    #[inline(always)]
    fn decimal(&mut self, v: u64) {
        const E8: u64 = 100_000_000;
        let (lead, rest) = if v < E8 {
            (v, 0)
        } else if v < E8 * E8 {
            (v / E8, 1)
        } else {
            (v / (E8 * E8), 2)
        };
        let digits = eight_digits(lead as u32);
        // Leading zeros are the low zero bytes (the first in memory); keep one digit of 0.
        let zeros = (digits.trailing_zeros() / 8).min(7);
        self.word((digits >> (8 * zeros)) + ASCII_ZEROS, 8 - zeros as usize);
        if rest == 2 {
            self.word(eight_digits((v / E8 % E8) as u32) + ASCII_ZEROS, 8);
        }
        if rest >= 1 {
            self.word(eight_digits((v % E8) as u32) + ASCII_ZEROS, 8);
        }
    }
}

/// `b'0'` in every byte.
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The eight decimal digits of `n` (< 10^8), most significant in the lowest byte, as values
/// 0-9 (add [`ASCII_ZEROS`] for text). Splits in parallel lanes, by multiplying and shifting
/// instead of dividing: into two 4-digit halves (32-bit lanes), each into two 2-digit parts
/// (16-bit lanes), each into two digits (bytes). `x * 10_486 >> 20` is `x / 100` for
/// x < 10 000 and `x * 103 >> 10` is `x / 10` for x < 100; no lane's product reaches the next.
#[inline(always)]
fn eight_digits(n: u32) -> u64 {
    debug_assert!(n < 100_000_000);
    let x = u64::from(n / 10_000) | u64::from(n % 10_000) << 32;
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let x = hundreds | (x - hundreds * 100) << 16;
    let tens = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | (x - tens * 10) << 8
}

/// The eight lower-case hex digits of `v`, most significant in the lowest byte, as text.
#[inline(always)]
fn hex_digits(v: u32) -> u64 {
    // Spread the nibbles to one per byte, least significant nibble in the lowest byte: one
    // PDEP where BMI2 is a compile-time target feature (as in this project's build).
    #[cfg(all(target_arch = "x86_64", target_feature = "bmi2"))]
    // SAFETY: the instruction is available: BMI2 is enabled for the whole build.
    let x = unsafe { std::arch::x86_64::_pdep_u64(u64::from(v), 0x0f0f_0f0f_0f0f_0f0f) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "bmi2")))]
    let x = spread_nibbles(v);
    // 1 in each byte whose nibble is 10 or more: those step from '9' + 1 to 'a'.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (x + ASCII_ZEROS + letters * (b'a' - b'0' - 10) as u64).swap_bytes()
}

/// The nibbles of `v` one per byte, least significant in the lowest byte, without BMI2: three
/// shift-and-mask steps.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "bmi2"), allow(dead_code))]
#[inline(always)]
fn spread_nibbles(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f
}

/// Decodes one line (without its newline).
// Called per record from segment.rs, another codegen unit: inlined there.
#[inline]
pub(super) fn decode(line: &[u8]) -> Result<JournalRecord, &'static str> {
    if line.len() < 9 {
        return Err("record too short");
    }
    let (body, crc) = line.split_at(line.len() - 8);
    let crc = parse_hex(crc).ok_or("bad checksum field")?;
    if crc32(body) as u64 != crc {
        return Err("checksum mismatch");
    }
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8")?;
    let mut fields = text.split(' ');
    let mut next = || fields.next().ok_or("missing field");
    let seq = next()?.parse::<Seq>().map_err(|_| "bad seq")?;
    let symbol = next()?.parse::<u32>().map_err(|_| "bad symbol")?;
    let ts_ns = next()?.parse::<u64>().map_err(|_| "bad timestamp")?;
    let side = match next()? {
        "B" => Side::Buy,
        "S" => Side::Sell,
        _ => return Err("bad side"),
    };
    let strength = f64::from_bits(parse_hex(next()?.as_bytes()).ok_or("bad strength")?);
    let reason = next()?
        .parse::<u64>()
        .ok()
        .and_then(reason_from_code)
        .ok_or("bad reason")?;
    if !next()?.is_empty() {
        return Err("trailing field");
    }
    Ok(JournalRecord {
        seq,
        signal: Signal {
            symbol,
            ts_ns,
            side,
            strength,
            reason,
        },
    })
}

fn reason_code(reason: Reason) -> u64 {
    match reason {
        Reason::MacdCrossRsi => 0,
        Reason::BollingerBreakout => 1,
    }
}

fn reason_from_code(code: u64) -> Option<Reason> {
    match code {
        0 => Some(Reason::MacdCrossRsi),
        1 => Some(Reason::BollingerBreakout),
        _ => None,
    }
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(d))
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A varied signal for the journal's tests (both sides, both reasons, fractional strength).
    pub(in crate::engine::journal) fn signal(i: u64) -> Signal {
        Signal {
            symbol: (i % 7) as u32,
            ts_ns: 1_700_000_000_000_000_000 + i,
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            strength: i as f64 / 3.0,
            reason: if i % 3 == 0 {
                Reason::MacdCrossRsi
            } else {
                Reason::BollingerBreakout
            },
        }
    }

    #[test]
    fn record_bytes_are_the_documented_format() {
        // The same line the format has always had: fields in decimal, strength as its 16 hex
        // bit digits, then the CRC-32 of everything before it as 8 hex digits.
        for i in [0u64, 1, 7, 12345, u64::MAX / 3] {
            let s = Signal {
                ts_ns: u64::MAX - i,
                ..signal(i)
            };
            let mut buf = Vec::new();
            encode(&mut buf, i + 1, &s);
            let side = if s.side == Side::Buy { "B" } else { "S" };
            let body = format!(
                "{} {} {} {side} {:016x} {} ",
                i + 1,
                s.symbol,
                s.ts_ns,
                s.strength.to_bits(),
                reason_code(s.reason)
            );
            let want = format!(
                "{body}{:08x}\n",
                crate::engine::crc32::crc32_bitwise(body.as_bytes())
            );
            assert_eq!(String::from_utf8(buf).unwrap(), want);
        }
    }

    #[test]
    fn records_round_trip_exactly() {
        for i in [0, 1, 2, 3, 12345, u64::MAX / 2] {
            let mut buf = Vec::new();
            let s = Signal {
                ts_ns: u64::MAX - i,
                symbol: u32::MAX - i as u32,
                ..signal(i)
            };
            encode(&mut buf, i + 1, &s);
            assert!(buf.len() <= MAX_RECORD_BYTES);
            assert_eq!(buf.last(), Some(&b'\n'));
            let r = decode(&buf[..buf.len() - 1]).unwrap();
            assert_eq!(r.seq, i + 1);
            assert_eq!(r.signal, s);
            assert_eq!(r.signal.strength.to_bits(), s.strength.to_bits());
        }
    }

    #[test]
    fn decode_rejects_any_flipped_byte() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, &signal(7));
        let line = &buf[..buf.len() - 1];
        for i in 0..line.len() {
            let mut bad = line.to_vec();
            bad[i] ^= 0x01;
            assert!(decode(&bad).is_err(), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn number_formatting_matches_std() {
        let mut values = vec![0u64, 1 << 40, u64::MAX];
        // Every digit count, at its first and last value.
        for digits in 1..20 {
            let p = 10u64.pow(digits);
            values.extend([p / 10, p - 1, p, p + 1]);
        }
        for v in values {
            let (mut room, mut hex_room) = ([0; RECORD_ROOM], [0; RECORD_ROOM]);
            let mut rec = Record {
                bytes: &mut room,
                len: 0,
            };
            rec.decimal(v);
            assert_eq!(rec.as_bytes(), v.to_string().as_bytes());
            let mut hex = Record {
                bytes: &mut hex_room,
                len: 0,
            };
            hex.word(hex_digits((v >> 32) as u32), 8);
            hex.word(hex_digits(v as u32), 8);
            assert_eq!(hex.as_bytes(), format!("{v:016x}").as_bytes());
            assert_eq!(parse_hex(hex.as_bytes()), Some(v));
        }
        for n in (0..100_000_000u32).step_by(9_973).chain([99_999_999]) {
            let text = (eight_digits(n) + ASCII_ZEROS).to_le_bytes();
            assert_eq!(text, *format!("{n:08}").as_bytes(), "{n}");
        }
        for v in (0..=u32::MAX)
            .step_by(65_521)
            .chain([u32::MAX, 0xabcd_ef09])
        {
            let text = hex_digits(v).to_le_bytes();
            assert_eq!(text, *format!("{v:08x}").as_bytes(), "{v:#x}");
        }
    }

    #[test]
    fn decode_rejects_every_torn_prefix() {
        let mut buf = Vec::new();
        encode(&mut buf, 123_456, &signal(5));
        let line = &buf[..buf.len() - 1];
        assert!(decode(line).is_ok());
        for len in 0..line.len() {
            assert!(
                decode(&line[..len]).is_err(),
                "a record cut to {len} bytes was accepted"
            );
        }
    }
}
