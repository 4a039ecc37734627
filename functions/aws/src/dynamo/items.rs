//! A file record and a region's health as DynamoDB items, and back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use twinshare_api::{CopyRole, CopyState, MultipartPlan, RegionStatus, Visibility};
use twinshare_core::{
    health::RegionHealth,
    ports::PortError,
    record::{FileRecord, MultipartUpload, RecordState, Removal, RemovalReason, StoredCopy},
    FileId, ObjectKey,
};

use super::Item;

/// The health table's row of the last complete sweep pass, and of the pass in progress.
pub(super) const SUMMARY: &str = "replication-summary";
pub(super) const SWEEP_PASS: &str = "sweep-pass";
pub(super) const SECOND_REGION_SWEEP_PASS: &str = "sweep-pass#second-region";

/// The row of what `observer`'s probe saw of `region` (see [`RegionHealth`]).
pub(super) fn health_name(observer: &str, region: &str) -> String {
    format!("health#{observer}#{region}")
}

pub(super) fn health_from_item(observer: &str, role: CopyRole, item: &Item) -> Result<RegionHealth, PortError> {
    let status = RegionStatus::parse(get_s(item, "status")?).unwrap_or(RegionStatus::Unknown);
    Ok(RegionHealth {
        observer: observer.to_owned(),
        role,
        region: get_s(item, "region")?.to_owned(),
        status,
        checked_at_ms: get_n(item, "checked_at_ms")?,
        latency_ms: get_n(item, "latency_ms")?,
        consecutive_failures: get_n(item, "consecutive_failures")?,
        last_error: item.get("last_error").and_then(|v| v.as_s().ok()).cloned(),
    })
}

pub(super) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub(super) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

pub(super) fn to_item(record: &FileRecord) -> Item {
    let copies: Item = record
        .copies
        .iter()
        .map(|c| {
            let copy = HashMap::from([
                ("region".to_owned(), s(&c.region)),
                ("bucket".to_owned(), s(&c.bucket)),
                ("state".to_owned(), s(c.state.as_str())),
                ("updated_at_ms".to_owned(), n(c.updated_at_ms)),
            ]);
            (c.role.as_str().to_owned(), AttributeValue::M(copy))
        })
        .collect();
    let mut item = HashMap::from([
        ("id".to_owned(), s(record.id.to_string())),
        ("object_key".to_owned(), s(record.object_key.as_str())),
        ("name".to_owned(), s(&record.name)),
        ("size".to_owned(), n(record.size)),
        ("content_type".to_owned(), s(&record.content_type)),
        ("visibility".to_owned(), s(record.visibility.as_str())),
        ("state".to_owned(), s(record.state.as_str())),
        ("created_at_ms".to_owned(), n(record.created_at_ms)),
        ("updated_at_ms".to_owned(), n(record.updated_at_ms)),
        ("copies".to_owned(), AttributeValue::M(copies)),
        ("home".to_owned(), s(record.home.as_str())),
    ]);
    if let Some(sha256) = &record.sha256 {
        item.insert("sha256".into(), s(sha256));
    }
    if let Some(content_id) = &record.content_id {
        item.insert("content_id".into(), s(content_id));
    }
    if let Some(multipart) = &record.multipart {
        item.insert("multipart_upload_id".into(), s(&multipart.upload_id));
        item.insert("part_size".into(), n(multipart.plan.part_size));
        item.insert("part_count".into(), n(multipart.plan.part_count));
    }
    if let Some(uploader) = &record.uploader {
        item.insert("uploader".into(), s(uploader));
    }
    if let Some(expiry) = record.ttl_secs() {
        item.insert("expires_at".into(), n(expiry));
    }
    if let Some(hash) = &record.manage_hash {
        item.insert("manage_hash".into(), s(hash));
    }
    if let Some(expiry) = record.expiry_ms {
        item.insert("expiry_ms".into(), n(expiry));
    }
    if let Some(max) = record.max_downloads {
        item.insert("max_downloads".into(), n(max));
    }
    item.insert("downloads".into(), n(record.downloads));
    if let Some(hash) = &record.password_hash {
        item.insert("password_hash".into(), s(hash));
    }
    if let Some(indexed) = record.indexed_ms {
        item.insert("indexed_ms".into(), n(indexed));
    }
    // Absent rather than false: a record from before the quota has no such attribute either.
    if record.charged {
        item.insert("charged".into(), AttributeValue::Bool(true));
    }
    if let Some(removal) = &record.removal {
        item.extend(removal_attributes(removal));
        if let Some(gone) = removal.bytes_gone_at_ms {
            item.insert("bytes_gone_at_ms".into(), n(gone));
        }
    }
    item
}

/// The attributes that mark a record removed (the tombstone item carries the same).
pub(super) fn removal_attributes(removal: &Removal) -> Item {
    HashMap::from([
        ("removed_reason".to_owned(), s(removal.reason.as_str())),
        ("removed_at_ms".to_owned(), n(removal.at_ms)),
    ])
}

/// The removal a record or tombstone item carries, if any.
pub(super) fn removal_from_item(item: &Item) -> Result<Option<Removal>, PortError> {
    let Some(reason) = item.get("removed_reason").and_then(|v| v.as_s().ok()) else {
        return Ok(None);
    };
    Ok(Some(Removal {
        reason: RemovalReason::parse(reason).ok_or_else(|| bad("removed_reason"))?,
        at_ms: get_n(item, "removed_at_ms")?,
        bytes_gone_at_ms: opt_n(item, "bytes_gone_at_ms")?,
    }))
}

/// The key of a file's tombstone item, beside its record in the same table.
pub(super) fn tombstone_id(id: FileId) -> String {
    format!("removed#{id}")
}

pub(super) fn opt_n<T: std::str::FromStr>(item: &Item, field: &str) -> Result<Option<T>, PortError> {
    item.get(field).map(|_| get_n(item, field)).transpose()
}

pub(super) fn bad(field: &str) -> PortError {
    PortError::Other(format!("metadata item has a missing or malformed {field}"))
}

pub(super) fn get_s<'a>(item: &'a Item, field: &str) -> Result<&'a str, PortError> {
    item.get(field)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| bad(field))
}

pub(super) fn get_n<T: std::str::FromStr>(item: &Item, field: &str) -> Result<T, PortError> {
    item.get(field)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad(field))
}

pub(super) fn from_item(item: &Item) -> Result<FileRecord, PortError> {
    let id = FileId::parse(get_s(item, "id")?).map_err(|_| bad("id"))?;
    let object_key = ObjectKey::parse(get_s(item, "object_key")?).ok_or_else(|| bad("object_key"))?;
    let visibility = Visibility::parse(get_s(item, "visibility")?).ok_or_else(|| bad("visibility"))?;
    let copies_map = item
        .get("copies")
        .and_then(|v| v.as_m().ok())
        .ok_or_else(|| bad("copies"))?;
    let mut copies = Vec::new();
    for role in [CopyRole::Primary, CopyRole::Replica] {
        let Some(copy) = copies_map.get(role.as_str()).and_then(|v| v.as_m().ok()) else {
            continue;
        };
        copies.push(StoredCopy {
            role,
            region: get_s(copy, "region")?.to_owned(),
            bucket: get_s(copy, "bucket")?.to_owned(),
            state: CopyState::parse(get_s(copy, "state")?).ok_or_else(|| bad("copies.state"))?,
            updated_at_ms: get_n(copy, "updated_at_ms")?,
        });
    }
    let multipart = match item.get("multipart_upload_id").and_then(|v| v.as_s().ok()) {
        Some(upload_id) => Some(MultipartUpload {
            upload_id: upload_id.clone(),
            plan: MultipartPlan {
                part_size: get_n(item, "part_size")?,
                part_count: get_n(item, "part_count")?,
            },
        }),
        None => None,
    };
    Ok(FileRecord {
        id,
        object_key,
        name: get_s(item, "name")?.to_owned(),
        size: get_n(item, "size")?,
        content_type: get_s(item, "content_type")?.to_owned(),
        sha256: item.get("sha256").and_then(|v| v.as_s().ok()).cloned(),
        multipart,
        uploader: item.get("uploader").and_then(|v| v.as_s().ok()).cloned(),
        visibility,
        state: RecordState::parse(get_s(item, "state")?).ok_or_else(|| bad("state"))?,
        created_at_ms: get_n(item, "created_at_ms")?,
        updated_at_ms: get_n(item, "updated_at_ms")?,
        copies,
        // Records from before uploads could land in the second region are the primary's.
        home: match item.get("home").and_then(|v| v.as_s().ok()) {
            Some(home) => CopyRole::parse(home).ok_or_else(|| bad("home"))?,
            None => CopyRole::Primary,
        },
        manage_hash: item.get("manage_hash").and_then(|v| v.as_s().ok()).cloned(),
        expiry_ms: opt_n(item, "expiry_ms")?,
        max_downloads: opt_n(item, "max_downloads")?,
        downloads: opt_n(item, "downloads")?.unwrap_or(0),
        password_hash: item.get("password_hash").and_then(|v| v.as_s().ok()).cloned(),
        removal: removal_from_item(item)?,
        indexed_ms: opt_n(item, "indexed_ms")?,
        content_id: item.get("content_id").and_then(|v| v.as_s().ok()).cloned(),
        charged: item
            .get("charged")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use twinshare_core::validate::NewUpload;

    use super::*;
    use twinshare_core::record::MultipartUpload;

    fn record(visibility: Visibility, uploader: Option<&str>) -> FileRecord {
        let upload = NewUpload {
            name: "Über Report.PDF".into(),
            size: 42,
            content_type: "application/pdf".into(),
            sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into()),
            parts: None,
            uploader: uploader.map(str::to_owned),
            visibility,
            expires_in_ms: Some(3_600_000),
            max_downloads: Some(3),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        };
        let primary = twinshare_core::record::Placement {
            region: "eu-west-1",
            bucket: "primary",
        };
        let replica = twinshare_core::record::Placement {
            region: "us-west-2",
            bucket: "replica",
        };
        let hash = "cd".repeat(32);
        FileRecord::new_upload(
            FileId::random(),
            upload,
            None,
            [primary, replica],
            hash,
            1_700_000_000_000,
        )
    }

    #[test]
    fn items_round_trip() {
        let mut multipart = record(Visibility::Listed, None);
        multipart.sha256 = None;
        multipart.multipart = Some(MultipartUpload {
            upload_id: "upload-1".into(),
            plan: MultipartPlan {
                part_size: 8 << 20,
                part_count: 12,
            },
        });
        let mut removed = record(Visibility::Listed, None);
        removed.downloads = 2;
        removed.max_downloads = None;
        removed.expiry_ms = None;
        removed.removal = Some(Removal {
            reason: RemovalReason::Deleted,
            at_ms: 1_700_000_001_000,
            bytes_gone_at_ms: Some(1_700_000_002_000),
        });
        for r in [
            record(Visibility::Listed, Some("Alice")),
            record(Visibility::Unlisted, None),
            multipart,
            removed,
        ] {
            assert_eq!(from_item(&to_item(&r)).unwrap(), r);
        }
    }

    #[test]
    fn only_uploads_expire() {
        let mut r = record(Visibility::Listed, Some("Alice"));
        let item = to_item(&r);
        assert_eq!(
            item["expires_at"],
            n(1_700_000_000 + 15 * 24 * 3600),
            "a backstop long after the sweep"
        );
        r.state = RecordState::Available;
        r.indexed_ms = Some(r.updated_at_ms);
        let item = to_item(&r);
        assert!(!item.contains_key("expires_at"));
        assert_eq!(from_item(&item).unwrap(), r);
    }
}
