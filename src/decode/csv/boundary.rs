//! Record boundaries of a result CSV: a record ends at a `\n` outside quotes, and whether a byte
//! is inside quotes follows from the parity of the `"` bytes before it in the object. Read from
//! an arbitrary byte (a byte range of the object), that parity is unknown: [`resync`] finds the
//! first record start from the bytes alone when Athena's strict grammar leaves one reading.

#[doc(hidden)] // public for the benches (benches/fast_path.rs), not an API
/// Number of `"` bytes in `bytes` (their parity tells whether a position is inside quotes).
pub fn count_quotes(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| u64::from(b == b'"')).sum()
}

#[doc(hidden)] // public for the benches (benches/fast_path.rs), not an API
/// The end (one past the `\n`) of the first record boundary in `bytes`, which starts inside
/// quotes when `odd` (an odd number of `"` came before it): a `\n` outside quotes.
pub fn first_boundary(bytes: &[u8], mut odd: bool) -> Option<usize> {
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => odd = !odd,
            b'\n' if !odd => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[doc(hidden)] // public for the benches (benches/fast_path.rs), not an API
/// The end of the last record in `bytes` (the position after its `\n`), where `odd` tells
/// whether the end of `bytes` is inside quotes: scanned backwards, usually over one record.
pub fn last_boundary(bytes: &[u8], mut odd: bool) -> Option<usize> {
    for (i, &b) in bytes.iter().enumerate().rev() {
        match b {
            b'\n' if !odd => return Some(i + 1),
            b'"' => odd = !odd,
            _ => {}
        }
    }
    None
}

/// What [`resync`] found.
#[doc(hidden)] // public for the benches and tests, not an API
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// The first record start: an offset into the bytes, at least 1 (the bytes' length when no
    /// record starts in them before the object's end).
    At(usize),
    /// The bytes read so far allow more than one reading: read further.
    NeedMore,
    /// The bytes allow more than one reading whatever follows (or none, for CSV that is not
    /// Athena's): the parity must come from counting the quotes before them.
    Ambiguous,
}

/// A position in Athena's strict CSV grammar: a field is empty (NULL) or a quoted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field (after `,` or `\n`).
    FieldStart,
    /// Inside a quoted value.
    Quoted,
    /// After a `"` inside a quoted value: its end, or the first of a doubled `""`.
    AfterQuote,
}

impl State {
    /// The state after `b`, and whether `b` ended a record; None where the grammar allows no `b`.
    #[inline]
    fn step(self, b: u8) -> Option<(State, bool)> {
        match (self, b) {
            (State::Quoted, b'"') => Some((State::AfterQuote, false)),
            (State::Quoted, _) => Some((State::Quoted, false)),
            (State::FieldStart, b'"') | (State::AfterQuote, b'"') => Some((State::Quoted, false)),
            (State::FieldStart | State::AfterQuote, b',') => Some((State::FieldStart, false)),
            (State::FieldStart | State::AfterQuote, b'\n') => Some((State::FieldStart, true)),
            _ => None,
        }
    }
}

/// The first record start in `bytes`, which are a result CSV's bytes from the one *before* a
/// range's first byte (so that a record starting exactly at the range's start is found, at
/// offset 1); `to_end` says they run to the object's end.
///
/// Each place the first byte can have in the grammar (at a field's start, inside a quoted value,
/// after a quote in one) is followed through the bytes; a reading that breaks the grammar is
/// dropped. The answer is given only when every remaining reading agrees on the first record
/// start, so it is never a guess: readings that can no longer be told apart but disagree give
/// [`Resync::Ambiguous`] (values made only of quotes, commas and newlines can do that), and so
/// does CSV that no reading accepts.
pub fn resync(bytes: &[u8], to_end: bool) -> Resync {
    // (state, the first record start it found).
    let mut runs: Vec<(State, Option<usize>)> = vec![(State::FieldStart, None), (State::Quoted, None), (State::AfterQuote, None)];
    for (i, &b) in bytes.iter().enumerate() {
        runs.retain_mut(|(state, first)| match state.step(b) {
            Some((next, ended)) => {
                *state = next;
                if ended && first.is_none() {
                    *first = Some(i + 1);
                }
                true
            }
            None => false,
        });
        runs.sort_unstable_by_key(|(s, f)| (*s as u8, *f));
        runs.dedup();
        match runs.as_slice() {
            [] => return Resync::Ambiguous,
            [(_, Some(at))] => return Resync::At(*at),
            // Two readings in the same state follow the same bytes alike from here on.
            _ if runs.windows(2).any(|w| w[0].0 == w[1].0) => return Resync::Ambiguous,
            _ => {}
        }
    }
    if !to_end {
        return Resync::NeedMore;
    }
    // A whole result CSV ends at a record's end.
    runs.retain(|(s, _)| *s == State::FieldStart);
    let starts: Vec<usize> = runs.iter().map(|(_, f)| f.unwrap_or(bytes.len())).collect();
    match starts.as_slice() {
        [at, rest @ ..] if rest.iter().all(|r| r == at) => Resync::At(*at),
        _ => Resync::Ambiguous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record starts of `csv` (after the first byte), by counting quotes from the start.
    fn true_starts(csv: &[u8]) -> Vec<usize> {
        let mut odd = false;
        let mut starts = Vec::new();
        for (i, &b) in csv.iter().enumerate() {
            match b {
                b'"' => odd = !odd,
                b'\n' if !odd => starts.push(i + 1),
                _ => {}
            }
        }
        starts
    }

    #[test]
    fn resync_finds_the_record_start_from_any_byte() {
        let csv = b"\"a\",\"b\"\n\"1\",\"x\n\"\"y,\"\n,\"\"\n\"line\nbreak\",\"z\"\n";
        let starts = true_starts(csv);
        for from in 0..csv.len() {
            let truth = starts.iter().find(|&&p| p > from).map_or(csv.len() - from, |p| p - from);
            match resync(&csv[from..], true) {
                Resync::At(at) => assert_eq!(at, truth, "from byte {from}"),
                other => panic!("from byte {from}: {other:?}"),
            }
        }
        // Cut short, the answer waits for more bytes rather than guessing.
        assert_eq!(resync(b"\"\"\"\"", false), Resync::NeedMore);
    }

    #[test]
    fn values_of_quotes_and_commas_alone_wait_for_the_end() {
        // `"",""` lines read as well inside one long quoted value as field by field, until the
        // object's end, where only a reading at a record's end remains.
        let csv = b"\"\",\"\"\n\"\",\"\"\n\"\",\"\"\n";
        assert_eq!(resync(&csv[2..], false), Resync::NeedMore);
        assert_eq!(resync(&csv[2..], true), Resync::At(4));
    }

    #[test]
    fn rows_of_quotes_and_commas_stay_unresolved_over_a_whole_window() {
        // The rows of tests/it/partitions.rs' quote-counting case (`'","'` and `''`): from any
        // byte, 64 KiB of them leave the reading open, so that range reader counts quotes.
        let csv = "\"\"\",\"\"\",\"\"\n".repeat(10_000);
        for from in [1, 5, 7, 11, 30_001] {
            assert_eq!(resync(&csv.as_bytes()[from..from + 65_536], false), Resync::NeedMore, "from byte {from}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

            /// Records written as Athena writes them, read from any byte and cut anywhere: the
            /// answer is the true record start or a request for more bytes or for the parity,
            /// never a wrong start.
            #[test]
            fn never_a_wrong_start(
                records in proptest::collection::vec(
                    proptest::collection::vec(proptest::option::of("[a\",\n]{0,6}"), 1..4), 1..12),
                from in 0usize..400,
                cut in 0usize..400,
            ) {
                let csv = crate::decode::csv::written(&records);
                let csv = csv.as_bytes();
                let from = from % csv.len();
                let to = (from + 1 + cut).min(csv.len());
                let starts = true_starts(csv);
                let truth = starts.iter().find(|&&p| p > from).map_or(csv.len() - from, |p| p - from);
                match resync(&csv[from..to], to == csv.len()) {
                    Resync::At(at) => prop_assert_eq!(at, truth),
                    Resync::NeedMore => prop_assert!(to < csv.len()),
                    Resync::Ambiguous => {}
                }
            }
        }
    }
}
