//! `sweep`: on a schedule, checks every record in passes that continue across runs: repairs
//! copies (re-copies replicas not verified after the grace, restores a copy that disappeared
//! from the other), removes expired files and abandoned uploads, and deletes objects no live
//! record accounts for. It runs in both regions (template.yaml, infra/replica.yaml): each writes
//! only the records homed in its own region, and only the primary's audits the buckets.
//! Permissions: list both buckets and read/write/delete their `files/*`; scan, read and update
//! the table; read and write its own rows of the health table.

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
