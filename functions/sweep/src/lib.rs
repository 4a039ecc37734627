//! Handler of `sweep`, generic over the ports. The event (an EventBridge schedule) carries no
//! information; the answer is what the sweep did.

use twinshare_core::{
    ports::{Clock, Copier, MetadataStore, ObjectStore},
    replication::Replication,
};

/// Records read per run at most, so a run ends well within the function's timeout; the next
/// run starts over.
pub const MAX_RECORDS_PER_RUN: usize = 10_000;

pub async fn handle<S: ObjectStore, M: MetadataStore, X: Copier, C: Clock>(
    replication: &Replication<S, M, X, C>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let report = replication.sweep(MAX_RECORDS_PER_RUN).await?;
    Ok(serde_json::json!({
        "checked": report.checked,
        "replicas_copied": report.replicas_copied,
        "primaries_restored": report.primaries_restored,
        "failed": report.failed,
        "lost": report.lost,
        "unreachable": report.unreachable,
    }))
}

#[cfg(test)]
mod tests {
    use twinshare_core::fakes::{replication, service};

    use super::*;

    #[tokio::test]
    async fn an_empty_table_needs_nothing() {
        let report = handle(&replication(&service(), 10)).await.unwrap();
        assert_eq!(report["checked"], 0);
        assert_eq!(report["replicas_copied"], 0);
    }
}
