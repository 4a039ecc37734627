//! A request for a page of the public table: search text, uploader, order, page size, cursor.

use twinshare_api::limits;

use super::{disguising_character, uploader};
use crate::{
    cursor::ListCursor,
    search::{self, SortBy},
    ApiError,
};

/// A request for a page of the public table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// Folded text (see [`crate::search::fold`]) the file name must contain.
    pub search: Option<String>,
    /// Lowercased uploader name the file must have.
    pub uploader: Option<String>,
    pub sort: SortBy,
    /// Largest, newest or Z first.
    pub descending: bool,
    pub limit: u32,
    pub after: Option<ListCursor>,
}

/// The query-string values of a list request, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListParams<'a> {
    pub q: Option<&'a str>,
    pub uploader: Option<&'a str>,
    pub sort: Option<&'a str>,
    pub order: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

/// Builds a [`ListQuery`] from the raw query-string values.
pub fn list_query(params: ListParams<'_>) -> Result<ListQuery, ApiError> {
    let search = match params.q.map(str::trim).filter(|s| !s.is_empty()) {
        Some(q) if q.chars().count() > limits::MAX_SEARCH_CHARS => {
            return Err(ApiError::invalid(
                "q",
                format!("search text has at most {} characters", limits::MAX_SEARCH_CHARS),
            ))
        }
        Some(q) if disguising_character(q).is_some() => {
            return Err(ApiError::invalid(
                "q",
                "search text cannot contain control or invisible formatting characters",
            ))
        }
        // Text that folds to nothing (only accents) matches every name, as no text does.
        Some(q) => Some(search::fold(q)).filter(|f| !f.is_empty()),
        None => None,
    };
    let uploader = uploader(params.uploader)?.map(|u| u.to_lowercase());
    let sort = match params.sort.filter(|s| !s.is_empty()) {
        None => SortBy::default(),
        Some(text) => {
            SortBy::parse(text).ok_or_else(|| ApiError::invalid("sort", "sort is one of age, name or size"))?
        }
    };
    let descending = match params.order.filter(|s| !s.is_empty()) {
        None => sort.default_descending(),
        Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(ApiError::invalid("order", "order is asc or desc")),
    };
    let limit = match params.limit {
        None => limits::DEFAULT_PAGE_SIZE,
        // An empty `limit=` is refused like any other non-number: the contract says integer.
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=limits::MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("limit is a whole number from 1 to {}", limits::MAX_PAGE_SIZE),
                ))
            }
        },
    };
    let after = match params.cursor.filter(|c| !c.is_empty()) {
        Some(text) => Some(ListCursor::decode(text)?),
        None => None,
    };
    if after
        .as_ref()
        .is_some_and(|c| c.sort != sort || c.descending != descending)
    {
        return Err(ApiError::invalid(
            "cursor",
            "the cursor belongs to another sort order; start again from the first page",
        ));
    }
    Ok(ListQuery {
        search,
        uploader,
        sort,
        descending,
        limit,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: ApiError) -> &'static str {
        match err {
            ApiError::Invalid { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn list_query_limits() {
        let params = |q, limit, cursor| ListParams {
            q,
            limit,
            cursor,
            ..Default::default()
        };
        let q = list_query(ListParams {
            q: Some(" Rapport Été "),
            uploader: Some("Alice"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.search.as_deref(), Some("rapport ete"));
        assert_eq!(q.uploader.as_deref(), Some("alice"));
        assert_eq!(q.limit, limits::DEFAULT_PAGE_SIZE);
        assert_eq!((q.sort, q.descending), (SortBy::Age, true), "newest first");
        for bad in ["", "0", "101", "-1", "ten"] {
            assert_eq!(
                field_of(list_query(params(None, Some(bad), None)).unwrap_err()),
                "limit"
            );
        }
        let long = "q".repeat(101);
        assert_eq!(field_of(list_query(params(Some(&long), None, None)).unwrap_err()), "q");
        assert_eq!(
            field_of(list_query(params(None, None, Some("garbage"))).unwrap_err()),
            "cursor"
        );
    }

    #[test]
    fn sort_and_order_are_checked_and_default_to_what_people_expect() {
        let sorted = |sort, order| {
            list_query(ListParams {
                sort,
                order,
                ..Default::default()
            })
        };
        let by = |sort, order| sorted(sort, order).map(|q| (q.sort, q.descending)).unwrap();
        assert_eq!(by(Some("name"), None), (SortBy::Name, false), "A to Z");
        assert_eq!(by(Some("size"), None), (SortBy::Size, true), "largest first");
        assert_eq!(by(Some("age"), Some("asc")), (SortBy::Age, false));
        assert_eq!(field_of(sorted(Some("date"), None).unwrap_err()), "sort");
        assert_eq!(field_of(sorted(None, Some("up")).unwrap_err()), "order");
        let id = crate::FileId::random();
        let cursor = ListCursor {
            sort: SortBy::Size,
            descending: true,
            gram: None,
            age_key: search::age_key(1_700_000_000_000, id),
            sort_key: search::size_key(42, id),
        }
        .encode();
        let err = list_query(ListParams {
            sort: Some("name"),
            cursor: Some(&cursor),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(field_of(err), "cursor", "a cursor of another order");
    }
}
