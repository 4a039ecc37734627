//! `files-api`: the public table, file details and downloads.
//! Permissions: read the table, read the primary bucket's `files/*` (to sign downloads).

use twinshare_lambda::{logging, serve, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    logging::init();
    let config = Config::from_env()?;
    let service = config.read_service(&config.sdk().await);
    serve(&service, files_api::handle).await
}
