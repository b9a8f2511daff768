//! CRC-32 (IEEE 802.3, as in zlib and gzip), the journal's record checksum.
//!
//! Two ways to the same value:
//!
//! - **Carry-less multiplication** (x86-64 with PCLMULQDQ, checked at run time; every x86-64
//!   CPU since about 2010 has it; known at compile time in this project's build, else checked
//!   at run time) for inputs of 16 bytes or more. The input is seen as whole 16-byte blocks;
//!   each is multiplied by the power of x that moves it to the last block (two carry-less
//!   multiplications; the last 8 blocks side by side, longer inputs one block at a time first),
//!   and the sum is reduced to 32 bits (Gopal et al., "Fast CRC Computation for Generic
//!   Polynomials Using PCLMULQDQ", Intel, 2009; the constants are computed here and checked
//!   against Linux's `crc32-pclmul`). A length that is not a multiple of 16 is padded at the
//!   front with zero bytes, and the initial value is changed to the one that those zero bytes
//!   turn into the standard `!0` (zero bytes shift a CRC register by an invertible map), so no
//!   tail needs its own code. A journal record (about 60 bytes) costs about 50 instructions
//!   instead of about 150 table lookups and shifts.
//! - **Tables**, slicing by 16, then by 4, then bytewise: everywhere else.
//!
//! Tests hold both to the textbook bitwise CRC at every length from 0 to 100.

/// The CRC-32 of `data`.
#[inline]
pub fn crc32(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 16 && clmul::available() {
        // SAFETY: `available` checked that the CPU has every instruction `crc32` uses.
        return unsafe { clmul::crc32(data) };
    }
    crc32_tables(data)
}

/// CRC-32 by table lookups, slicing by 16, then by 4, then bytewise. A record is about 60
/// bytes: three 16-byte steps (each one table lookup deep) and a short tail.
pub fn crc32_tables(data: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut crc = !0u32;
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let w = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        crc = t[15][(w & 0xff) as usize]
            ^ t[14][(w >> 8 & 0xff) as usize]
            ^ t[13][(w >> 16 & 0xff) as usize]
            ^ t[12][(w >> 24) as usize]
            ^ t[11][c[4] as usize]
            ^ t[10][c[5] as usize]
            ^ t[9][c[6] as usize]
            ^ t[8][c[7] as usize]
            ^ t[7][c[8] as usize]
            ^ t[6][c[9] as usize]
            ^ t[5][c[10] as usize]
            ^ t[4][c[11] as usize]
            ^ t[3][c[12] as usize]
            ^ t[2][c[13] as usize]
            ^ t[1][c[14] as usize]
            ^ t[0][c[15] as usize];
    }
    let mut quads = chunks.remainder().chunks_exact(4);
    for c in &mut quads {
        let w = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        crc = t[3][(w & 0xff) as usize]
            ^ t[2][(w >> 8 & 0xff) as usize]
            ^ t[1][(w >> 16 & 0xff) as usize]
            ^ t[0][(w >> 24) as usize];
    }
    for &b in quads.remainder() {
        crc = t[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `t[k][b]`: the CRC of byte `b` followed by `k` zero bytes (the slicing tables).
static CRC_TABLES: [[u32; 256]; 16] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 16] {
    let mut t = [[0u32; 256]; 16];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 16 {
            t[k][i] = (t[k - 1][i] >> 8) ^ t[0][(t[k - 1][i] & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    t
}

/// `PADDED_INIT[k]`: the register value that `k` zero bytes turn into `!0`, the standard
/// initial value; starting there and feeding `k` zero bytes before the data gives the data's
/// CRC. One zero byte maps `c` to `T[c & 0xff] ^ (c >> 8)`; the top bytes of the 256 table
/// entries are all different, so the top byte of the result names the entry, and the step
/// can be undone.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
static PADDED_INIT: [u32; 16] = padded_init();

const fn padded_init() -> [u32; 16] {
    let t = &CRC_TABLES[0];
    let mut by_top = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        by_top[(t[i] >> 24) as usize] = i as u8;
        i += 1;
    }
    let mut init = [!0u32; 16];
    let mut k = 1;
    while k < 16 {
        let next = init[k - 1];
        let i = by_top[(next >> 24) as usize] as u32;
        init[k] = ((next ^ t[i as usize]) << 8) | i;
        k += 1;
    }
    init
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::*;

    use super::PADDED_INIT;

    /// Whether this CPU has PCLMULQDQ and SSSE3: known when they are compile-time target
    /// features (as in this project's `.cargo/config.toml`), which also lets [`crc32`] be
    /// inlined; else asked of the CPU (std caches the answer: a load and a test).
    #[inline(always)]
    pub fn available() -> bool {
        cfg!(all(target_feature = "pclmulqdq", target_feature = "ssse3"))
            || (is_x86_feature_detected!("pclmulqdq") && is_x86_feature_detected!("ssse3"))
    }

    /// Blocks folded at once: each block up to this many before the last is multiplied by its
    /// own power of x, so a record's blocks fold side by side instead of one after another.
    const PARALLEL: usize = 8;
    /// `FOLD[d]`: x^(128d+32) and x^(128d-32) mod P, for the low and high halves of a block
    /// `d` blocks before the last (`FOLD[1]` is Linux's R3/R4).
    static FOLD: [(i64, i64); PARALLEL] = {
        let mut k = [(0, 0); PARALLEL];
        let mut d = 1;
        while d < PARALLEL {
            k[d] = (xpow(128 * d as u32 + 32), xpow(128 * d as u32 - 32));
            d += 1;
        }
        k
    };
    /// x^64 mod P: 64 bits to 32.
    const FOLD_64: i64 = xpow(64);
    /// The polynomial P and the Barrett constant floor(x^64 / P), reflected.
    const POLY: i64 = 0x1_db71_0641;
    const MU: i64 = 0x1_f701_1641;

    /// x^n mod P as PCLMULQDQ's reflected operands want it: the 32 remainder bits reversed,
    /// shifted up one.
    const fn xpow(n: u32) -> i64 {
        let mut r: u64 = 1;
        let mut i = 0;
        while i < n {
            r <<= 1;
            if r >> 32 & 1 != 0 {
                r ^= 0x1_04c1_1db7;
            }
            i += 1;
        }
        ((r as u32).reverse_bits() as i64) << 1
    }

    /// `x` times x^(128d) modulo P, congruent and at most 96 bits wide.
    #[inline(always)]
    unsafe fn fold(x: __m128i, d: usize) -> __m128i {
        let (lo, hi) = FOLD[d];
        let k = _mm_set_epi64x(hi, lo);
        _mm_xor_si128(
            _mm_clmulepi64_si128(x, k, 0x00),
            _mm_clmulepi64_si128(x, k, 0x11),
        )
    }

    #[cfg(test)]
    pub fn published() -> (i64, i64, i64) {
        (FOLD[1].0, FOLD[1].1, FOLD_64)
    }

    /// Shuffle masks: the 16 bytes at `[16 - k..32 - k]` move a block's bytes `k` places up
    /// and zero the first `k` (PSHUFB writes 0 where the mask byte has its top bit set).
    static SHIFT_UP: [u8; 32] = {
        let mut m = [0x80u8; 32];
        let mut i = 0;
        while i < 16 {
            m[16 + i] = i as u8;
            i += 1;
        }
        m
    };

    /// CRC-32 of `data` (at least 16 bytes) by folding.
    ///
    /// # Safety
    ///
    /// The CPU must have PCLMULQDQ and SSSE3 ([`available`]).
    #[target_feature(enable = "pclmulqdq,ssse3")]
    #[inline]
    pub unsafe fn crc32(data: &[u8]) -> u32 {
        debug_assert!(data.len() >= 16);
        let len = data.len();
        // The data, behind `pad` zero bytes, is whole 16-byte blocks; block 0 ends at
        // `16 - pad` and block j >= 1 starts at `16 * j - pad`.
        let pad = (16 - len % 16) % 16;
        let ptr = data.as_ptr();
        // SAFETY (all loads): `len >= 16`, and every block after the first ends at or before
        // `len` (the padded length is a multiple of 16 and at least `len`).
        let first = _mm_loadu_si128(ptr.cast());
        let shift = _mm_loadu_si128(SHIFT_UP.as_ptr().add(16 - pad).cast());
        let mut x = _mm_xor_si128(
            _mm_shuffle_epi8(first, shift),
            _mm_cvtsi32_si128(PADDED_INIT[pad] as i32),
        );
        let mut at = 16 - pad;
        // Long inputs: one block at a time until `PARALLEL - 1` are left after `x`.
        while len - at > 16 * (PARALLEL - 1) {
            x = _mm_xor_si128(fold(x, 1), _mm_loadu_si128(ptr.add(at).cast()));
            at += 16;
        }
        // Then each block times its own power of x, all at once.
        let left = (len - at) / 16;
        let mut acc = if left == 0 { x } else { fold(x, left) };
        for j in 0..left {
            let block = _mm_loadu_si128(ptr.add(at + 16 * j).cast());
            let d = left - 1 - j;
            acc = _mm_xor_si128(acc, if d == 0 { block } else { fold(block, d) });
        }
        // 128 bits to 64: the low half times x^96, onto the high half.
        let k = _mm_set_epi64x(FOLD[1].1, 0);
        let mut x = _mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x10), _mm_srli_si128(acc, 8));
        // 64 to 32.
        let low32 = _mm_set_epi32(0, 0, 0, -1);
        x = _mm_xor_si128(
            _mm_clmulepi64_si128(_mm_and_si128(x, low32), _mm_set_epi64x(0, FOLD_64), 0x00),
            _mm_srli_si128(x, 4),
        );
        // Barrett reduction to the 32-bit remainder.
        let pu = _mm_set_epi64x(MU, POLY);
        let t = _mm_clmulepi64_si128(_mm_and_si128(x, low32), pu, 0x10);
        let t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), pu, 0x00);
        let crc = _mm_srli_si128(_mm_xor_si128(x, t), 4);
        !(_mm_cvtsi128_si32(crc) as u32)
    }
}

/// The textbook bitwise CRC-32, the reference the tests hold every other path to.
#[cfg(test)]
pub(crate) fn crc32_bitwise(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_tables(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn every_path_matches_the_bitwise_reference_at_every_length() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8).collect();
        for start in 0..3 {
            for len in 0..=100 {
                let d = &data[start..start + len];
                let want = crc32_bitwise(d);
                assert_eq!(crc32(d), want, "dispatch, length {len}, offset {start}");
                assert_eq!(
                    crc32_tables(d),
                    want,
                    "tables, length {len}, offset {start}"
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn carry_less_path_matches_the_bitwise_reference() {
        if !clmul::available() {
            eprintln!("no PCLMULQDQ on this CPU: only the table path was checked");
            return;
        }
        let data: Vec<u8> = (0..300u32)
            .map(|i| ((i * 131 + 7) ^ (i >> 3)) as u8)
            .collect();
        for len in 16..=data.len() {
            // SAFETY: `available` was checked above.
            let got = unsafe { clmul::crc32(&data[..len]) };
            assert_eq!(got, crc32_bitwise(&data[..len]), "length {len}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn folding_constants_are_the_published_ones() {
        // Linux's crc32-pclmul R3, R4 and R5 (x^160, x^96, x^64 mod P, reflected).
        assert_eq!(
            clmul::published(),
            (0x1_7519_97d0, 0x0_ccaa_009e, 0x1_63cd_6124)
        );
    }

    #[test]
    fn padded_initial_values_undo_their_zero_bytes() {
        for (k, &init) in PADDED_INIT.iter().enumerate() {
            let mut crc = init;
            for _ in 0..k {
                crc = CRC_TABLES[0][(crc & 0xff) as usize] ^ (crc >> 8);
            }
            assert_eq!(crc, !0, "{k} zero bytes");
        }
    }
}
