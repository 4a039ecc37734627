//! `upload-api`: announces uploads (signing the PUT) and completes them.
//! Permissions: write the primary bucket's `files/*`, read/write the table.

use twinshare_lambda::{logging, serve, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    logging::init();
    let config = Config::from_env()?;
    let service = config.service(&config.sdk().await);
    serve(&service, upload_api::handle).await
}
