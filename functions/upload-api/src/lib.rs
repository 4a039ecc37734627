//! Handler of `upload-api`, generic over the ports so that it is tested with fakes here and with
//! the AWS adapters against moto in `integration-tests`.

use lambda_http::{Body, Request, Response};
use twinshare_core::{
    ports::{Clock, MetadataStore, ObjectStore},
    ApiError, Service,
};
use twinshare_lambda::{
    respond,
    routes::{not_served_here, route, Route},
};

pub async fn handle<S: ObjectStore, M: MetadataStore, C: Clock>(
    service: &Service<S, M, C>,
    request: Request,
) -> Response<Body> {
    respond::result(answer(service, &request).await)
}

async fn answer<S: ObjectStore, M: MetadataStore, C: Clock>(
    service: &Service<S, M, C>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    match route(request.method(), request.uri().path())? {
        Route::CreateUpload => Ok(respond::json(
            201,
            &service.create_upload(respond::json_body(request)?).await?,
        )),
        Route::CompleteUpload(id) => Ok(respond::json(200, &service.complete_upload(&id).await?)),
        Route::PartUrls(id) => Ok(respond::json(
            200,
            &service.part_urls(&id, respond::json_body(request)?).await?,
        )),
        Route::StoredParts(id) => Ok(respond::json(200, &service.stored_parts(&id).await?)),
        Route::AbortUpload(id) => {
            service.abort_upload(&id).await?;
            Ok(respond::no_content())
        }
        _ => Err(not_served_here(request.method(), request.uri().path())),
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::{CreateUploadResponse, ErrorBody, FileStatus, FileView};
    use twinshare_core::{fakes::service, FileId};
    use twinshare_lambda::testing::{at, json, with_body};

    use super::*;

    #[tokio::test]
    async fn serves_exactly_the_routes_the_table_gives_it() {
        let svc = service();
        let function = twinshare_lambda::routes::Function::UploadApi;
        twinshare_lambda::testing::assert_serves_exactly_its_routes(function, |request| handle(&svc, request)).await;
    }

    /// The committed fixture, as `cargo lambda invoke --data-file` sends it.
    fn fixture(name: &str) -> Request {
        twinshare_lambda::testing::fixture(env!("CARGO_MANIFEST_DIR"), name)
    }

    #[tokio::test]
    async fn the_create_fixture_announces_an_upload() {
        let svc = service();
        let response = handle(&svc, fixture("create-upload.json")).await;
        assert_eq!(response.status(), 201);
        let created: CreateUploadResponse = json(&response);
        assert_eq!(created.file.status, FileStatus::Uploading);
        assert_eq!(svc.metadata.len(), 1);
    }

    #[tokio::test]
    async fn malformed_bodies_are_400_and_leave_nothing() {
        let svc = service();
        for body in [
            "",
            "not json",
            r#"{"name":"a"}"#,
            r#"{"name":"a","size":-1,"sha256":"x"}"#,
            r#"{"name":"a","size":1,"sha256":"x","extra":1}"#,
        ] {
            let response = handle(&svc, with_body(fixture("create-upload.json"), body)).await;
            assert_eq!(response.status(), 400, "{body}");
            assert_eq!(json::<ErrorBody>(&response).error, "malformed_body");
        }
        let response = handle(
            &svc,
            with_body(fixture("create-upload.json"), r#"{"name":"a","size":0,"sha256":"x"}"#),
        )
        .await;
        assert_eq!(response.status(), 400);
        assert_eq!(json::<ErrorBody>(&response).error, "invalid_request");
        assert_eq!(svc.metadata.len(), 0);
    }

    #[tokio::test]
    async fn complete_fixture_on_an_unknown_id_is_404_and_then_works_once_uploaded() {
        let svc = service();
        let response = handle(&svc, fixture("complete-upload.json")).await;
        assert_eq!(response.status(), 404);
        assert_eq!(json::<ErrorBody>(&response).error, "file_not_found");

        let created: CreateUploadResponse = json(&handle(&svc, fixture("create-upload.json")).await);
        let complete = || {
            at(
                fixture("complete-upload.json"),
                &format!("/api/uploads/{}/complete", created.file.id),
            )
        };
        let response = handle(&svc, complete()).await;
        assert_eq!(response.status(), 409);
        assert_eq!(json::<ErrorBody>(&response).error, "upload_missing");

        let key = FileId::parse(&created.file.id).unwrap().object_key();
        svc.primary.put(&key, &vec![0u8; created.file.size as usize]);
        let response = handle(&svc, complete()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(json::<FileView>(&response).status, FileStatus::Available);
    }

    #[tokio::test]
    async fn the_multipart_fixtures_sign_parts_list_them_and_abort() {
        let svc = service();
        for name in ["part-urls.json", "list-parts.json", "abort-upload.json"] {
            let response = handle(&svc, fixture(name)).await;
            assert_eq!(response.status(), 404, "{name} on an unknown id");
        }
        let response = handle(&svc, fixture("create-multipart-upload.json")).await;
        assert_eq!(response.status(), 201);
        let created: CreateUploadResponse = json(&response);
        let twinshare_api::UploadPlan::Multipart(plan) = created.upload else {
            panic!("{:?}", created.upload)
        };
        assert_eq!(plan.part_count, 384);
        let for_upload =
            |name: &str, suffix: &str| at(fixture(name), &format!("/api/uploads/{}{suffix}", created.file.id));

        let response = handle(&svc, for_upload("part-urls.json", "/parts")).await;
        assert_eq!(response.status(), 200);
        let urls: twinshare_api::PartUrls = json(&response);
        assert_eq!(urls.parts.len(), 2);
        let response = handle(&svc, for_upload("list-parts.json", "/parts")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(json::<twinshare_api::StoredParts>(&response).parts, []);

        let response = handle(&svc, for_upload("abort-upload.json", "")).await;
        assert_eq!(response.status(), 204);
        assert_eq!(svc.primary.open_uploads(), 0);
        let response = handle(&svc, for_upload("list-parts.json", "/parts")).await;
        assert_eq!(response.status(), 404);
    }

    #[tokio::test]
    async fn bad_part_requests_are_400() {
        let svc = service();
        let created: CreateUploadResponse = json(&handle(&svc, fixture("create-multipart-upload.json")).await);
        let parts = at(
            fixture("part-urls.json"),
            &format!("/api/uploads/{}/parts", created.file.id),
        );
        for (body, code) in [
            (r#"{"parts":[]}"#, "invalid_request"),
            (
                r#"{"parts":[{"number":385,"sha256":"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="}]}"#,
                "invalid_request",
            ),
            (r#"{"parts":[{"number":1,"sha256":"short"}]}"#, "invalid_request"),
            (r#"{"parts":[{"number":-1,"sha256":"x"}]}"#, "malformed_body"),
            (r#"{"part":[]}"#, "malformed_body"),
        ] {
            let response = handle(&svc, with_body(parts.clone(), body)).await;
            assert_eq!(response.status(), 400, "{body}");
            assert_eq!(json::<ErrorBody>(&response).error, code, "{body}");
        }
        // A single-PUT upload has no parts.
        let single: CreateUploadResponse = json(&handle(&svc, fixture("create-upload.json")).await);
        let response = handle(
            &svc,
            at(
                fixture("list-parts.json"),
                &format!("/api/uploads/{}/parts", single.file.id),
            ),
        )
        .await;
        assert_eq!(response.status(), 409);
        assert_eq!(json::<ErrorBody>(&response).error, "not_multipart");
    }

    #[tokio::test]
    async fn routes_of_other_functions_are_404() {
        let response = handle(&service(), at(fixture("create-upload.json"), "/api/files")).await;
        assert_eq!(response.status(), 404);
    }

    #[tokio::test]
    async fn storage_outage_is_503_with_retry_after() {
        let svc = service();
        svc.primary.fail_next("connection refused");
        let response = handle(&svc, fixture("create-upload.json")).await;
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
    }
}
