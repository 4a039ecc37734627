//! Handler of `sweep`, generic over the ports. The event (an EventBridge schedule) carries no
//! information; the answer is what the run did.

use twinshare_core::{
    ports::{Clock, Copier, MetadataStore, ObjectStore},
    replication::Replication,
};

/// Records read per run at most. A file whose two copies are listed and verified costs no S3
/// call, so a run reads this many in about a minute; a larger table takes several runs per
/// pass (each continues where the last stopped), and the status page says how many.
pub const MAX_RECORDS_PER_RUN: usize = 100_000;

pub async fn handle<S: ObjectStore, M: MetadataStore, X: Copier, C: Clock>(
    replication: &Replication<S, M, X, C>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let report = replication.sweep(MAX_RECORDS_PER_RUN).await?;
    Ok(serde_json::json!({
        "records": report.records,
        "checked": report.checked,
        "replicas_copied": report.replicas_copied,
        "primaries_restored": report.primaries_restored,
        "failed": report.failed,
        "lost": report.lost,
        "unreachable": report.unreachable,
        "not_redundant": report.not_redundant,
        "expired": report.expired,
        "abandoned": report.abandoned,
        "removals_watched": report.removals_watched,
        "removals_settled": report.removals_settled,
        "orphans_deleted": report.orphans_deleted,
        "orphan_bytes_deleted": report.orphan_bytes_deleted,
        "pass_finished": report.pass_finished,
    }))
}

#[cfg(test)]
mod tests {
    use twinshare_core::fakes::{replication, service};

    use super::*;

    #[tokio::test]
    async fn an_empty_table_needs_nothing_and_finishes_a_pass() {
        let report = handle(&replication(&service(), 10)).await.unwrap();
        assert_eq!(report["checked"], 0);
        assert_eq!(report["replicas_copied"], 0);
        assert_eq!(report["pass_finished"], true);
    }
}
