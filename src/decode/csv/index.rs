//! The record splitter: complete records at the front of a buffer indexed as field positions,
//! 64 bytes at a time. Each block gives bitmasks of its `"`, `,` and `\n` bytes (SSE2 on x86_64,
//! a plain loop elsewhere); the prefix XOR of the quote mask marks the bytes inside quotes, so the
//! delimiters outside quotes (field ends) are found without looking at the bytes between them.
//! A value's doubled quotes are left for the converter, which looks for them only in text.

use crate::error::{Error, Result};

/// Where one field's value lies in the indexed bytes (the quotes around it excluded).
#[derive(Clone, Copy, Debug)]
pub(super) struct Field {
    start: usize,
    end: usize,
}

/// `start` of a NULL field (an unquoted empty one).
const NULL: usize = usize::MAX;

impl Field {
    /// The value in `text` as written (None = NULL; doubled quotes still doubled).
    #[inline]
    pub(super) fn value(self, text: &str) -> Option<&str> {
        if self.start == NULL {
            return None;
        }
        Some(&text[self.start..self.end])
    }
}

/// The fields of complete records, indexed once and read column by column.
#[derive(Debug, Default)]
pub(super) struct Index {
    pub(super) fields: Vec<Field>,
    /// For each record, the number of fields indexed up to its end.
    pub(super) ends: Vec<usize>,
}

/// Bit `i` set where byte `i` of a 64-byte block is `"`, `,` or `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    quote: u64,
    comma: u64,
    newline: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let mut m = Masks { quote: 0, comma: 0, newline: 0 };
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
        }
    }
    m
}

#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn masks_plain(block: &[u8; 64]) -> Masks {
    let mut m = Masks { quote: 0, comma: 0, newline: 0 };
    for (i, &b) in block.iter().enumerate() {
        m.quote |= u64::from(b == b'"') << i;
        m.comma |= u64::from(b == b',') << i;
        m.newline |= u64::from(b == b'\n') << i;
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

impl Index {
    /// Indexes up to `max` complete records at the front of `buf` (replacing what was held),
    /// returning the bytes they take. `buf` starts at a record's start; a record cut at its end
    /// is left out.
    ///
    /// # Errors
    /// [`Error::Decode`] when a quoted value is followed by anything but `,` or `\n`.
    pub(super) fn records(&mut self, buf: &[u8], max: usize) -> Result<usize> {
        self.fields.clear();
        self.ends.clear();
        if max == 0 {
            return Ok(0);
        }
        let mut pos = 0; // the end of the last complete record
        let mut field_start = 0;
        let mut inside = 0u64; // all ones when the previous block ended inside quotes
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
            let quoted = prefix_xor(m.quote) ^ inside;
            let mut ends = (m.comma | m.newline) & !quoted;
            while ends != 0 {
                let bit = ends.trailing_zeros();
                ends &= ends - 1;
                let at = base + bit as usize;
                self.fields.push(if at == field_start {
                    Field { start: NULL, end: 0 }
                } else if buf[field_start] == b'"' {
                    if buf[at - 1] != b'"' || at - field_start < 2 {
                        return Err(malformed(&format!("{:?} after a quoted value", buf[at - 1] as char), at - 1));
                    }
                    Field { start: field_start + 1, end: at - 1 }
                } else {
                    Field { start: field_start, end: at }
                });
                field_start = at + 1;
                if m.newline & (1u64 << bit) != 0 {
                    self.ends.push(self.fields.len());
                    pos = at + 1;
                    if self.ends.len() == max {
                        return Ok(pos);
                    }
                }
            }
            inside = 0u64.wrapping_sub(quoted >> 63);
            base += 64;
        }
        self.fields.truncate(self.ends.last().copied().unwrap_or(0));
        Ok(pos)
    }

    /// The fields of record `r`.
    pub(super) fn record(&self, r: usize) -> &[Field] {
        let from = if r == 0 { 0 } else { self.ends[r - 1] };
        &self.fields[from..self.ends[r]]
    }
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
