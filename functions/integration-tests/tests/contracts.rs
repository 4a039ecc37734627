//! The AWS adapters against moto, held to the same port contracts as the in-memory fakes
//! (`twinshare_core::contract`; the fakes run them in `twinshare-core`'s unit tests).

use twinshare_core::{contract, ports::Presigned, ServiceSettings};

#[tokio::test]
async fn the_dynamodb_metadata_keeps_the_port_contract() {
    let stack = integration_tests::stack(ServiceSettings::default()).await;
    contract::metadata_store(&stack.operator.metadata).await;
}

#[tokio::test]
async fn the_s3_store_keeps_the_port_contract() {
    let stack = integration_tests::stack(ServiceSettings::default()).await;
    let http = stack.http.clone();
    contract::object_store(&stack.operator.primary, |presigned: Presigned, bytes| {
        let http = http.clone();
        async move {
            let mut request = http
                .request(presigned.method.parse().unwrap(), &presigned.url)
                .body(bytes);
            for (name, value) in &presigned.headers {
                request = request.header(name, value);
            }
            request.send().await.unwrap().status().is_success()
        }
    })
    .await;
}
