//! The common shapes of values in Athena's text (integers of up to 18 digits, plain decimals and
//! doubles, booleans), parsed without building an error: None for any other text, which the full
//! parsers of [`crate::decode::parse`] then read or refuse with their message. The CSV decoder's
//! typed columns call these first (`src/decode/csv/columns.rs`).

/// The common shape of an integer, up to 18 digits without a sign (which cannot overflow an
/// i64); anything else is None (for [`parse_int`](crate::decode::parse::parse_int) to read or refuse). Eight digits at a time
/// by SWAR arithmetic on one word: a digit-by-digit loop waits a multiply and an add per digit.
#[inline(always)]
pub(crate) fn int_fast(b: &[u8]) -> Option<i64> {
    match b.len() {
        1..=3 => digits_loop(b),
        4..=8 => eight_digits(b).map(i64::from),
        9..=16 => Some(i64::from(eight_digits(&b[..b.len() - 8])?) * 100_000_000 + i64::from(eight_digits(&b[b.len() - 8..])?)),
        17..=18 => Some(digits_loop(&b[..b.len() - 8])? * 100_000_000 + i64::from(eight_digits(&b[b.len() - 8..])?)),
        _ => None,
    }
}

/// Up to 18 digits, one at a time (short numbers).
#[inline(always)]
fn digits_loop(b: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    let mut bad = false;
    for &d in b {
        let d = d.wrapping_sub(b'0');
        bad |= d > 9;
        // Wraps only on a byte that is not a digit, when the value is thrown away.
        v = v.wrapping_mul(10).wrapping_add(i64::from(d));
    }
    (!bad).then_some(v)
}

/// 1 to 8 ASCII digits as their value, without a loop: the digits are placed at the end of a
/// word of `'0'`s (two 4-byte loads when there are 4 or more, which may overlap), checked at
/// once, and combined in three multiply-shift steps (D. Lemire's eight-digit parse).
#[inline(always)]
fn eight_digits(b: &[u8]) -> Option<u32> {
    let n = b.len();
    if !(4..=8).contains(&n) {
        return u32::try_from(digits_loop(b)?).ok();
    }
    let head = u64::from(u32::from_le_bytes(b[..4].try_into().ok()?));
    let tail = u64::from(u32::from_le_bytes(b[n - 4..].try_into().ok()?));
    // Bytes 8 - n .. 8 of the word hold the digits (little-endian: the first digit lowest).
    let pad = 8 * (8 - n) as u32;
    let zeros = 0x3030_3030_3030_3030u64 & ((1u64 << pad) - 1);
    let word = zeros | (head << pad) | (tail << 32);
    // Every byte in '0'..='9': its high nibble is 3, and still 3 after adding 6.
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    if word & HIGH != 0x3030_3030_3030_3030 || word.wrapping_add(0x0606_0606_0606_0606) & HIGH != 0x3030_3030_3030_3030 {
        return None;
    }
    let mut v = word - 0x3030_3030_3030_3030;
    v = v.wrapping_mul(10).wrapping_add(v >> 8) & 0x00FF_00FF_00FF_00FF;
    v = v.wrapping_mul(100).wrapping_add(v >> 16) & 0x0000_FFFF_0000_FFFF;
    v = v.wrapping_mul(10_000).wrapping_add(v >> 32);
    Some(v as u32)
}

/// The common shape of a decimal: an optional `-`, digits, an optional point and at most
/// `scale` fraction digits, 18 digits in all once scaled; anything else is None (for
/// [`parse_decimal`](crate::decode::parse::parse_decimal) to read or refuse). Both parts by [`int_fast`].
#[inline(always)]
pub(crate) fn decimal_fast(b: &[u8], scale: u8) -> Option<i128> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let scale = usize::from(scale);
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &[][..]),
    };
    if frac.len() > scale || int.len() + scale > 18 {
        return None;
    }
    let int_value = if int.is_empty() { 0 } else { int_fast(int)? };
    let frac_value = if frac.is_empty() { 0 } else { int_fast(frac)? };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let v = i128::from(int_value * POW10[scale] + frac_value * POW10[scale - frac.len()]);
    Some(if neg { -v } else { v })
}

/// 10^0 ..= 10^18.
const POW10: [i64; 19] = {
    let mut p = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// The common shape of a double as Java prints it without an exponent (`-12.5`, `3.0`): at
/// most 15 digits and 22 after the point, where the digits as an integer and the power of ten
/// are both exact doubles, so that one division is correctly rounded (Clinger's fast path);
/// anything else is None (for [`parse_fast_float`](crate::decode::parse::parse_fast_float)).
#[inline(always)]
pub(crate) fn double_fast(b: &[u8]) -> Option<f64> {
    const POW10_F64: [f64; 23] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let dot = digits.iter().position(|&c| c == b'.')?;
    let (int, frac) = (&digits[..dot], &digits[dot + 1..]);
    if int.is_empty() || frac.is_empty() || int.len() + frac.len() > 15 {
        return None;
    }
    let m = int_fast(int)? * POW10[frac.len()] + int_fast(frac)?;
    let v = m as f64 / POW10_F64[frac.len()];
    Some(if neg { -v } else { v })
}

/// A plain number's parts, read from the 16 bytes of text that end where it ends (`tail`,
/// `len` of them the value's): an optional `-`, digits and at most one `.`, 16 bytes at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plain {
    neg: bool,
    /// The digits as one integer (the point left out): below 10^16.
    digits: u64,
    int_len: usize,
    /// Digits after the point; None without a point.
    frac_len: Option<usize>,
}

impl Plain {
    /// A plain number's parts, or None for any other text (or more than 16 bytes). By SSSE3 where
    /// the CPU has it (one load, a shuffle that drops the point, two multiply-adds: no branch on
    /// the digits' count or the point's place, which vary value by value), else None for the
    /// caller's parser. On the csv_decode bench's doubles 4.6 against 7.6 ns a value for the
    /// digit loops of [`double_fast`] (a loop of calls, 2026-12-07); mispredicted branches in
    /// those loops are our reading of why (this machine has no branch counters).
    #[inline(always)]
    pub(crate) fn read(tail: &[u8; 16], len: usize) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("ssse3") {
            // SAFETY: the CPU has SSSE3.
            return unsafe { plain_ssse3(tail, len) };
        }
        let _ = (tail, len);
        None
    }

    /// As a double: the common shape Java prints ([`double_fast`]'s), else None.
    #[inline(always)]
    pub(crate) fn double(self) -> Option<f64> {
        const POW10_F64: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
        let frac = self.frac_len?;
        if self.int_len == 0 || frac == 0 || self.int_len + frac > 15 {
            return None;
        }
        let v = self.digits as f64 / POW10_F64[frac];
        Some(if self.neg { -v } else { v })
    }

    /// As a decimal of `scale`: [`decimal_fast`]'s shape, else None.
    #[inline(always)]
    pub(crate) fn decimal(self, scale: u8) -> Option<i128> {
        let scale = usize::from(scale);
        let frac = self.frac_len.unwrap_or(0);
        if frac > scale || self.int_len + scale > 18 || (self.int_len == 0 && frac == 0) {
            return None;
        }
        // Below 10^18: int_len + scale <= 18 digits.
        let v = i128::from(self.digits as i64 * POW10[scale - frac]);
        Some(if self.neg { -v } else { v })
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "ssse3")]
fn plain_ssse3(tail: &[u8; 16], len: usize) -> Option<Plain> {
    use std::arch::x86_64::{
        __m128i, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_madd_epi16, _mm_maddubs_epi16,
        _mm_max_epu8, _mm_movemask_epi8, _mm_packs_epi32, _mm_set1_epi8, _mm_setr_epi8, _mm_setr_epi16, _mm_shuffle_epi8, _mm_srli_si128,
        _mm_sub_epi8,
    };
    /// Row d < 16: the shuffle that drops a point at byte d (the bytes before it move up one, a
    /// zero comes in at byte 0); row 16: none (no point).
    static DROP_POINT: [[u8; 16]; 17] = {
        let mut t = [[0u8; 16]; 17];
        let mut d = 0;
        while d < 17 {
            let mut k = 0;
            while k < 16 {
                t[d][k] = if d == 16 {
                    k as u8
                } else if k == 0 {
                    0x80
                } else if k <= d {
                    (k - 1) as u8
                } else {
                    k as u8
                };
                k += 1;
            }
            d += 1;
        }
        t
    };
    static BYTE_INDEX: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    if !(1..=16).contains(&len) {
        return None;
    }
    let start = 16 - len;
    let neg = tail[start] == b'-';
    let first = start + usize::from(neg);
    // SAFETY: the loads read 16 bytes of `tail`, `DROP_POINT[row]` and `BYTE_INDEX`; the rest
    // works on registers.
    unsafe {
        let bytes = _mm_loadu_si128(tail.as_ptr().cast::<__m128i>());
        // Bytes before the first digit (not the value's, or its sign) become digit 0.
        let before = _mm_cmpgt_epi8(_mm_set1_epi8(first as i8), _mm_loadu_si128(BYTE_INDEX.as_ptr().cast::<__m128i>()));
        let digits = _mm_andnot_si128(before, _mm_sub_epi8(bytes, _mm_set1_epi8(b'0' as i8)));
        let points = (_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'.' as i8))) as u32) >> first << first;
        let row = if points == 0 { 16 } else { points.trailing_zeros() as usize };
        let digits = _mm_shuffle_epi8(digits, _mm_loadu_si128(DROP_POINT[row].as_ptr().cast::<__m128i>()));
        // Every byte 0..=9 now (a second point, a sign inside, any other byte: above 9).
        if _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(digits, _mm_set1_epi8(9)), _mm_set1_epi8(9))) != 0xFFFF {
            return None;
        }
        // Pairs, fours, eights of digits (each step's sums fit its lanes: 99, 9999, and 9999 in
        // a signed 16-bit lane for the pack).
        let pairs = _mm_maddubs_epi16(digits, _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1));
        let fours = _mm_madd_epi16(pairs, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
        let eights = _mm_madd_epi16(_mm_packs_epi32(fours, fours), _mm_setr_epi16(10_000, 1, 10_000, 1, 10_000, 1, 10_000, 1));
        let high = _mm_cvtsi128_si32(eights) as u32;
        let low = _mm_cvtsi128_si32(_mm_srli_si128::<4>(eights)) as u32;
        let digits = u64::from(high) * 100_000_000 + u64::from(low);
        Some(if row == 16 {
            Plain { neg, digits, int_len: 16 - first, frac_len: None }
        } else {
            Plain { neg, digits, int_len: row - first, frac_len: Some(15 - row) }
        })
    }
}

/// `true` or `false`.
#[inline(always)]
pub(crate) fn bool_fast(b: &[u8]) -> Option<bool> {
    match b {
        [b't', b'r', b'u', b'e'] => Some(true),
        [b'f', b'a', b'l', b's', b'e'] => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ssse3() -> bool {
        #[cfg(target_arch = "x86_64")]
        return std::arch::is_x86_feature_detected!("ssse3");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    proptest! {
        /// Digits and the bytes next to them ('/' and ':'), 1 to 18: eight at a time gives
        /// what one at a time gives.
        #[test]
        fn eight_at_a_time_agrees_with_one_at_a_time(text in prop_oneof!["[0-9]{1,18}", "[0-9]{0,9}[/:][0-9]{0,9}"]) {
            prop_assert_eq!(int_fast(text.as_bytes()), digits_loop(text.as_bytes()));
        }

        /// Doubles as Java prints them without an exponent, and text around them: the fast
        /// path gives std's correctly rounded value where it takes the text at all.
        #[test]
        fn doubles_of_the_fast_shape_agree_with_std(
            text in prop_oneof!["-?[0-9]{1,9}\\.[0-9]{1,9}", "-?[0-9]{1,3}\\.[0-9]{10,22}", "[-0-9.+eE]{0,12}"],
            bits in any::<u64>(),
        ) {
            for text in [text, format!("{:?}", f64::from_bits(bits))] {
                if let Some(v) = double_fast(text.as_bytes()) {
                    prop_assert_eq!(Some(v.to_bits()), text.parse::<f64>().ok().map(f64::to_bits), "{:?}", text);
                }
            }
        }
        /// The 16-byte reading of plain numbers gives what the slice parsers give, whatever
        /// bytes come before the value in its 16.
        #[test]
        fn plain_numbers_from_sixteen_bytes_agree_with_the_slice_parsers(
            text in prop_oneof!["-?[0-9]{0,9}\\.?[0-9]{0,9}", "-?[0-9]{1,3}\\.[0-9]{10,13}", "[-0-9.+eE]{0,17}", "-?[0-9]{14,17}"],
            before in proptest::collection::vec(any::<u8>(), 16),
            scale in 0u8..=18,
            bits in any::<u64>(),
        ) {
            for text in [text, format!("{:?}", f64::from_bits(bits))] {
                let b = text.as_bytes();
                if b.is_empty() || b.len() > 16 {
                    continue;
                }
                let mut tail = [0u8; 16];
                tail[..16 - b.len()].copy_from_slice(&before[..16 - b.len()]);
                tail[16 - b.len()..].copy_from_slice(b);
                let plain = Plain::read(&tail, b.len());
                if ssse3() {
                    prop_assert_eq!(plain.and_then(Plain::double).map(f64::to_bits), double_fast(b).map(f64::to_bits), "{:?}", text);
                    prop_assert_eq!(plain.and_then(|p| p.decimal(scale)), decimal_fast(b, scale), "{:?} scale {}", text, scale);
                }
                if let Some(v) = plain.and_then(Plain::double) {
                    prop_assert_eq!(Some(v.to_bits()), text.parse::<f64>().ok().map(f64::to_bits), "{:?}", text);
                }
            }
        }
    }

    #[test]
    fn booleans_fast_shape() {
        for (text, want) in [("true", Some(true)), ("false", Some(false)), ("True", None), ("fals", None), ("falsee", None), ("", None)] {
            assert_eq!(bool_fast(text.as_bytes()), want, "{text:?}");
            assert_eq!(crate::decode::parse::parse_bool(text).ok(), want, "{text:?}");
        }
    }
}
