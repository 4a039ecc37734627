//! Removing a file's record: its tombstone, the mark and the release of its storage charge in
//! one transaction (see the module above and `twinshare_core::removal`).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use twinshare_core::{
    ports::{MetadataStore, PortError, Written},
    record::{FileRecord, RecordState, Removal, RemovalReason, TOMBSTONE_KEEP_MS},
    FileId,
};

use super::{
    items::{n, removal_attributes, s, tombstone_id},
    DynamoMetadata, NOT_REMOVED,
};

impl DynamoMetadata {
    pub(super) async fn remove_record(&self, id: FileId, removal: Removal) -> Result<Written, PortError> {
        let abandoned = removal.reason == RemovalReason::Abandoned;
        // Again if the record changed between the read and the transaction in a way that does
        // not stop the removal (the sweep charged it meanwhile).
        let mut attempts = 0;
        let before = loop {
            attempts += 1;
            let before = match self.get(id).await? {
                None => return Ok(Written::ConditionFailed),
                Some(record) if record.removal.is_some() => return Ok(Written::Done(Box::new(record))),
                Some(record) if abandoned && record.state != RecordState::Uploading => {
                    return Ok(Written::ConditionFailed)
                }
                Some(record) => record,
            };
            if self.remove_as_read(&before, &removal).await? || attempts == 3 {
                break before;
            }
        };
        match self.get(id).await? {
            Some(mut record) if record.removal.is_some() => {
                if !record.is_index_current() {
                    self.follow(Some(&before), &mut record).await;
                }
                Ok(Written::Done(Box::new(record)))
            }
            _ => Ok(Written::ConditionFailed),
        }
    }

    /// The removal transaction for the record as read: its tombstone, the mark (only if it is
    /// still unremoved, still charged as read, and for an abandonment still uploading), and the
    /// release of its charge. False if it was cancelled.
    async fn remove_as_read(&self, before: &FileRecord, removal: &Removal) -> Result<bool, PortError> {
        let id = before.id;
        let mut tombstone = removal_attributes(removal);
        tombstone.insert("id".into(), s(tombstone_id(id)));
        // Kept as long as links should answer 410; the record itself expires only once the
        // sweep has found its bytes gone (`settle_removal`).
        tombstone.insert("expires_at".into(), n((removal.at_ms + TOMBSTONE_KEEP_MS) / 1000));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(tombstone))
            .build()
            .map_err(|e| PortError::Other(format!("tombstone: {e}")))?;
        let charge = if before.charged {
            "charged = :true"
        } else {
            "attribute_not_exists(charged)"
        };
        let mark = Update::builder()
            .table_name(&self.table)
            .key("id", s(id.to_string()))
            .update_expression(
                "SET removed_reason = :reason, removed_at_ms = :at, updated_at_ms = :at REMOVE expires_at, charged",
            )
            .expression_attribute_values(":reason", s(removal.reason.as_str()))
            .expression_attribute_values(":at", n(removal.at_ms));
        let mark = if before.charged {
            mark.expression_attribute_values(":true", AttributeValue::Bool(true))
        } else {
            mark
        };
        // An upload completed meanwhile is not abandoned: the whole transaction is refused.
        let mark = if removal.reason == RemovalReason::Abandoned {
            mark.condition_expression(format!("{NOT_REMOVED} AND {charge} AND #state = :uploading"))
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":uploading", s(RecordState::Uploading.as_str()))
        } else {
            mark.condition_expression(format!("{NOT_REMOVED} AND {charge}"))
        }
        .build()
        .map_err(|e| PortError::Other(format!("removal: {e}")))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(mark).build(),
        ];
        if before.charged {
            let release = self
                .usage_change(-(before.size as i64))
                .build()
                .map_err(|e| PortError::Other(format!("release: {e}")))?;
            items.push(TransactWriteItem::builder().update(release).build());
        }
        // Cancelled: removed, completed, charged or deleted since it was read.
        Ok(self.transact(items, "TransactWriteItems removal").await?.is_none())
    }
}
