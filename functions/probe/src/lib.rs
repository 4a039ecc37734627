//! Handler of `probe`, generic over the ports. The answer is what was recorded.

use twinshare_core::{
    ports::{Clock, MetadataStore, ObjectStore},
    probe::Probe,
};

pub async fn handle<S: ObjectStore, M: MetadataStore, C: Clock>(
    probe: &Probe<S, M, C>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let recorded = probe.run().await?;
    let regions: Vec<serde_json::Value> = recorded
        .iter()
        .map(|h| {
            serde_json::json!({
                "region": h.region,
                "status": h.status.as_str(),
                "latency_ms": h.latency_ms,
                "consecutive_failures": h.consecutive_failures,
                "last_error": h.last_error,
            })
        })
        .collect();
    Ok(serde_json::json!({ "regions": regions }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use twinshare_api::{CopyRole, RegionStatus};
    use twinshare_core::{fakes::service, ports::MetadataStore, probe::Probe};

    use super::*;

    #[tokio::test]
    async fn a_region_is_marked_down_after_two_failed_probes_and_up_after_one_success() {
        let svc = service();
        let probe = Probe {
            primary: svc.primary.clone(),
            replica: svc.replica.clone(),
            metadata: svc.metadata.clone(),
            clock: twinshare_core::fakes::FixedClock(10),
            observer: "eu-west-1".into(),
            within: Duration::from_secs(1),
        };
        let regions = [(CopyRole::Primary, "eu-west-1"), (CopyRole::Replica, "us-west-2")];
        let status = |health: &[twinshare_core::health::RegionHealth], role| {
            health
                .iter()
                .find(|h| h.role == role)
                .map(|h| (h.status, h.consecutive_failures))
        };
        handle(&probe).await.unwrap();
        let health = svc.metadata.region_health("eu-west-1", regions).await.unwrap();
        assert_eq!(status(&health, CopyRole::Primary), Some((RegionStatus::Up, 0)));

        svc.primary.set_down(true);
        handle(&probe).await.unwrap();
        let health = svc.metadata.region_health("eu-west-1", regions).await.unwrap();
        assert_eq!(
            status(&health, CopyRole::Primary),
            Some((RegionStatus::Up, 1)),
            "one failure is not an outage"
        );
        let answer = handle(&probe).await.unwrap();
        let health = svc.metadata.region_health("eu-west-1", regions).await.unwrap();
        assert_eq!(status(&health, CopyRole::Primary), Some((RegionStatus::Down, 2)));
        assert_eq!(status(&health, CopyRole::Replica), Some((RegionStatus::Up, 0)));
        assert_eq!(answer["regions"][0]["status"], "down");

        svc.primary.set_down(false);
        handle(&probe).await.unwrap();
        let health = svc.metadata.region_health("eu-west-1", regions).await.unwrap();
        assert_eq!(status(&health, CopyRole::Primary), Some((RegionStatus::Up, 0)));
    }
}
