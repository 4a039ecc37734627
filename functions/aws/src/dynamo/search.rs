//! The search index ([`twinshare_core::search`]) in a table of its own, so that the sweep's scan
//! of the files table never reads it.
//!
//! One item per (gram, public file): partition key `gram`, sort key `age_key`; the local
//! secondary indexes [`BY_NAME`] and [`BY_SIZE`] hold the same items by `name_key` and
//! `size_key`, so that every gram (the whole table is the gram `*`) reads in every order, one
//! Query per page whatever the table holds. Items carry the folded name, the uploader and the
//! expiry, which the Query filters on; every item read is then checked against its record.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use twinshare_core::{
    cursor::{ListCursor, EMPTY_PAGE_BUDGET_MS, MAX_INDEX_PAGES},
    ports::{MetadataStore, PortError, Written},
    record::FileRecord,
    search::{self, IndexEntry, SortBy},
    validate::ListQuery,
    FileId,
};

use super::{
    batch::{back_off, UNPROCESSED_RETRIES},
    is_condition_failure,
    items::{n, s},
    DynamoMetadata, Item,
};
use crate::errors::port_error;

/// The search table's index of items by folded name (see `template.yaml`).
pub const BY_NAME: &str = "by-name";
/// The search table's index of items by size.
pub const BY_SIZE: &str = "by-size";

/// Items per BatchWriteItem (DynamoDB's limit).
const WRITE_BATCH: usize = 25;
/// Index items one Query reads when the gram's items are not all matches (a long query).
const FILTERED_READ: i32 = 200;
/// A long query's trigrams tried on its first page; the one whose items run out first (or match
/// most often) is read for every page.
const MAX_PROBES: usize = 8;
/// Times the index is rewritten when the record keeps changing under it; then the sweep does.
const FOLLOW_ATTEMPTS: usize = 3;

fn entry_item(entry: &IndexEntry) -> Item {
    let mut item = HashMap::from([
        ("gram".to_owned(), s(&entry.gram)),
        ("age_key".to_owned(), s(&entry.age_key)),
        ("name_key".to_owned(), s(&entry.name_key)),
        ("size_key".to_owned(), s(&entry.size_key)),
        ("id".to_owned(), s(entry.id.to_string())),
        ("folded_name".to_owned(), s(&entry.folded_name)),
    ]);
    if let Some(uploader) = &entry.uploader_lower {
        item.insert("uploader_lower".into(), s(uploader));
    }
    if let Some(expiry) = entry.expiry_ms {
        item.insert("expiry_ms".into(), n(expiry));
    }
    item
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// The index and attribute an order reads.
fn order_of(sort: SortBy) -> (Option<&'static str>, &'static str) {
    match sort {
        SortBy::Age => (None, "age_key"),
        SortBy::Name => (Some(BY_NAME), "name_key"),
        SortBy::Size => (Some(BY_SIZE), "size_key"),
    }
}

/// One index item read: which file, and where it stands.
struct Hit {
    id: FileId,
    age_key: String,
    sort_key: String,
}

/// One Query's worth of a gram: the items that passed the filter, and where the next starts.
struct IndexPage {
    hits: Vec<Hit>,
    next: Option<Item>,
    /// Items the Query read, before its filter.
    scanned: u64,
}

/// What one page of the listing cost: logged with it, and measured by the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchCost {
    /// Queries of the search table (a long query's first page tries several grams at once).
    pub queries: u32,
    /// Index items those Queries read, before their filters.
    pub items_read: u64,
    /// BatchGetItem calls checking the items against their records, and records read.
    pub record_reads: u32,
    pub records_read: u64,
}

impl DynamoMetadata {
    /// After a write of `after` succeeded (the record was `before`): brings the search index to
    /// it and notes it current (in `after` too). A failure only leaves the index behind, which
    /// every read tolerates and the sweep repairs: it is logged, not returned.
    pub(super) async fn follow(&self, before: Option<&FileRecord>, after: &mut FileRecord) {
        match self.write_index(before, after).await {
            Ok(Written::Done(indexed)) if indexed.updated_at_ms == after.updated_at_ms => {
                after.indexed_ms = indexed.indexed_ms;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(id = %after.id, error = %err, "search index left behind; the sweep rewrites it")
            }
        }
    }

    /// Writes the index for `after`; if the record changed meanwhile, for what it became.
    pub(super) async fn write_index(
        &self,
        before: Option<&FileRecord>,
        after: &FileRecord,
    ) -> Result<Written, PortError> {
        let mut before = before.cloned();
        let mut after = after.clone();
        for _ in 0..FOLLOW_ATTEMPTS {
            let (puts, deletes) = search::changes(before.as_ref(), &after);
            let age_key = search::age_key(after.created_at_ms, after.id);
            let mut requests: Vec<WriteRequest> = Vec::with_capacity(puts.len() + deletes.len());
            for entry in &puts {
                let put = PutRequest::builder()
                    .set_item(Some(entry_item(entry)))
                    .build()
                    .map_err(|e| PortError::Other(format!("index item: {e}")))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            for gram in deletes {
                let key = HashMap::from([("gram".to_owned(), s(gram)), ("age_key".to_owned(), s(&age_key))]);
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| PortError::Other(format!("index key: {e}")))?;
                requests.push(WriteRequest::builder().delete_request(delete).build());
            }
            let batches = requests
                .chunks(WRITE_BATCH)
                .map(|batch| self.write_batch(batch.to_vec()));
            futures::future::try_join_all(batches).await?;
            // Current only if the record is still what was indexed; if a later write came in
            // between, its own follow-up may have run before these puts: index it again.
            let mark = self
                .update_record(after.id)
                .update_expression("SET indexed_ms = :version")
                .condition_expression("updated_at_ms = :version")
                .expression_attribute_values(":version", n(after.updated_at_ms));
            match mark.send().await {
                Ok(_) => {
                    after.indexed_ms = Some(after.updated_at_ms);
                    return Ok(Written::Done(Box::new(after)));
                }
                Err(err) if is_condition_failure(&err) => {}
                Err(err) => return Err(port_error("UpdateItem", err)),
            }
            let Some(current) = self.get(after.id).await? else {
                return Ok(Written::ConditionFailed);
            };
            before = Some(after);
            after = current;
        }
        Ok(Written::ConditionFailed)
    }

    /// One BatchWriteItem, retrying what DynamoDB leaves unprocessed.
    async fn write_batch(&self, mut requests: Vec<WriteRequest>) -> Result<(), PortError> {
        for retry in 0..=UNPROCESSED_RETRIES {
            if retry > 0 {
                back_off(retry).await;
            }
            let answer = self
                .client
                .batch_write_item()
                .request_items(&self.search_table, requests)
                .send()
                .await
                .map_err(|e| port_error("BatchWriteItem", e))?;
            requests = answer
                .unprocessed_items()
                .and_then(|left| left.get(&self.search_table))
                .cloned()
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
        }
        Err(PortError::Unavailable("the search table throttled the write".into()))
    }

    /// One Query of a gram's items in the query's order, from `start`.
    async fn read_index(
        &self,
        query: &ListQuery,
        gram: &str,
        start: Option<Item>,
        items: i32,
        now_ms: i64,
    ) -> Result<IndexPage, PortError> {
        let (index, sort_attribute) = order_of(query.sort);
        let mut values = HashMap::from([(":gram".to_owned(), s(gram)), (":now".to_owned(), n(now_ms))]);
        // An expired file leaves every listing the moment it expires, before any write.
        let mut filters = vec!["(attribute_not_exists(expiry_ms) OR expiry_ms > :now)"];
        if let Some(q) = query
            .search
            .as_deref()
            .filter(|q| !search::gram_is_exact(gram, Some(q)))
        {
            filters.push("contains(folded_name, :q)");
            values.insert(":q".into(), s(q));
        }
        if let Some(uploader) = &query.uploader {
            filters.push("uploader_lower = :uploader");
            values.insert(":uploader".into(), s(uploader));
        }
        let page = self
            .client
            .query()
            .table_name(&self.search_table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("gram = :gram")
            .filter_expression(filters.join(" AND "))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!query.descending)
            // Local indexes, unlike global ones, can be read strongly consistent: an edit's items
            // are seen by the very next page.
            .consistent_read(true)
            .limit(items)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| port_error("Query", e))?;
        let hits = page
            .items()
            .iter()
            .filter_map(|item| {
                Some(Hit {
                    id: FileId::parse(text(item, "id")?).ok()?,
                    age_key: text(item, "age_key")?.to_owned(),
                    sort_key: text(item, sort_attribute)?.to_owned(),
                })
            })
            .collect();
        Ok(IndexPage {
            hits,
            next: page.last_evaluated_key().cloned(),
            scanned: u64::try_from(page.scanned_count()).unwrap_or(0),
        })
    }

    /// Where a page of `gram` in the cursor's order starts (the key of the last item read).
    fn start_key(gram: &str, cursor: &ListCursor) -> Item {
        let (index, sort_attribute) = order_of(cursor.sort);
        let mut key = HashMap::from([("gram".to_owned(), s(gram)), ("age_key".to_owned(), s(&cursor.age_key))]);
        if index.is_some() {
            key.insert(sort_attribute.to_owned(), s(&cursor.sort_key));
        }
        key
    }

    /// The gram a first page reads, and what the probing already read of it. A query of up to
    /// three characters (or none) has one gram whose items are exactly its matches; a longer
    /// one tries up to [`MAX_PROBES`] of its trigrams at once, the same number of items each,
    /// and keeps one whose items ran out (all its matches are read), or else the one whose
    /// items reached furthest in the order: the sparsest, so the fewest to read per match.
    async fn choose_gram(
        &self,
        query: &ListQuery,
        now_ms: i64,
        cost: &mut SearchCost,
    ) -> Result<(String, Option<IndexPage>), PortError> {
        let grams = search::query_grams(query.search.as_deref().unwrap_or(""));
        if grams.len() == 1 {
            return Ok((grams[0].clone(), None));
        }
        // Spread over the query: neighbouring trigrams share two characters.
        let step = grams.len().div_ceil(MAX_PROBES);
        let probed: Vec<&String> = grams.iter().step_by(step).collect();
        let probes = probed
            .iter()
            .map(|gram| self.read_index(query, gram, None, FILTERED_READ, now_ms));
        let pages = futures::future::try_join_all(probes).await?;
        cost.queries += pages.len() as u32;
        cost.items_read += pages.iter().map(|p| p.scanned).sum::<u64>();
        let (_, sort_attribute) = order_of(query.sort);
        let reached = |page: &IndexPage| {
            page.next
                .as_ref()
                .and_then(|key| text(key, sort_attribute))
                .map(str::to_owned)
        };
        let best = (0..pages.len())
            .min_by(|&a, &b| match (reached(&pages[a]), reached(&pages[b])) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                // Descending, the furthest reached is the smallest key; ascending, the largest.
                (Some(x), Some(y)) if query.descending => x.cmp(&y),
                (Some(x), Some(y)) => y.cmp(&x),
            })
            .unwrap_or(0);
        let page = pages.into_iter().nth(best);
        Ok((probed[best].clone(), page))
    }

    /// A page of the public listing through the search index: every match, in the query's
    /// order. Each item read is checked against its record (read strongly consistent), so an
    /// item the index still holds for a renamed, unlisted or removed file is skipped.
    pub async fn search_page(&self, query: &ListQuery, now_ms: i64) -> Result<SearchPage, PortError> {
        let mut cost = SearchCost::default();
        let (records, next) = self.read_search_page(query, now_ms, &mut cost).await?;
        tracing::debug!(?cost, files = records.len(), "listing page");
        Ok(SearchPage { records, next, cost })
    }

    async fn read_search_page(
        &self,
        query: &ListQuery,
        now_ms: i64,
        cost: &mut SearchCost,
    ) -> Result<(Vec<FileRecord>, Option<ListCursor>), PortError> {
        let limit = query.limit as usize;
        let (gram, mut first) = match &query.after {
            Some(cursor) => (cursor.gram.clone().unwrap_or_else(|| search::ALL.to_owned()), None),
            None => self.choose_gram(query, now_ms, cost).await?,
        };
        let exact = search::gram_is_exact(&gram, query.search.as_deref());
        // Items that all match need one more than the page; a filtered read takes more at once.
        let items = if exact {
            i32::try_from(limit + 1).unwrap_or(i32::MAX)
        } else {
            FILTERED_READ
        };
        let mut start = query.after.as_ref().map(|cursor| Self::start_key(&gram, cursor));
        let mut found: Vec<(Hit, FileRecord)> = Vec::new();
        let started = std::time::Instant::now();
        let budget = std::time::Duration::from_millis(EMPTY_PAGE_BUDGET_MS);
        for read in 0.. {
            if read >= MAX_INDEX_PAGES && !(found.is_empty() && started.elapsed() < budget) {
                break;
            }
            let page = match first.take() {
                Some(page) => page,
                None => {
                    let page = self.read_index(query, &gram, start.take(), items, now_ms).await?;
                    cost.queries += 1;
                    cost.items_read += page.scanned;
                    page
                }
            };
            // Checked in order, only as many as the page still needs (and one to know that
            // another page exists), so a page of 25 reads about 26 records, not 200.
            let mut hits = page.hits.into_iter().peekable();
            while hits.peek().is_some() {
                let wanted = limit + 1 - found.len();
                let chunk: Vec<Hit> = hits.by_ref().take(wanted).collect();
                let ids: Vec<FileId> = chunk.iter().map(|hit| hit.id).collect();
                cost.record_reads += ids.len().div_ceil(100) as u32;
                cost.records_read += ids.len() as u64;
                let mut records: HashMap<FileId, FileRecord> =
                    self.read_many(&ids).await?.into_iter().map(|r| (r.id, r)).collect();
                for hit in chunk {
                    if let Some(record) = records.remove(&hit.id).filter(|r| search::matches(r, query, now_ms)) {
                        found.push((hit, record));
                    }
                }
                if found.len() > limit {
                    found.truncate(limit);
                    let cursor = found
                        .last()
                        .map(|(hit, _)| cursor_at(query, &gram, &hit.age_key, &hit.sort_key));
                    return Ok((found.into_iter().map(|(_, r)| r).collect(), cursor));
                }
            }
            match page.next {
                Some(next) => start = Some(next),
                None => return Ok((found.into_iter().map(|(_, r)| r).collect(), None)),
            }
        }
        // The most index pages one request may read, not filled: go on from there next time.
        let (_, sort_attribute) = order_of(query.sort);
        let resume = start.as_ref().and_then(|key| {
            Some(cursor_at(
                query,
                &gram,
                text(key, "age_key")?,
                text(key, sort_attribute)?,
            ))
        });
        Ok((found.into_iter().map(|(_, r)| r).collect(), resume))
    }
}

/// A page of the listing, and what reading it cost.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub records: Vec<FileRecord>,
    pub next: Option<ListCursor>,
    pub cost: SearchCost,
}

fn cursor_at(query: &ListQuery, gram: &str, age_key: &str, sort_key: &str) -> ListCursor {
    ListCursor {
        sort: query.sort,
        descending: query.descending,
        gram: Some(gram.to_owned()),
        age_key: age_key.to_owned(),
        sort_key: sort_key.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    #[test]
    fn an_entry_becomes_an_item_with_every_key() {
        let id = FileId::random();
        let entry = IndexEntry {
            gram: "qua".into(),
            id,
            age_key: search::age_key(1, id),
            name_key: search::name_key("Quartz", id),
            size_key: search::size_key(7, id),
            folded_name: "quartz".into(),
            uploader_lower: Some("ana".into()),
            expiry_ms: Some(9),
        };
        let item = entry_item(&entry);
        for attribute in [
            "gram",
            "age_key",
            "name_key",
            "size_key",
            "id",
            "folded_name",
            "uploader_lower",
        ] {
            assert!(item.contains_key(attribute), "{attribute}");
        }
        assert_eq!(item["expiry_ms"], AttributeValue::N("9".into()));
    }
}
