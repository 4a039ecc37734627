//! Search and sort of the public table, as pure rules: how a name is folded and cut into grams,
//! which index entries a record should have, and whether a record answers a query.
//!
//! The index (the metadata adapter's search table) holds, for every public file, one entry per
//! distinct 1-, 2- and 3-character piece ("gram") of its folded name, plus one under [`ALL`].
//! Any substring of up to 3 characters *is* a gram, so its entries are exactly its matches; a
//! longer substring contains every one of its trigrams, so the entries of any one of them hold
//! every match (and some files that only share the trigram, which the read filters out). Each
//! entry carries the file's three sort keys, so every gram can be read in every order.
//!
//! Entries are written after the record, not with it (a long name has hundreds, a transaction
//! holds 100 items): every read checks each entry against its record, so an entry left behind
//! (a crash, a race between two edits) can cost a read but never show a file wrongly, and the
//! sweep rewrites the entries of any record whose last write was not followed by its index's.

use std::collections::BTreeSet;

use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use crate::{
    record::{FileRecord, RecordState},
    validate::ListQuery,
    FileId,
};

/// The gram every public file has an entry under: the whole table, in every order.
pub const ALL: &str = "*";

/// The longest gram indexed.
pub const MAX_GRAM: usize = 3;

/// A name folded for search longer than this is cut (a sort key holds at most 1,024 bytes).
const MAX_FOLDED_NAME_BYTES: usize = 900;

/// What the public table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// By when the file was shared.
    #[default]
    Age,
    Name,
    Size,
}

impl SortBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Age => "age",
            SortBy::Name => "name",
            SortBy::Size => "size",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [SortBy::Age, SortBy::Name, SortBy::Size]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The order people expect when they pick this sort: newest, A to Z, largest first.
    pub fn default_descending(self) -> bool {
        self != SortBy::Name
    }
}

/// Folds text for matching: compatibility decomposition, accents dropped, lower case. So
/// "Café", "CAFE" and "café" are the same, and "ﬁle" matches "file".
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every distinct piece of 1 to [`MAX_GRAM`] characters of folded text.
pub fn grams(folded: &str) -> BTreeSet<String> {
    let chars: Vec<char> = folded.chars().collect();
    let mut grams = BTreeSet::new();
    for len in 1..=MAX_GRAM {
        for piece in chars.windows(len) {
            grams.insert(piece.iter().collect());
        }
    }
    grams
}

/// The grams whose entries each hold every match of a folded query: the query itself when it
/// is short enough to be a gram, else its distinct trigrams (any one will do; the read picks
/// the one with fewest entries).
pub fn query_grams(folded_query: &str) -> Vec<String> {
    let chars: Vec<char> = folded_query.chars().collect();
    if chars.is_empty() {
        return vec![ALL.to_owned()];
    }
    if chars.len() <= MAX_GRAM {
        return vec![folded_query.to_owned()];
    }
    let trigrams: BTreeSet<String> = chars.windows(MAX_GRAM).map(|w| w.iter().collect()).collect();
    trigrams.into_iter().collect()
}

/// Whether entries of this gram are exactly the matches of the query (no filtering needed).
pub fn gram_is_exact(gram: &str, folded_query: Option<&str>) -> bool {
    folded_query.is_none_or(|q| q == gram)
}

/// Position in the age order: fixed-width time, then the id to break ties.
pub fn age_key(created_at_ms: i64, id: FileId) -> String {
    format!("{created_at_ms:013}#{id}")
}

/// Position in the name order. A newline (which no name holds) ends the name, so that a name
/// sorts before every longer name it begins.
pub fn name_key(name: &str, id: FileId) -> String {
    let mut folded = fold(name);
    if folded.len() > MAX_FOLDED_NAME_BYTES {
        let mut end = MAX_FOLDED_NAME_BYTES;
        while !folded.is_char_boundary(end) {
            end -= 1;
        }
        folded.truncate(end);
    }
    format!("{folded}\n{id}")
}

/// Position in the size order: fixed-width bytes, then the id.
pub fn size_key(size: u64, id: FileId) -> String {
    format!("{size:020}#{id}")
}

/// A record's position in the given order.
pub fn sort_key(record: &FileRecord, sort: SortBy) -> String {
    match sort {
        SortBy::Age => age_key(record.created_at_ms, record.id),
        SortBy::Name => name_key(&record.name, record.id),
        SortBy::Size => size_key(record.size, record.id),
    }
}

/// One entry of the search index: the file under one gram, with what a read filters on.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub gram: String,
    pub id: FileId,
    pub age_key: String,
    pub name_key: String,
    pub size_key: String,
    pub folded_name: String,
    pub uploader_lower: Option<String>,
    pub expiry_ms: Option<i64>,
}

/// The entries a record should have: one per gram of its name and one under [`ALL`] while it
/// is public; none otherwise.
pub fn entries(record: &FileRecord) -> Vec<IndexEntry> {
    if !record.is_public() {
        return Vec::new();
    }
    let folded_name = fold(&record.name);
    let entry = |gram: String| IndexEntry {
        gram,
        id: record.id,
        age_key: age_key(record.created_at_ms, record.id),
        name_key: name_key(&record.name, record.id),
        size_key: size_key(record.size, record.id),
        folded_name: folded_name.clone(),
        uploader_lower: record.uploader.as_ref().map(|u| u.to_lowercase()),
        expiry_ms: record.expiry_ms,
    };
    std::iter::once(ALL.to_owned())
        .chain(grams(&folded_name))
        .map(entry)
        .collect()
}

/// What to write to take the index from `before` to `after` (the same file): every entry
/// `after` should have, and the grams whose entries must go. With no `before` (the sweep
/// rewriting a record whose index may be behind), every gram of the current name is cleared.
pub fn changes(before: Option<&FileRecord>, after: &FileRecord) -> (Vec<IndexEntry>, Vec<String>) {
    let puts = entries(after);
    let keep: BTreeSet<&str> = puts.iter().map(|e| e.gram.as_str()).collect();
    let mut had: BTreeSet<String> = BTreeSet::new();
    // An upload in progress was never public, and a record whose index was written for the
    // state read and was not public then has none: nothing to clear.
    let had_none =
        before.is_some_and(|b| b.state == RecordState::Uploading || (b.is_index_current() && !b.is_public()));
    if !had_none {
        if let Some(before) = before {
            had.insert(ALL.to_owned());
            had.extend(grams(&fold(&before.name)));
        }
        // With the index possibly behind `before` (or no `before` at all), it may hold items of
        // the current name too.
        if before.is_none_or(|b| b.name != after.name || !b.is_index_current()) {
            had.insert(ALL.to_owned());
            had.extend(grams(&fold(&after.name)));
        }
    }
    let deletes = had.into_iter().filter(|g| !keep.contains(g.as_str())).collect();
    (puts, deletes)
}

/// Whether a record answers the query now: what every read checks each index entry against.
pub fn matches(record: &FileRecord, query: &ListQuery, now_ms: i64) -> bool {
    record.is_public()
        && !record.is_expired(now_ms)
        && query.search.as_deref().is_none_or(|q| fold(&record.name).contains(q))
        && query
            .uploader
            .as_ref()
            .is_none_or(|u| record.uploader.as_ref().is_some_and(|x| x.to_lowercase() == *u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_compatibility_forms() {
        assert_eq!(fold("Café CRÈME"), "cafe creme");
        assert_eq!(fold("ﬁle"), "file");
        assert_eq!(fold("Ärger_über-Öl.PDF"), "arger_uber-ol.pdf");
        // Punctuation and digits are kept: people search for "v2.1" and "_final".
        assert_eq!(fold("Report_v2.1 (final).PDF"), "report_v2.1 (final).pdf");
        assert_eq!(fold("ΣΟΦΙΑ"), "σοφια");
    }

    #[test]
    fn grams_are_every_distinct_piece_up_to_three_characters() {
        let g = grams("abab");
        let expected: BTreeSet<String> = ["a", "b", "ab", "ba", "aba", "bab"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(g, expected);
        assert!(grams("").is_empty());
        assert_eq!(grams("é"), BTreeSet::from(["é".to_owned()]));
    }

    #[test]
    fn a_short_query_is_its_own_gram_a_long_one_its_trigrams() {
        assert_eq!(query_grams(""), vec![ALL]);
        assert_eq!(query_grams("a"), vec!["a"]);
        assert_eq!(query_grams(".pd"), vec![".pd"]);
        assert_eq!(query_grams("quartz"), vec!["art", "qua", "rtz", "uar"]);
        // Repeated trigrams are read once.
        assert_eq!(query_grams("aaaa"), vec!["aaa"]);
        assert!(gram_is_exact(".pd", Some(".pd")));
        assert!(!gram_is_exact("qua", Some("quartz")));
        assert!(gram_is_exact(ALL, None));
    }

    #[test]
    fn every_substring_of_a_name_is_found_through_each_of_its_grams() {
        let name = fold("Holiday Photos – Été 2024.zip");
        let all = grams(&name);
        let chars: Vec<char> = name.chars().collect();
        for start in 0..chars.len() {
            for end in start + 1..=chars.len() {
                let query: String = chars[start..end].iter().collect();
                for gram in query_grams(&query) {
                    assert!(
                        all.contains(&gram),
                        "{query:?} reads {gram:?}, which the name has no entry for"
                    );
                }
            }
        }
    }

    fn public(name: &str) -> FileRecord {
        let upload = crate::validate::NewUpload {
            name: name.into(),
            size: 3,
            content_type: "text/plain".into(),
            sha256: None,
            parts: None,
            uploader: None,
            visibility: twinshare_api::Visibility::Listed,
            expires_in_ms: None,
            max_downloads: None,
            password_hash: None,
        };
        let here = crate::record::Placement {
            region: "r",
            bucket: "b",
        };
        let mut record = FileRecord::new_upload(FileId::random(), upload, None, [here, here], String::new(), 1);
        record.state = RecordState::Available;
        record.indexed_ms = Some(record.updated_at_ms);
        record
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn changes_write_the_new_entries_and_clear_only_what_may_be_left() {
        // Shared: every gram and "*".
        let mut uploading = public("ab");
        uploading.state = RecordState::Uploading;
        uploading.indexed_ms = None;
        let shared = public("ab");
        let (puts, deletes) = changes(Some(&uploading), &shared);
        let put_grams: BTreeSet<String> = puts.iter().map(|e| e.gram.clone()).collect();
        assert_eq!(put_grams, set(&["*", "a", "b", "ab"]));
        assert!(deletes.is_empty(), "an upload in progress had no entries");
        // Renamed: the old name's own grams go, the shared ones are rewritten.
        let mut renamed = shared.clone();
        renamed.name = "bc".into();
        renamed.updated_at_ms += 1;
        let (puts, deletes) = changes(Some(&shared), &renamed);
        assert_eq!(puts.len(), 4);
        assert_eq!(deletes, vec!["a".to_owned(), "ab".to_owned()]);
        // Unlisted: everything goes.
        let mut unlisted = shared.clone();
        unlisted.visibility = twinshare_api::Visibility::Unlisted;
        let (puts, deletes) = changes(Some(&shared), &unlisted);
        assert!(puts.is_empty());
        assert_eq!(
            deletes.into_iter().collect::<BTreeSet<_>>(),
            set(&["*", "a", "b", "ab"])
        );
        // Cancelled before completion: nothing to write at all.
        let mut cancelled = uploading.clone();
        cancelled.removal = Some(crate::record::Removal {
            reason: crate::record::RemovalReason::Cancelled,
            at_ms: 2,
            bytes_gone_at_ms: None,
        });
        assert_eq!(changes(Some(&uploading), &cancelled), (vec![], vec![]));
        // The sweep's rewrite of a removed file whose index is behind: its name's grams go.
        let mut removed = unlisted.clone();
        removed.indexed_ms = None;
        let (puts, deletes) = changes(None, &removed);
        assert!(puts.is_empty());
        assert_eq!(deletes.len(), 4);
    }

    #[test]
    fn sort_keys_order_as_people_expect() {
        let id = FileId::random();
        assert!(
            name_key("a", id) < name_key("a!", id),
            "a name sorts before its extensions"
        );
        assert!(name_key("Apple", id) < name_key("banana", id), "case does not matter");
        assert!(name_key("Émile", id) < name_key("fred", id), "accents do not matter");
        assert!(size_key(9, id) < size_key(10, id));
        assert!(age_key(999_999_999_999, id) < age_key(1_000_000_000_000, id));
        let long = "x".repeat(255 * 4);
        assert!(name_key(&long, id).len() < 1024);
    }
}
