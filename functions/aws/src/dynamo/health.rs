//! The health table: each region's last probe (the sweep's rows are in `sweep.rs`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use twinshare_api::CopyRole;
use twinshare_core::{health::RegionHealth, ports::PortError};

use super::{
    items::{health_from_item, health_name, n, s},
    DynamoMetadata, Item,
};
use crate::errors::port_error;

impl DynamoMetadata {
    pub(super) async fn put_health_item(&self, item: Item) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.health_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("PutItem health", e))?;
        Ok(())
    }

    pub(super) async fn get_health_item(&self, name: &str) -> Result<Option<Item>, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.health_table)
            .key("name", s(name))
            .send()
            .await
            .map_err(|e| port_error("GetItem health", e))?;
        Ok(answer.item().cloned())
    }

    /// Both regions' rows, as `observer` saw them, in one BatchGetItem: every download reads
    /// them, so one round trip.
    pub(super) async fn read_region_health(
        &self,
        observer: &str,
        regions: [(CopyRole, &str); 2],
    ) -> Result<Vec<RegionHealth>, PortError> {
        let keys = KeysAndAttributes::builder()
            .set_keys(Some(
                regions
                    .iter()
                    .map(|(_, region)| HashMap::from([("name".to_owned(), s(health_name(observer, region)))]))
                    .collect(),
            ))
            .consistent_read(false)
            .build()
            .map_err(|e| PortError::Other(format!("health keys: {e}")))?;
        let answer = self
            .client
            .batch_get_item()
            .request_items(&self.health_table, keys)
            .send()
            .await
            .map_err(|e| port_error("BatchGetItem health", e))?;
        let items = answer
            .responses()
            .and_then(|tables| tables.get(&self.health_table))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut all = Vec::new();
        for (role, region) in regions {
            let name = health_name(observer, region);
            if let Some(item) = items
                .iter()
                .find(|item| item.get("name").and_then(|v| v.as_s().ok()) == Some(&name))
            {
                all.push(health_from_item(observer, role, item)?);
            }
        }
        Ok(all)
    }

    pub(super) async fn write_region_health(&self, health: &RegionHealth) -> Result<(), PortError> {
        let mut item = HashMap::from([
            ("name".to_owned(), s(health_name(&health.observer, &health.region))),
            ("observer".to_owned(), s(&health.observer)),
            ("region".to_owned(), s(&health.region)),
            ("status".to_owned(), s(health.status.as_str())),
            ("checked_at_ms".to_owned(), n(health.checked_at_ms)),
            ("latency_ms".to_owned(), n(health.latency_ms)),
            ("consecutive_failures".to_owned(), n(health.consecutive_failures)),
        ]);
        if let Some(error) = &health.last_error {
            item.insert("last_error".into(), s(error));
        }
        self.put_health_item(item).await
    }
}
