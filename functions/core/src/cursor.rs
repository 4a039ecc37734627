//! The list's pagination cursor: the position (creation time, id) of the last file returned.
//! Opaque to clients (base64url), validated when it comes back.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use crate::{ApiError, FileId};

/// A page of the public listing reads at most this many index pages of `limit + 1` entries, so a
/// rare search term costs a bounded time; the cursor then continues where the reading stopped
/// (the page may hold fewer matches than asked, even none, with a cursor to go on).
pub const MAX_INDEX_PAGES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub created_at_ms: i64,
    pub id: FileId,
}

impl ListCursor {
    /// The sort key of the public listing: newest first means descending on this string, so the
    /// time is zero-padded to a fixed width and the id breaks ties.
    pub fn sort_key(&self) -> String {
        format!("{:013}#{}", self.created_at_ms, self.id)
    }

    pub fn from_sort_key(key: &str) -> Option<Self> {
        let (ms, id) = key.split_once('#')?;
        if ms.len() != 13 || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(ListCursor {
            created_at_ms: ms.parse().ok()?,
            id: FileId::parse(id).ok()?,
        })
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sort_key())
    }

    pub fn decode(text: &str) -> Result<Self, ApiError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|key| Self::from_sort_key(&key))
            .ok_or_else(|| {
                ApiError::invalid(
                    "cursor",
                    "the cursor is not one this API gave out; start again from the first page",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_sorts_by_time() {
        let id = FileId::random();
        let c = ListCursor {
            created_at_ms: 1_700_000_000_000,
            id,
        };
        assert_eq!(ListCursor::decode(&c.encode()).unwrap(), c);
        let earlier = ListCursor {
            created_at_ms: 999_999_999_999,
            id,
        };
        assert!(earlier.sort_key() < c.sort_key());
    }

    #[test]
    fn tampered_cursors_are_rejected() {
        assert!(ListCursor::decode("!!").is_err());
        assert!(ListCursor::decode(&URL_SAFE_NO_PAD.encode("12#zz")).is_err());
    }
}
