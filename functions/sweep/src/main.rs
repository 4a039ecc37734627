//! `sweep`: on a schedule, repairs copies: re-copies replicas not verified after the grace
//! period and restores a copy that disappeared from the other one.
//! Permissions: read/write both buckets' `files/*`, scan/update the table.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use twinshare_lambda::{logging, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()?;
    let replication = config.replication(&config.sdk().await);
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        sweep::handle(&replication)
    }))
    .await
}
