//! Scalar text parsers shared by the text converter and the nested-value reader: Athena's
//! text of numbers, decimals, binary, dates, times and timestamps, and the splitting of
//! bracketed type names and values. Pure functions of their input.

use arrow::datatypes::TimeUnit;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};

/// Why a value's text does not convert into its column's type: the decoders' own error, typed
/// as arrow-cast's parsers type theirs (a column's [`crate::Error::Decode`] carries its message,
/// with the column and row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The text is not of the type (`"x" is not a date`).
    #[error("{text:?} is not {expected}")]
    NotA { text: String, expected: String },
    /// An instant with a finer fraction of a second than the column's unit holds.
    #[error("the value has a finer fraction of a second than the column's unit ({0:?}) holds; set with_timestamp_unit to a finer unit")]
    FinerThanUnit(TimeUnit),
    /// An instant outside the range of the column's unit.
    #[error("the value is outside the range of {0:?} timestamps (1677-2262 for nanoseconds); set with_timestamp_unit to a coarser unit")]
    OutOfRange(TimeUnit),
    /// Text that breaks its type's grammar (nested values, quotes, escapes, time zones).
    #[error("{0}")]
    Malformed(String),
}

impl ValueError {
    /// `text` is not `expected` (`a date`, `an integer of this width`, ...).
    pub(crate) fn not_a(text: &str, expected: impl Into<String>) -> Self {
        ValueError::NotA { text: text.to_owned(), expected: expected.into() }
    }
}

impl From<String> for ValueError {
    fn from(message: String) -> Self {
        ValueError::Malformed(message)
    }
}

impl From<&str> for ValueError {
    fn from(message: &str) -> Self {
        ValueError::Malformed(message.to_owned())
    }
}

/// [`ValueError::Malformed`] with a `format!` message.
macro_rules! malformed {
    ($($t:tt)*) => {
        $crate::decode::parse::ValueError::Malformed(format!($($t)*))
    };
}
pub(crate) use malformed;
/// Java's float text (`NaN`, `Infinity`, `1.0E20`) parses with Rust's own float grammar.
pub(crate) fn parse_float<T: std::str::FromStr>(s: &str) -> Result<T, ValueError> {
    s.parse().map_err(|_| ValueError::not_a(s, "a number"))
}

/// As [`parse_float`], by lexical-core's parser (the same values, several times faster); text
/// it does not take (such as `Infinity`, which it spells `inf`) goes to [`parse_float`].
#[inline]
pub(crate) fn parse_fast_float<T: lexical_core::FromLexical + std::str::FromStr>(s: &str) -> Result<T, ValueError> {
    match lexical_core::parse::<T>(s.as_bytes()) {
        Ok(v) => Ok(v),
        Err(_) => parse_float(s),
    }
}

#[inline]
pub(crate) fn parse_bool(s: &str) -> Result<bool, ValueError> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(malformed!("{s:?} is not a boolean")),
    }
}

/// A timestamp without zone as a count of `unit` (Athena's layout by position, others by chrono).
#[inline]
pub(crate) fn naive_timestamp_in(s: &str, unit: TimeUnit) -> Result<i64, ValueError> {
    match fast_timestamp_parts(s.as_bytes()) {
        Some((secs, nanos)) => instant_in(secs, nanos, unit),
        None => timestamp_in(parse_timestamp(s)?, unit),
    }
}

/// Athena's layout of a timestamp without zone, as a count of `unit` when it is exactly one;
/// anything else is None (for [`naive_timestamp_in`] to read or refuse).
#[inline(always)]
pub(crate) fn timestamp_fast(b: &[u8], unit: TimeUnit) -> Option<i64> {
    let (secs, nanos) = fast_timestamp_parts(b)?;
    instant_in(secs, nanos, unit).ok()
}

/// Decimal digits with an optional sign, in the integer type `T`: one pass over the bytes (the
/// generic `str::parse` costs several times more on the short numbers results hold).
#[inline]
pub(crate) fn parse_int<T: TryFrom<i64>>(s: &str) -> Result<T, ValueError> {
    match crate::decode::shapes::int_fast(s.as_bytes()) {
        Some(v) => T::try_from(v).map_err(|_| ValueError::not_a(s, "an integer of this width")),
        None => parse_signed_int(s),
    }
}

/// [`parse_int`] of a sign, leading zeros or 19 digits.
#[cold]
fn parse_signed_int<T: TryFrom<i64>>(s: &str) -> Result<T, ValueError> {
    let err = || ValueError::not_a(s, "an integer of this width");
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let zeros = digits.iter().take_while(|&&d| d == b'0').count().min(digits.len().saturating_sub(1));
    let digits = &digits[zeros..];
    if digits.is_empty() || digits.len() > 19 {
        return Err(err());
    }
    // Up to 18 digits cannot overflow an i64; a 19th is checked.
    let mut v: i64 = 0;
    for (k, &d) in digits.iter().enumerate() {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return Err(err());
        }
        v = if k < 18 { v * 10 - i64::from(d) } else { v.checked_mul(10).and_then(|v| v.checked_sub(i64::from(d))).ok_or_else(err)? };
    }
    // Accumulated negative, so that i64::MIN parses too.
    let v = if neg { v } else { v.checked_neg().ok_or_else(err)? };
    T::try_from(v).map_err(|_| err())
}

/// Decimal text with at most `scale` fraction digits -> the unscaled integer.
#[inline]
pub(crate) fn parse_decimal(s: &str, scale: u8) -> Result<i128, ValueError> {
    let err = || ValueError::not_a(s, format!("a decimal of scale {scale}"));
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    // Decimal text is short: a loop finds its point sooner than memchr's set-up.
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    if (int.is_empty() && frac.is_empty()) || frac.len() > scale as usize {
        return Err(err());
    }
    let v: i128 = if int.len() + scale as usize <= 18 {
        // The common case: the unscaled value fits an u64 with room to spare.
        let mut v: u64 = 0;
        for &d in int.iter().chain(frac) {
            let d = d.wrapping_sub(b'0');
            if d > 9 {
                return Err(err());
            }
            v = v * 10 + u64::from(d);
        }
        (v * 10u64.pow(u32::from(scale) - frac.len() as u32)) as i128
    } else {
        let mut v: i128 = 0;
        for &d in int.iter().chain(frac) {
            let d = d.wrapping_sub(b'0');
            if d > 9 {
                return Err(err());
            }
            v = v.checked_mul(10).and_then(|v| v.checked_add(i128::from(d))).ok_or_else(err)?;
        }
        for _ in frac.len()..scale as usize {
            v = v.checked_mul(10).ok_or_else(err)?;
        }
        v
    };
    Ok(if neg { -v } else { v })
}

/// Athena's varbinary text: lowercase hex bytes separated by spaces (`31 32 33`).
pub(crate) fn parse_spaced_hex(s: &str) -> Result<Vec<u8>, ValueError> {
    s.split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| if p.len() == 2 { u8::from_str_radix(p, 16).ok() } else { None }.ok_or_else(|| ValueError::not_a(s, "spaced hex")))
        .collect()
}

#[inline]
pub(crate) fn parse_date(s: &str) -> Result<i32, ValueError> {
    if let Some(days) = fast_date(s.as_bytes()) {
        return Ok(days);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ValueError::not_a(s, "a date"))?;
    Ok((d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32)
}

pub(crate) fn parse_timestamp(s: &str) -> Result<NaiveDateTime, ValueError> {
    if let Some(t) = fast_timestamp(s.as_bytes()) {
        return Ok(t);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| ValueError::not_a(s, "a timestamp"))
}

/// `n` ASCII digits as a number.
#[inline]
fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &d in b {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    Some(v)
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d`, `y` in 0..=9999 (H. Hinnant's
/// days_from_civil in unsigned arithmetic: the year is shifted by 400 so that no division
/// rounds towards zero, and divisions by constants become multiplications).
#[inline(always)]
const fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    let y = y + 400 - (m <= 2) as u32;
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era as i64 * 146_097 + doe as i64 - 719_468 - 146_097
}

const fn is_leap(y: u32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days in each month of a common year, and days before it; 16 entries, so that any month
/// indexes them after a mask (no bounds check).
const DAYS_IN: [u8; 16] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0, 0, 0];
const DAYS_BEFORE: [u16; 16] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 0, 0, 0];

/// The first year of [`YEARS`].
const FIRST_YEAR: u32 = 1900;

/// For the 256 years from 1900 (where nearly every date of a result lies): the days from
/// 1970-01-01 to the year's 1 January, times two, plus one in a leap year: one load instead of
/// the era arithmetic and the leap rule's three divisions.
const YEARS: [i32; 256] = {
    let mut t = [0i32; 256];
    let mut k = 0;
    while k < 256 {
        let y = FIRST_YEAR + k as u32;
        t[k] = days_from_civil(y, 1, 1) as i32 * 2 + is_leap(y) as i32;
        k += 1;
    }
    t
};

/// Days since 1970-01-01 of `y-m-d` (`y` in 0..=9999), or None when it is no date (month 1 to
/// 12, day 1 to the month's length). Without a branch on the month (which varies row by row): a
/// table of month lengths and the leap day (against a `match` on the month, the csv_decode date
/// column read at 791-811 instead of 630-702 MB/s, alternating runs, 2026-12-07).
#[inline(always)]
fn date_days(y: u32, m: u32, d: u32) -> Option<i32> {
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let (start, leap) = match YEARS.get(y.wrapping_sub(FIRST_YEAR) as usize) {
        Some(&e) => (e >> 1, e & 1 == 1),
        None => (days_from_civil(y, 1, 1) as i32, is_leap(y)),
    };
    let month = (m & 15) as usize;
    if d > u32::from(DAYS_IN[month]) + u32::from((m == 2) & leap) {
        return None;
    }
    Some(start + i32::from(DAYS_BEFORE[month]) + i32::from((m > 2) & leap) + d as i32 - 1)
}

/// `'0'` in every byte of a word.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Whether each byte of `x` is an ASCII digit: its high nibble is 3, and still 3 after adding 6.
#[inline(always)]
fn all_digits(x: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    x & HIGH == ZEROS && x.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS
}

/// The two-digit numbers of a word of eight ASCII digits (the first byte lowest): 16-bit lane
/// `k` holds `10 x byte 2k + byte 2k+1`, each byte's digit multiplied by ten and the next one
/// added in one multiply-add over the word.
#[inline(always)]
fn digit_pairs(x: u64) -> u64 {
    let d = x - ZEROS;
    d.wrapping_mul(10).wrapping_add(d >> 8) & 0x00FF_00FF_00FF_00FF
}

/// The common shape `YYYY-MM-DD` without chrono's format interpreter; anything else (other
/// year widths, invalid dates) is left to chrono, which reports it. The eight digits are read
/// as one word (the separators checked by a mask, the month and day moved next to the year):
/// no branch and no load per digit.
#[inline(always)]
pub(crate) fn fast_date(b: &[u8]) -> Option<i32> {
    let b: &[u8; 10] = b.try_into().ok()?;
    let (head, day) = b.split_first_chunk::<8>()?;
    let w = u64::from_le_bytes(*head);
    // `-` at bytes 4 and 7.
    if w & 0xFF00_00FF_0000_0000 != 0x2D00_002D_0000_0000 {
        return None;
    }
    // Y Y Y Y M M D D.
    let x = (w & 0xFFFF_FFFF) | ((w >> 8) & 0xFFFF_0000_0000) | (u64::from(u16::from_le_bytes([day[0], day[1]])) << 48);
    if !all_digits(x) {
        return None;
    }
    let p = digit_pairs(x);
    let lane = |k: u32| ((p >> (16 * k)) & 0xFF) as u32;
    date_days(lane(0) * 100 + lane(1), lane(2), lane(3))
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits, as Athena writes
/// timestamps; other shapes go to chrono.
fn fast_timestamp(b: &[u8]) -> Option<NaiveDateTime> {
    let (secs, nanos) = fast_timestamp_parts(b)?;
    DateTime::from_timestamp(secs, nanos).map(|t| t.naive_utc())
}

/// As [`fast_timestamp`], as (seconds since the epoch, nanoseconds).
#[inline(always)]
pub(crate) fn fast_timestamp_parts(b: &[u8]) -> Option<(i64, u32)> {
    if b.len() < 19 || b[10] != b' ' {
        return None;
    }
    let days = fast_date(&b[..10])?;
    let (clock, nanos) = fast_clock(&b[11..])?;
    Some((i64::from(days) * 86_400 + i64::from(clock), nanos))
}

/// Nanoseconds of the last digit of a fraction of 1 to 9 digits.
const NANOS_PER_DIGIT: [u32; 9] = [100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/// `HH:MM:SS` with an optional fraction of 1 to 9 digits -> (seconds since midnight, nanos).
/// The six digits read as one word, as [`fast_date`] reads its eight.
#[inline(always)]
fn fast_clock(b: &[u8]) -> Option<(u32, u32)> {
    let (clock, rest) = b.split_first_chunk::<8>()?;
    let w = u64::from_le_bytes(*clock);
    // `:` at bytes 2 and 5.
    if w & 0x0000_FF00_00FF_0000 != 0x0000_3A00_003A_0000 {
        return None;
    }
    // H H M M S S 0 0.
    let x = (w & 0xFFFF) | ((w >> 8) & 0xFFFF_0000) | ((w >> 16) & 0xFFFF_0000_0000) | 0x3030_0000_0000_0000;
    if !all_digits(x) {
        return None;
    }
    let p = digit_pairs(x);
    let lane = |k: u32| ((p >> (16 * k)) & 0xFF) as u32;
    let (h, mi, sec) = (lane(0), lane(1), lane(2));
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let nanos = match rest {
        [] => 0,
        // (A table for the scale: `pow` with a variable exponent is a loop.)
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => digits(frac)? * NANOS_PER_DIGIT[frac.len() - 1],
        _ => return None,
    };
    Some((h * 3600 + mi * 60 + sec, nanos))
}

/// `2017-01-01 00:00:00.000 UTC` or `... +09:00` or `... Asia/Tokyo` -> the UTC instant.
pub(crate) fn parse_timestamp_tz(s: &str) -> Result<NaiveDateTime, ValueError> {
    let (local, zone) = s.rsplit_once(' ').ok_or_else(|| ValueError::Malformed(format!("{s:?} has no time zone")))?;
    let local = parse_timestamp(local)?;
    let utc: DateTime<Utc> = if let Ok(tz) = zone.parse::<chrono_tz::Tz>() {
        tz.from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| ValueError::Malformed(format!("{s:?} does not exist in {zone}")))?
            .with_timezone(&Utc)
    } else {
        let offset = chrono::FixedOffset::east_opt(
            parse_offset(zone).ok_or_else(|| ValueError::Malformed(format!("unknown time zone {zone:?} in {s:?}")))?,
        )
        .ok_or_else(|| ValueError::Malformed(format!("offset out of range in {s:?}")))?;
        offset.from_local_datetime(&local).single().ok_or_else(|| ValueError::Malformed(format!("{s:?} is ambiguous")))?.with_timezone(&Utc)
    };
    Ok(utc.naive_utc())
}

/// `+09:00`, `-05:30` -> seconds east of UTC.
fn parse_offset(z: &str) -> Option<i32> {
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
    Some(sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60))
}

pub(crate) fn parse_time(s: &str) -> Result<NaiveTime, ValueError> {
    if let Some((secs, nanos)) = fast_clock(s.as_bytes()) {
        return NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).ok_or_else(|| ValueError::not_a(s, "a time"));
    }
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f").map_err(|_| ValueError::not_a(s, "a time"))
}

/// The instant `secs` + `nanos` after the epoch (or after midnight) as a count of `unit`:
/// exact, or an error saying why it cannot be (a fraction finer than the unit, or outside the
/// unit's range), never rounded or truncated.
#[inline(always)]
pub(crate) fn instant_in(secs: i64, nanos: u32, unit: TimeUnit) -> Result<i64, ValueError> {
    // One arm per unit: its divisor a constant (a multiplication, not a division).
    #[inline(always)]
    fn count<const PER_SECOND: i64>(secs: i64, nanos: u32, unit: TimeUnit) -> Result<i64, ValueError> {
        let step = 1_000_000_000 / PER_SECOND;
        if i64::from(nanos) % step != 0 {
            return Err(ValueError::FinerThanUnit(unit));
        }
        let frac = i64::from(nanos) / step;
        // In i64 (an i128 product costs three multiplications); an overflow is looked at again in
        // i128, where a sum just inside the range (the smallest nanosecond instant) still fits.
        match secs.checked_mul(PER_SECOND).and_then(|c| c.checked_add(frac)) {
            Some(count) => Ok(count),
            None => i64::try_from(i128::from(secs) * i128::from(PER_SECOND) + i128::from(frac)).map_err(|_| ValueError::OutOfRange(unit)),
        }
    }
    match unit {
        TimeUnit::Second => count::<1>(secs, nanos, unit),
        TimeUnit::Millisecond => count::<1_000>(secs, nanos, unit),
        TimeUnit::Microsecond => count::<1_000_000>(secs, nanos, unit),
        TimeUnit::Nanosecond => count::<1_000_000_000>(secs, nanos, unit),
    }
}

/// A timestamp as a count of `unit` since the epoch (see [`instant_in`]).
pub(crate) fn timestamp_in(t: NaiveDateTime, unit: TimeUnit) -> Result<i64, ValueError> {
    let utc = t.and_utc();
    instant_in(utc.timestamp(), utc.timestamp_subsec_nanos(), unit)
}

/// A time of day (`01:02:03.500`) as a count of `unit` since midnight (see [`instant_in`]).
pub(crate) fn parse_time_in(s: &str, unit: TimeUnit) -> Result<i64, ValueError> {
    let t = parse_time(s)?;
    instant_in(i64::from(t.num_seconds_from_midnight()), t.nanosecond(), unit)
}

/// Brackets of type names.
pub(crate) const TYPE_BRACKETS: &[u8] = b"()<>";
/// Brackets of nested values.
pub(crate) const VALUE_BRACKETS: &[u8] = b"[]{}";

/// Splits `s` at occurrences of the ASCII `sep` outside the bracket pairs of `brackets`.
pub(crate) fn split_top(s: &str, sep: &str, brackets: &[u8]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(p) = brackets.iter().position(|b| *b == bytes[i]) {
            depth += if p % 2 == 0 { 1 } else { -1 };
        }
        if depth == 0 && bytes[i..].starts_with(sep.as_bytes()) {
            parts.push(s[start..i].to_owned());
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    parts.push(s[start..].to_owned());
    parts
}

pub(crate) fn inner(text: &str, open: char, close: char) -> Option<&str> {
    text.trim().strip_prefix(open)?.strip_suffix(close)
}

#[cfg(test)]
mod tests {
    use super::*;

    mod fast_floats {
        use proptest::prelude::*;

        use super::super::{parse_fast_float, parse_float};

        /// Same value (bit for bit, NaN as NaN) or both refused.
        fn same<T: lexical_core::FromLexical + std::str::FromStr + Into<f64> + Copy>(text: &str) -> Result<(), TestCaseError> {
            match (parse_fast_float::<T>(text), parse_float::<T>(text)) {
                (Ok(a), Ok(b)) => {
                    let (a, b): (f64, f64) = (a.into(), b.into());
                    prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{text:?}: {a} vs {b}");
                }
                (Err(_), Err(_)) => {}
                (a, b) => prop_assert!(false, "{text:?}: {:?} vs {:?}", a.map(Into::into), b.map(Into::into)),
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

            /// Java's text of doubles and reals (`1.0E-7`, `123.456`), std's shortest text,
            /// and text around it: the fast parser gives what std's gives.
            #[test]
            fn fast_and_plain_parsers_agree(bits in any::<u64>(), small in -1e9f64..1e9, pick in 0usize..12, junk in "[0-9eE+\\-.a-z]{0,12}") {
                let v = f64::from_bits(bits);
                let text = match pick {
                    0 => format!("{v:?}"),
                    1 => format!("{v:E}"),
                    2 => format!("{small}"),
                    3 => format!("{:E}", small),
                    4 => format!("{:?}", small as f32),
                    5 => ["NaN", "Infinity", "-Infinity", "inf", "-0.0", "0.0", "4.9E-324", "1.7976931348623157E308", "1e400", "-1e-400"][bits as usize % 10].to_owned(),
                    6 => junk.clone(),
                    _ => format!("{:.*}", pick - 6, small),
                };
                same::<f64>(&text)?;
                same::<f32>(&text)?;
            }
        }
    }

    #[test]
    fn integers_and_decimals_parse_exactly() {
        assert_eq!(parse_int::<i64>("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int::<i64>("-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_int::<i64>("9223372036854775808").is_err());
        assert!(parse_int::<i64>("99999999999999999999").is_err());
        assert_eq!(parse_int::<i8>("-128"), Ok(-128));
        assert!(parse_int::<i8>("128").is_err());
        assert_eq!(parse_int::<i32>("+42"), Ok(42));
        for bad in ["", "-", "1a", " 1", "1 ", "0x1", "1.0"] {
            assert!(parse_int::<i64>(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_decimal("1.5", 2), Ok(150));
        assert_eq!(parse_decimal("-0.01", 2), Ok(-1));
        assert_eq!(parse_decimal(".5", 1), Ok(5));
        assert_eq!(parse_decimal("12345678901234567890.12", 2), Ok(1_234_567_890_123_456_789_012));
        assert_eq!(parse_decimal("99999999999999999999999999999999999999", 0), Ok(99_999_999_999_999_999_999_999_999_999_999_999_999));
        for bad in ["", ".", "1.234", "1e5", "1,5", "--1"] {
            assert!(parse_decimal(bad, 2).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn days_from_civil_agrees_with_chrono_over_every_year() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for y in 0..=9999u32 {
            for (m, d) in [(1, 1), (2, 28), (3, 1), (12, 31)] {
                let want = (NaiveDate::from_ymd_opt(y as i32, m, d).unwrap() - epoch).num_days();
                assert_eq!(days_from_civil(y, m, d), want, "{y}-{m}-{d}");
            }
        }
    }

    /// Every month and day number of the years around the table's edges and across it (each
    /// year of the table, and the computed years beside it): a date exactly when chrono has
    /// one, the same day.
    #[test]
    fn date_days_agree_with_chrono_on_every_day() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for y in (0..=9999u32).filter(|y| (1890..=2170).contains(y) || y % 97 == 0) {
            for m in 0..=16 {
                for d in 0..=32 {
                    let want = NaiveDate::from_ymd_opt(y as i32, m, d).map(|t| (t - epoch).num_days() as i32);
                    assert_eq!(date_days(y, m, d), want, "{y}-{m}-{d}");
                }
            }
        }
    }

    mod digit_arithmetic {
        use proptest::prelude::*;

        use super::super::{parse_decimal, parse_int};

        /// The plain reading of decimal text: an exact rational by string arithmetic (sign,
        /// digits, the fraction padded to `scale`), through i128's own parser.
        fn plain_decimal(s: &str, scale: u8) -> Option<i128> {
            let (neg, body) = match s.as_bytes().first() {
                Some(b'-') => (true, &s[1..]),
                Some(b'+') => (false, &s[1..]),
                _ => (false, s),
            };
            let (int, frac) = body.split_once('.').unwrap_or((body, ""));
            if (int.is_empty() && frac.is_empty())
                || frac.len() > scale as usize
                || !(int.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
            {
                return None;
            }
            let digits = format!("{int}{frac}{}", "0".repeat(scale as usize - frac.len()));
            let v: i128 =
                digits.trim_start_matches('0').parse().or_else(|_| if digits.chars().all(|c| c == '0') { Ok(0) } else { Err(()) }).ok()?;
            Some(if neg { -v } else { v })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

            /// Integers of every width, their edges and text around them: the digit loop gives
            /// what std's parser gives.
            #[test]
            fn integers_agree_with_std(v in any::<i64>(), pick in 0usize..6, junk in "[-+0-9a ]{0,21}") {
                let text = match pick {
                    0 => v.to_string(),
                    1 => (v % 1000).to_string(),
                    2 => ["9223372036854775807", "-9223372036854775808", "9223372036854775808", "-0", "+7", "007", "", "-"][v.unsigned_abs() as usize % 8].to_owned(),
                    3 => format!("{}{}", v, v.unsigned_abs() % 10),
                    _ => junk.clone(),
                };
                prop_assert_eq!(parse_int::<i64>(&text).ok(), text.parse::<i64>().ok(), "{:?}", text);
                prop_assert_eq!(parse_int::<i32>(&text).ok(), text.parse::<i32>().ok(), "{:?}", text);
                prop_assert_eq!(parse_int::<i16>(&text).ok(), text.parse::<i16>().ok(), "{:?}", text);
                prop_assert_eq!(parse_int::<i8>(&text).ok(), text.parse::<i8>().ok(), "{:?}", text);
            }

            /// Decimals of scale 0 to 18 up to 38 digits, exact, never through floats.
            #[test]
            fn decimals_agree_with_plain_arithmetic(int in "[0-9]{0,20}", frac in "[0-9]{0,18}", neg in any::<bool>(), scale in 0u8..=18, dot in any::<bool>()) {
                let text = format!("{}{int}{}{frac}", if neg { "-" } else { "" }, if dot || !frac.is_empty() { "." } else { "" });
                prop_assert_eq!(parse_decimal(&text, scale).ok(), plain_decimal(&text, scale), "{:?} at scale {}", text, scale);
                // The fast shape gives the same value where it takes the text at all.
                if let Some(v) = crate::decode::shapes::decimal_fast(text.as_bytes(), scale) {
                    prop_assert_eq!(Some(v), plain_decimal(&text, scale), "{:?} at scale {}", text, scale);
                }
            }
        }
    }

    #[test]
    fn fast_date_and_time_parsers_agree_with_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let day = epoch + chrono::Days::new(seed % 3_000_000) - chrono::Days::new(1_000_000);
            let digits = (seed >> 40) % 10;
            let time = NaiveTime::from_num_seconds_from_midnight_opt(((seed >> 20) % 86_400) as u32, ((seed >> 8) % 1_000_000_000) as u32)
                .unwrap();
            let frac = if digits == 0 { String::new() } else { format!(".{:09}", time.nanosecond())[..1 + digits as usize].to_owned() };
            let text = format!("{} {}{frac}", day.format("%Y-%m-%d"), time.format("%H:%M:%S"));
            let chrono = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f");
            assert_eq!(parse_timestamp(&text).ok(), chrono.ok(), "{text}");
            let date = day.format("%Y-%m-%d").to_string();
            assert_eq!(parse_date(&date).ok(), NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok().map(|d| (d - epoch).num_days() as i32));
            let clock = &text[11..];
            assert_eq!(parse_time(clock).ok(), NaiveTime::parse_from_str(clock, "%H:%M:%S%.f").ok(), "{clock}");
        }
        for bad in ["2017-02-29", "2017-13-01", "2017-00-10", "20170101", "2017-01-01x"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_date("2016-02-29"), Ok(16_860));
        assert_eq!(parse_date("0001-01-01"), Ok(-719_162));
        for bad in ["2017-01-01 24:00:00", "2017-01-01 00:60:00", "2017-01-01 00:00:00.", "2017-01-01T00:00:00"] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_timestamp("2017-01-01 00:00:00.5").unwrap().and_utc().timestamp_nanos_opt(), Some(1_483_228_800_500_000_000));
        // Exact in every unit that holds the value, an error in one that does not.
        let ts = |s: &str, u| timestamp_in(parse_timestamp(s).unwrap(), u);
        assert_eq!(ts("0001-01-01 00:00:00.000", TimeUnit::Millisecond), Ok(-62_135_596_800_000));
        assert_eq!(ts("9999-12-31 23:59:59.999", TimeUnit::Millisecond), Ok(253_402_300_799_999));
        assert_eq!(ts("9999-12-31 23:59:59.999999", TimeUnit::Microsecond), Ok(253_402_300_799_999_999));
        assert_eq!(ts("0001-01-01 00:00:00", TimeUnit::Nanosecond).unwrap_err(), ValueError::OutOfRange(TimeUnit::Nanosecond));
        // The smallest and largest nanosecond instants are held.
        assert_eq!(ts("1677-09-21 00:12:43.145224192", TimeUnit::Nanosecond), Ok(i64::MIN));
        assert_eq!(ts("2262-04-11 23:47:16.854775807", TimeUnit::Nanosecond), Ok(i64::MAX));
        assert_eq!(ts("2020-01-01 00:00:00.1234", TimeUnit::Millisecond).unwrap_err(), ValueError::FinerThanUnit(TimeUnit::Millisecond));
        assert_eq!(parse_time_in("01:02:03.500", TimeUnit::Millisecond), Ok(3_723_500));
        assert!(parse_time_in("01:02:03.5", TimeUnit::Second).is_err());
    }

    mod word_readers {
        use chrono::{NaiveDate, NaiveDateTime};
        use proptest::prelude::*;

        use super::super::{fast_date, fast_timestamp_parts};

        proptest! {
            #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

            /// Dates and timestamps read a word at a time: every value of the common shape (years
            /// 0001 to 9999, 0 to 9 fraction digits) is read as chrono reads it, and whatever they
            /// accept after one byte of it is replaced by any byte or its end is cut, chrono reads
            /// the same way (what they refuse goes to chrono, which reads or refuses it).
            #[test]
            fn word_readers_agree_with_chrono(
                days in prop_oneof![-719_162i64..2_932_897, -25_567i64..68_000],
                secs in 0u32..86_400,
                nanos in 0u32..1_000_000_000,
                digits in 0usize..10,
                mutate in any::<bool>(),
                at in any::<proptest::sample::Index>(),
                byte in prop_oneof![any::<u8>(), Just(b'-'), Just(b':'), Just(b' '), Just(b'.'), Just(b'0'), Just(b'9')],
                cut in 0usize..3,
            ) {
                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
                let day = epoch + chrono::TimeDelta::days(days);
                let frac = if digits == 0 { String::new() } else { format!(".{nanos:09}")[..=digits].to_owned() };
                let text = format!("{} {:02}:{:02}:{:02}{frac}", day.format("%Y-%m-%d"), secs / 3600, secs / 60 % 60, secs % 60);
                let mut bytes = text.into_bytes();
                if mutate {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                bytes.truncate(bytes.len() - cut.min(if mutate { 3 } else { 0 }));
                let kept = nanos / 10u32.pow(9 - digits as u32) * 10u32.pow(9 - digits as u32);
                let (date, stamp) = (&bytes[..10], &bytes[..]);
                match fast_date(date) {
                    Some(v) => {
                        let text = std::str::from_utf8(date).expect("an accepted date is ASCII");
                        let chrono = NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| (d - epoch).num_days());
                        prop_assert_eq!(chrono, Ok(i64::from(v)), "{:?}", text);
                    }
                    None => prop_assert!(mutate, "{:?} refused", String::from_utf8_lossy(date)),
                }
                match fast_timestamp_parts(stamp) {
                    Some((s, n)) => {
                        let text = std::str::from_utf8(stamp).expect("an accepted timestamp is ASCII");
                        let chrono = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(|t| (t.and_utc().timestamp(), t.and_utc().timestamp_subsec_nanos()));
                        prop_assert_eq!(chrono, Ok((s, n)), "{:?}", text);
                        if !mutate {
                            prop_assert_eq!((s, n), (days * 86_400 + i64::from(secs), kept));
                        }
                    }
                    None => prop_assert!(mutate, "{:?} refused", String::from_utf8_lossy(stamp)),
                }
            }
        }
    }
}
