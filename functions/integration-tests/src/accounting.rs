//! What the storage-accounting tests compare: the keys each bucket holds, the keys the live
//! records name, and the sweep at a chosen time (the abandoned-upload and orphan windows are
//! measured from the clock).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::{stream, StreamExt};
use twinshare_api::CopyRole;
use twinshare_aws::{DynamoMetadata, S3Copier, S3ObjectStore};
use twinshare_core::{fakes::FixedClock, ports::MetadataStore, replication::Replication, FileId};
use twinshare_lambda::LiveReplication;

use crate::{Stack, BUCKET, REPLICA_BUCKET, TABLE};

/// BatchWriteItem calls in flight while seeding.
const SEEDING: usize = 4;

/// The sweep function's adapters with a clock that says `now_ms`.
pub type SweepAt = Replication<S3ObjectStore, DynamoMetadata, S3Copier, FixedClock>;

/// `sweep`'s adapters with a clock that says `now_ms`.
fn at(sweep: &LiveReplication, now_ms: i64) -> SweepAt {
    Replication {
        region: sweep.region,
        primary: sweep.primary.clone(),
        replica: sweep.replica.clone(),
        metadata: sweep.metadata.clone(),
        copier: sweep.copier.clone(),
        clock: FixedClock(now_ms),
        grace: sweep.grace,
        upload_url_ttl: sweep.upload_url_ttl,
    }
}

impl Stack {
    /// The sweep, signing as the sweep function, at `now_ms`.
    pub fn sweep_at(&self, now_ms: i64) -> SweepAt {
        at(&self.sweep, now_ms)
    }

    /// The second region's sweep (`sweep@us-west-2`), at `now_ms`.
    pub fn second_region_sweep_at(&self, now_ms: i64) -> SweepAt {
        at(&self.second().sweep, now_ms)
    }

    /// Every key under `files/` in a bucket, listed with the SDK.
    pub async fn bucket_keys(&self, role: CopyRole) -> BTreeSet<String> {
        let (client, bucket) = match role {
            CopyRole::Primary => (&self.primary_s3, BUCKET),
            CopyRole::Replica => (&self.replica_s3, REPLICA_BUCKET),
        };
        let mut keys = BTreeSet::new();
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix("files/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            keys.extend(
                page.unwrap()
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys
    }

    /// The object keys of the records that are not removed, read from the whole table.
    pub async fn live_keys(&self) -> BTreeSet<String> {
        let metadata = &self.operator.metadata;
        let mut keys = BTreeSet::new();
        let mut after = None;
        loop {
            let (page, next) = metadata.scan(after, 1_000).await.unwrap();
            keys.extend(
                page.iter()
                    .filter(|r| r.removal.is_none())
                    .map(|r| r.object_key.as_str().to_owned()),
            );
            match next {
                Some(next) => after = Some(next),
                None => return keys,
            }
        }
    }

    /// Writes `count` records straight into the table (BatchWriteItem, 25 a call, as a restore
    /// would), each a copy of the record of `template` under a new id. Each names its own object
    /// (`files/<id>`, not written) or, with `same_object`, the template's. Returns the new ids.
    pub async fn seed_records(&self, template: &str, count: usize, same_object: bool) -> Vec<String> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(TABLE)
            .key("id", AttributeValue::S(template.to_owned()))
            .send()
            .await
            .unwrap()
            .item()
            .expect("the template record")
            .clone();
        let ids: Vec<String> = (0..count).map(|_| FileId::random().to_string()).collect();
        let items = ids
            .iter()
            .map(|id| {
                let mut record = item.clone();
                record.insert("id".into(), AttributeValue::S(id.clone()));
                if !same_object {
                    record.insert("object_key".into(), AttributeValue::S(format!("files/{id}")));
                }
                record
            })
            .collect();
        self.put_items(items).await;
        ids
    }

    /// Writes items into the files table as they are, 25 per BatchWriteItem, a few calls at a
    /// time, retrying what DynamoDB leaves unprocessed.
    pub async fn put_items(&self, items: Vec<HashMap<String, AttributeValue>>) {
        let batches: Vec<Vec<WriteRequest>> = items
            .chunks(25)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|item| {
                        let put = PutRequest::builder().set_item(Some(item.clone())).build().unwrap();
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect()
            })
            .collect();
        stream::iter(batches)
            .for_each_concurrent(SEEDING, |mut batch| async move {
                while !batch.is_empty() {
                    let answer = self
                        .dynamodb
                        .batch_write_item()
                        .request_items(TABLE, batch)
                        .send()
                        .await
                        .unwrap();
                    batch = answer
                        .unprocessed_items()
                        .and_then(|left| left.get(TABLE))
                        .cloned()
                        .unwrap_or_default();
                }
            })
            .await;
    }
}
