//! The record splitter: complete records at the front of a buffer, their fields handed to a
//! [`Fields`] sink as they are found, 64 bytes at a time. Each block gives bitmasks of its `"`,
//! `,` and `\n` bytes and of its bytes above 0x7F (SSE2 on x86_64, a plain loop elsewhere); the
//! prefix XOR of the quote mask marks the bytes inside quotes, so the delimiters outside quotes
//! (field ends) are found without looking at the bytes between them. A value's doubled quotes are
//! left for the sink, which looks for them only in text.
//!
//! UTF-8 is checked in the same pass: a value in blocks without a byte above 0x7F is ASCII; only
//! a value touching a block with one is validated (every byte of a record is in a value or is an
//! ASCII delimiter, so the records handed over are valid UTF-8 exactly when their values are). A
//! character cut at the end of a piece lies in the field the piece ends in, which is not handed
//! over.

use crate::error::{Error, Result};

/// Where the splitter hands each field: [`field`](Self::field) for every field in order (None =
/// NULL, an unquoted empty field; a quoted value without its quotes, doubled quotes still
/// doubled), then [`end`](Self::end) after a record's last field.
pub(crate) trait Fields<'a> {
    /// Field `index` of its record (from 0); `quotes`: whether the value holds a quote (the
    /// splitter counts them from its masks, so text need not be searched for `""`); `tail`: the
    /// 16 bytes of the text that end where the value ends, from which a short number is read in
    /// one load ([`Plain`](crate::decode::shapes::Plain)).
    fn field(&mut self, index: usize, value: Option<&'a str>, quotes: bool, tail: Tail<'a>) -> Result<()>;
    /// The end of a record of `fields` fields; `true` stops the splitter after it.
    fn end(&mut self, fields: usize) -> Result<bool>;
}

/// The 16 bytes of text that end where a value ends, found only when asked for (by the
/// columns of numbers): the text and the value's end, which the splitter holds anyway.
#[derive(Clone, Copy)]
pub(crate) struct Tail<'a> {
    text: &'a [u8],
    end: usize,
}

impl<'a> Tail<'a> {
    /// The 16 bytes; None when the value ends in the text's first 16.
    #[inline(always)]
    pub(crate) fn get(self) -> Option<&'a [u8; 16]> {
        let from = self.end.checked_sub(16)?;
        self.text.get(from..self.end)?.try_into().ok()
    }
}

/// Bit `i` set where byte `i` of a 64-byte block is `"`, `,` or `\n`, or above 0x7F (`high`:
/// not ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    quote: u64,
    comma: u64,
    newline: u64,
    high: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let mut m = Masks { quote: 0, comma: 0, newline: 0, high: 0 };
    // SAFETY: SSE2 is part of the x86_64 baseline; each unaligned load reads 16 bytes that lie
    // inside `block` (offsets 0, 16, 32, 48 of 64).
    unsafe {
        let (q, c, n) = (_mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b',' as i8), _mm_set1_epi8(b'\n' as i8));
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let bits = |x| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
            m.quote |= bits(_mm_cmpeq_epi8(v, q));
            m.comma |= bits(_mm_cmpeq_epi8(v, c));
            m.newline |= bits(_mm_cmpeq_epi8(v, n));
            m.high |= bits(v);
        }
    }
    m
}

#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn masks_plain(block: &[u8; 64]) -> Masks {
    let mut m = Masks { quote: 0, comma: 0, newline: 0, high: 0 };
    for (i, &b) in block.iter().enumerate() {
        m.quote |= u64::from(b == b'"') << i;
        m.comma |= u64::from(b == b',') << i;
        m.newline |= u64::from(b == b'\n') << i;
        m.high |= u64::from(b > 0x7F) << i;
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks(block: &[u8; 64]) -> Masks {
    masks_plain(block)
}

/// Bit `i` of the result is the parity of bits `0..=i` of `x`.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

fn malformed(what: &str, at: usize) -> Error {
    Error::decode(format!("malformed result CSV: {what} at byte {at}"))
}

/// `bytes` (a value starting at byte `at`) as text: `ascii` when none of its bytes is above
/// 0x7F, else validated.
#[inline(always)]
fn text(bytes: &[u8], ascii: bool, at: usize) -> Result<&str> {
    if ascii {
        // SAFETY: bytes up to 0x7F are ASCII, which is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).map_err(|e| Error::decode(format!("result CSV is not UTF-8: {e} (from byte {at})")))
}

/// Splits the complete records at the front of `text` (which starts at a record's start) into
/// `sink`, until the sink stops or no complete record is left; returns the bytes the records
/// handed over take. The fields of a record cut at the end of `text` have been handed to the sink
/// too (without its [`Fields::end`]): the sink drops them. The field `text` ends in (no
/// delimiter after it) is not handed over: a piece may end inside it, or inside a character.
///
/// # Errors
/// [`Error::Decode`] when a quoted value is followed by anything but `,` or `\n`, or a value is
/// not UTF-8; the sink's own.
pub(crate) fn split<'a>(text: &'a [u8], sink: &mut impl Fields<'a>) -> Result<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("bmi1") && has!("bmi2") && has!("lzcnt") && has!("popcnt") {
            // SAFETY: the CPU has the instructions the function is compiled for.
            return unsafe { split_v3(text, sink) };
        }
        if has!("popcnt") {
            // SAFETY: as above.
            return unsafe { split_popcnt(text, sink) };
        }
    }
    split_blocks(text, sink)
}

/// [`split_blocks`] and the conversions inlined in it compiled for x86-64-v3 CPUs (AVX2, BMI1/2:
/// most x86_64 CPUs since 2013-2015).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,popcnt")]
fn split_v3<'a>(text: &'a [u8], sink: &mut impl Fields<'a>) -> Result<usize> {
    split_blocks(text, sink)
}

/// [`split_blocks`] with the quote counts by the `popcnt` instruction (every x86_64 CPU since
/// 2008 has it, but the baseline target does not assume it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn split_popcnt<'a>(text: &'a [u8], sink: &mut impl Fields<'a>) -> Result<usize> {
    split_blocks(text, sink)
}

#[inline(always)]
fn split_blocks<'a>(buf: &'a [u8], sink: &mut impl Fields<'a>) -> Result<usize> {
    let mut pos = 0; // the end of the last complete record
    let mut field_start = 0;
    // Quotes before the block, and before the field being split.
    let (mut quotes_before, mut field_quotes) = (0u64, 0u64);
    // The field of the current record that comes next (kept here, in a register).
    let mut index = 0;
    let mut inside = 0u64; // all ones when the previous block ended inside quotes
    // The end of the last block with a byte above 0x7F (0: none yet).
    let mut high_end = 0;
    let mut base = 0;
    let mut padded;
    while base < buf.len() {
        let block: &[u8; 64] = match buf.get(base..base + 64) {
            Some(b) => b.try_into().expect("64 bytes"),
            None => {
                let rest = &buf[base..];
                padded = [0u8; 64];
                padded[..rest.len()].copy_from_slice(rest);
                &padded
            }
        };
        let m = masks(block);
        if m.high != 0 {
            // Every field with a byte in this block is validated.
            high_end = base + 64;
        }
        let quoted = prefix_xor(m.quote) ^ inside;
        let mut ends = (m.comma | m.newline) & !quoted;
        while ends != 0 {
            let bit = ends.trailing_zeros();
            ends &= ends - 1;
            let at = base + bit as usize;
            let quotes = quotes_before + u64::from((m.quote & ((1u64 << bit) - 1)).count_ones());
            let ascii = high_end <= field_start;
            // SAFETY (the reads and slices below): a delimiter found is a byte of `buf` (the
            // padding of a last short block holds none), so field_start < at < buf.len() when
            // the field is not empty; for a quoted value at - field_start >= 2 (checked).
            let (value, held, end) = if at == field_start {
                (None, false, at)
            } else if unsafe { *buf.get_unchecked(field_start) } == b'"' {
                let last = unsafe { *buf.get_unchecked(at - 1) };
                if last != b'"' || at - field_start < 2 {
                    return Err(malformed(&format!("{:?} after a quoted value", last as char), at - 1));
                }
                let bytes = unsafe { buf.get_unchecked(field_start + 1..at - 1) };
                (Some(text(bytes, ascii, field_start + 1)?), quotes - field_quotes > 2, at - 1)
            } else {
                (Some(text(unsafe { buf.get_unchecked(field_start..at) }, ascii, field_start)?), quotes != field_quotes, at)
            };
            sink.field(index, value, held, Tail { text: buf, end })?;
            index += 1;
            field_start = at + 1;
            field_quotes = quotes;
            if m.newline & (1u64 << bit) != 0 {
                pos = at + 1;
                if sink.end(index)? {
                    return Ok(pos);
                }
                index = 0;
            }
        }
        inside = 0u64.wrapping_sub(quoted >> 63);
        quotes_before += u64::from(m.quote.count_ones());
        base += 64;
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn sse2_and_plain_masks_agree(bytes in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b','), Just(b'\n'), any::<u8>()], 64)) {
            let block: [u8; 64] = bytes.try_into().unwrap();
            prop_assert_eq!(masks(&block), masks_plain(&block));
        }
    }

    #[test]
    fn prefix_xor_marks_the_bytes_inside_quotes() {
        // `"a,b",c` -> bits of the quote mask at 0 and 4; inside: 0..4.
        assert_eq!(prefix_xor(0b1_0001), 0b0_1111);
    }
}
