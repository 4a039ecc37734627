//! `replicate`: copies each new primary object to the replica bucket. Triggered by the SQS queue
//! that receives the primary bucket's ObjectCreated notifications (ReportBatchItemFailures).
//! Permissions: read the primary bucket, write the replica bucket, read/update the table.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use twinshare_lambda::{logging, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()?;
    let replication = config.replication(&config.sdk().await);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let replication = &replication;
        async move { Ok::<_, Error>(replicate::handle(replication, event.payload).await) }
    }))
    .await
}
