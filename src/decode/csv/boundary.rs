//! Record boundaries of a result CSV: a record ends at a `\n` outside quotes, and whether a byte
//! is inside quotes follows from the parity of the `"` bytes before it in the object. Read from
//! an arbitrary byte (a byte range of the object), that parity is unknown: [`resync`] finds the
//! first record start from the bytes alone when Athena's strict grammar leaves one reading.

#[doc(hidden)] // public for the benches (benches/fast_path.rs), not an API
/// Number of `"` bytes in `bytes` (their parity tells whether a position is inside quotes).
pub fn count_quotes(bytes: &[u8]) -> u64 {
    // Counted in 64 byte-wide lanes, none of which can overflow in 255 steps, then summed: the
    // compiler makes each step a few compares and subtracts of whole vectors (22 GB/s against
    // 2.9 for a sum straight into a u64, which widened every byte to 64 bits; that sum was a
    // tenth of the Python CSV read's CPU in a profile, 2026-12-07).
    const LANES: usize = 64;
    let mut total = 0u64;
    for block in bytes.chunks(LANES * 255) {
        let mut lanes = [0u8; LANES];
        let mut steps = block.chunks_exact(LANES);
        for step in &mut steps {
            let step: &[u8; LANES] = step.try_into().expect("chunks_exact gives LANES bytes");
            for i in 0..LANES {
                lanes[i] = lanes[i].wrapping_add(u8::from(step[i] == b'"'));
            }
        }
        total += lanes.iter().map(|&n| u64::from(n)).sum::<u64>();
        total += steps.remainder().iter().filter(|&&b| b == b'"').count() as u64;
    }
    total
}

#[doc(hidden)] // public for the benches (benches/fast_path.rs, benches/csv_decode.rs), not an API
/// `csv` (a whole result CSV) cut at record boundaries into `pieces` runs of about equal bytes:
/// the offsets where they start, then `csv.len()` (a run may be empty).
pub fn record_cuts(csv: &[u8], pieces: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    for t in 1..pieces {
        let at = csv.len() * t / pieces;
        let odd = count_quotes(&csv[..at]) % 2 == 1;
        cuts.push(first_boundary(&csv[at..], odd).map_or(csv.len(), |b| at + b).max(cuts[cuts.len() - 1]));
    }
    cuts.push(csv.len());
    cuts
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

/// The CSV grammar a result is read in.
#[doc(hidden)] // public for tests, not an API
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    /// Athena's (engine version 3): every value quoted, an unquoted field is empty (NULL).
    Strict,
    /// RFC 4180: a value is quoted or not (then it holds no `"`, `,` or `\n`). What a CSV not
    /// known to quote every value is read in (DuckDB's): wider, so fewer wrong readings are
    /// ruled out, but the true one never is.
    Rfc4180,
}

/// A position in a CSV grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// At the start of a field (after `,` or `\n`).
    FieldStart,
    /// Inside an unquoted non-empty value (RFC 4180 only).
    Unquoted,
    /// Inside a quoted value.
    Quoted,
    /// After a `"` inside a quoted value: its end, or the first of a doubled `""`.
    AfterQuote,
}

impl State {
    /// The state after `b`, and whether `b` ended a record; None where the grammar allows no `b`.
    #[inline]
    fn step(self, b: u8, grammar: Grammar) -> Option<(State, bool)> {
        match (self, b) {
            (State::Quoted, b'"') => Some((State::AfterQuote, false)),
            (State::Quoted, _) => Some((State::Quoted, false)),
            (State::FieldStart, b'"') | (State::AfterQuote, b'"') => Some((State::Quoted, false)),
            (State::FieldStart | State::AfterQuote | State::Unquoted, b',') => Some((State::FieldStart, false)),
            (State::FieldStart | State::AfterQuote | State::Unquoted, b'\n') => Some((State::FieldStart, true)),
            (State::FieldStart | State::Unquoted, _) if grammar == Grammar::Rfc4180 && b != b'"' => Some((State::Unquoted, false)),
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
    resync_in(bytes, to_end, Grammar::Strict)
}

/// [`resync`] in `grammar`: its answer is exact for any CSV of that grammar.
pub fn resync_in(bytes: &[u8], to_end: bool, grammar: Grammar) -> Resync {
    // (state, the first record start it found).
    let mut runs: Vec<(State, Option<usize>)> = vec![(State::FieldStart, None), (State::Quoted, None), (State::AfterQuote, None)];
    if grammar == Grammar::Rfc4180 {
        runs.push((State::Unquoted, None));
    }
    for (i, &b) in bytes.iter().enumerate() {
        runs.retain_mut(|(state, first)| match state.step(b, grammar) {
            Some((next, ended)) => {
                *state = next;
                if ended && first.is_none() {
                    *first = Some(i + 1);
                }
                true
            }
            None => false,
        });
        runs.sort_unstable();
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

/// What the bytes read from before a range's start tell about its first record start.
#[doc(hidden)] // public for tests, not an API
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first record start: an offset into the bytes.
    At(usize),
    /// Read further.
    NeedMore,
    /// The bytes cannot tell: count the quotes before them.
    CountQuotes,
}

/// The first record start in `bytes` (a result CSV's bytes from the one before a range's first
/// byte; `to_end`: they run to the object's end), read in `grammar` ([`resync_in`]): never a
/// guess for a CSV of that grammar.
pub fn start_in(bytes: &[u8], to_end: bool, grammar: Grammar) -> Start {
    match resync_in(bytes, to_end, grammar) {
        Resync::At(at) => Start::At(at),
        Resync::NeedMore => Start::NeedMore,
        Resync::Ambiguous => Start::CountQuotes,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The lane-wise count is the plain count, whatever the length (across the 255-step
        /// blocks) and the density of quotes (every byte one: the lanes' limit).
        #[test]
        fn quotes_are_counted_exactly(
            bytes in prop_oneof![
                proptest::collection::vec(prop_oneof![Just(b'"'), any::<u8>()], 0..20_000),
                (0usize..20_000).prop_map(|n| vec![b'"'; n]),
            ],
        ) {
            prop_assert_eq!(count_quotes(&bytes), bytes.iter().filter(|&&b| b == b'"').count() as u64);
        }
    }

    #[test]
    fn a_minimally_quoted_csv_is_never_cut_at_a_guessed_start() {
        // As many CSV writers write it (DuckDB's COPY among them): quotes only where a value
        // needs them, including values made only of quotes, commas and newlines. Cut at every
        // byte and read in RFC 4180's grammar, the start found is the true one, or the quotes
        // before it are counted.
        let csv = b"id,name,note\n1,abc,\"x,y\"\n2,,\"\"\n3,\"a\"\"b\",plain text\n4,\"line\nbreak\",\"\"\"\"\n5,z,\",\"\n6,\"\n\",q\n7,\",\n\",\"\"\"\n\"\n";
        let starts = true_starts(csv);
        let (mut found, mut counted) = (0, 0);
        for from in 1..csv.len() {
            let truth = starts.iter().find(|&&p| p >= from).map_or(csv.len() - from + 1, |p| p - from + 1);
            let window = &csv[from - 1..];
            for end in [window.len().min(8), window.len().min(20), window.len()] {
                match start_in(&window[..end], end == window.len(), Grammar::Rfc4180) {
                    Start::At(at) => {
                        assert_eq!(at, truth, "range from byte {from}, {end} bytes read");
                        found += 1;
                    }
                    Start::CountQuotes => counted += 1,
                    Start::NeedMore => assert!(end < window.len()),
                }
            }
        }
        assert!(found > counted, "most starts are found from the bytes alone ({found} found, {counted} counted)");
        // Read in Athena's strict grammar, the same bytes can give a wrong start: the grammar
        // decides.
        let wrong = (1..csv.len()).any(|from| {
            let truth = starts.iter().find(|&&p| p >= from).map_or(csv.len() - from + 1, |p| p - from + 1);
            matches!(start_in(&csv[from - 1..], true, Grammar::Strict), Start::At(at) if at != truth)
        });
        assert!(wrong, "this CSV breaks the strict grammar in a way a strict reading can take");
    }

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
