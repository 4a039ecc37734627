//! `probe`: every minute, writes and reads a canary object in each region's bucket and records
//! the region's health (status, last check, latency, failures in a row), which downloads and
//! uploads use to skip a region that is down.
//! Permissions: read/write both buckets' `health/*`, read/write the health table.

use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use twinshare_lambda::{logging, Config};

/// Longest a region may take for the canary round trip before the check counts as failed.
const CANARY_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()?;
    let probe = config.probe(&config.sdk().await, CANARY_TIMEOUT);
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| probe::handle(&probe))).await
}
