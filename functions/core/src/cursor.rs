//! The list's pagination cursor: where in which order the last page ended. Opaque to clients
//! (base64url), validated when it comes back.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use crate::{
    record::FileRecord,
    search::{self, SortBy},
    ApiError, FileId,
};

/// A page of the public listing reads at most this many index pages once it has found a match,
/// and goes on past them while it has found none for at most [`EMPTY_PAGE_BUDGET_MS`], so that
/// one request costs a bounded time whatever the table holds; when a search's matches are that
/// sparse, the page holds what was found and the cursor continues from where the reading
/// stopped.
pub const MAX_INDEX_PAGES: usize = 10;

/// How long a page that has found nothing yet keeps reading (a few hundred Queries on
/// DynamoDB), so that the first page of a name that exists is all but never empty.
pub const EMPTY_PAGE_BUDGET_MS: u64 = 4_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub sort: SortBy,
    pub descending: bool,
    /// The index gram the pages are read from, chosen on the first page and kept for the rest
    /// (`None` from a store that reads no index).
    pub gram: Option<String>,
    /// The position in the age order of the last entry read (the index's own key).
    pub age_key: String,
    /// The position in the chosen order (the same as `age_key` for the age order).
    pub sort_key: String,
}

impl ListCursor {
    /// The cursor that continues after `record`.
    pub fn after(record: &FileRecord, sort: SortBy, descending: bool, gram: Option<String>) -> Self {
        ListCursor {
            sort,
            descending,
            gram,
            age_key: search::age_key(record.created_at_ms, record.id),
            sort_key: search::sort_key(record, sort),
        }
    }

    pub fn encode(&self) -> String {
        let order = if self.descending { "desc" } else { "asc" };
        let text = format!(
            "1\n{}\n{order}\n{}\n{}\n{}",
            self.sort.as_str(),
            self.gram.as_deref().unwrap_or(""),
            self.age_key,
            self.sort_key
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(text: &str) -> Result<Self, ApiError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| Self::parse(&text))
            .ok_or_else(|| {
                ApiError::invalid(
                    "cursor",
                    "the cursor is not one this API gave out; start again from the first page",
                )
            })
    }

    fn parse(text: &str) -> Option<Self> {
        // The name order's key holds a newline itself: it is the last field, taken whole.
        let mut fields = text.splitn(6, '\n');
        if fields.next()? != "1" {
            return None;
        }
        let sort = SortBy::parse(fields.next()?)?;
        let descending = match fields.next()? {
            "desc" => true,
            "asc" => false,
            _ => return None,
        };
        let gram = Some(fields.next()?).filter(|g| !g.is_empty()).map(str::to_owned);
        let age_key = fields.next()?.to_owned();
        let sort_key = fields.next()?.to_owned();
        let id = valid_age_key(&age_key)?;
        let valid_sort_key = match sort {
            SortBy::Age => sort_key == age_key,
            SortBy::Size => sort_key
                .split_once('#')
                .is_some_and(|(size, sid)| size.len() == 20 && size.bytes().all(|b| b.is_ascii_digit()) && sid == id),
            SortBy::Name => sort_key.rsplit_once('\n').is_some_and(|(_, sid)| sid == id),
        };
        valid_sort_key.then_some(ListCursor {
            sort,
            descending,
            gram,
            age_key,
            sort_key,
        })
    }
}

/// The id an age key ends with, if it is one.
fn valid_age_key(key: &str) -> Option<&str> {
    let (ms, id) = key.split_once('#')?;
    let valid = ms.len() == 13 && ms.bytes().all(|b| b.is_ascii_digit()) && FileId::parse(id).is_ok();
    valid.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(sort: SortBy, gram: Option<&str>) -> ListCursor {
        let id = FileId::random();
        let age_key = search::age_key(1_700_000_000_000, id);
        ListCursor {
            sort,
            descending: sort != SortBy::Name,
            gram: gram.map(str::to_owned),
            sort_key: match sort {
                SortBy::Age => age_key.clone(),
                SortBy::Name => search::name_key("Report\nodd", id),
                SortBy::Size => search::size_key(42, id),
            },
            age_key,
        }
    }

    #[test]
    fn cursors_round_trip_in_every_order() {
        for c in [
            cursor(SortBy::Age, None),
            cursor(SortBy::Name, Some("rep")),
            cursor(SortBy::Size, Some("*")),
        ] {
            assert_eq!(ListCursor::decode(&c.encode()).unwrap(), c);
        }
    }

    #[test]
    fn tampered_cursors_are_rejected() {
        assert!(ListCursor::decode("!!").is_err());
        assert!(ListCursor::decode(&URL_SAFE_NO_PAD.encode("12#zz")).is_err());
        let mut c = cursor(SortBy::Size, None);
        c.sort_key = search::size_key(42, FileId::random());
        assert!(
            ListCursor::decode(&c.encode()).is_err(),
            "the sort key names another file"
        );
        let mut c = cursor(SortBy::Age, None);
        c.sort_key = "x".into();
        assert!(ListCursor::decode(&c.encode()).is_err());
    }
}
