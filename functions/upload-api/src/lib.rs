//! Handler of `upload-api`, generic over the ports so that it is tested with fakes here and with
//! the AWS adapters against moto in `integration-tests`.

use lambda_http::{Body, Request, Response};
use twinshare_core::{
    ports::{Clock, MetadataStore, ObjectStore},
    ApiError, Service, Uploader,
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
    let token = respond::manage_token(request);
    let address = respond::client_address(request, service.settings.edge_secret.as_deref());
    let uploader = Uploader {
        code: respond::header(request, "x-upload-code"),
        address: &address,
    };
    match route(request.method(), request.uri().path())? {
        Route::CreateUpload => Ok(respond::json(
            201,
            &service.create_upload(respond::json_body(request)?, &uploader).await?,
        )),
        Route::CompleteUpload(id) => Ok(respond::json(200, &service.complete_upload(&id, token).await?)),
        Route::PartUrls(id) => Ok(respond::json(
            200,
            &service.part_urls(&id, token, respond::json_body(request)?).await?,
        )),
        Route::StoredParts(id) => Ok(respond::json(200, &service.stored_parts(&id, token).await?)),
        Route::AbortUpload(id) => {
            service.abort_upload(&id, token).await?;
            Ok(respond::no_content())
        }
        Route::EditFile(id) => Ok(respond::json(
            200,
            &service.edit_file(&id, token, respond::json_body(request)?).await?,
        )),
        Route::DeleteFile(id) => {
            service.delete_file(&id, token).await?;
            Ok(respond::no_content())
        }
        _ => Err(not_served_here(request.method(), request.uri().path())),
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::{CreateUploadResponse, ErrorBody, FileStatus, FileView};
    use twinshare_core::{fakes::service, FileId};
    use twinshare_lambda::testing::{at, json, with_body, with_token};

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
    async fn the_create_fixture_carries_the_local_upload_code_and_without_it_is_401() {
        let svc = twinshare_core::fakes::FakeService {
            settings: twinshare_core::ServiceSettings {
                upload_access: twinshare_core::access::UploadAccess::Code {
                    hash: twinshare_core::password::hash("twinshare-local-code").unwrap(),
                },
                ..Default::default()
            },
            ..service()
        };
        assert_eq!(handle(&svc, fixture("create-upload.json")).await.status(), 201);
        let mut without = fixture("create-upload.json");
        without.headers_mut().remove("x-upload-code");
        let response = handle(&svc, without).await;
        assert_eq!(response.status(), 401);
        assert_eq!(json::<ErrorBody>(&response).error, "upload_code_required");
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
            let request = at(
                fixture("complete-upload.json"),
                &format!("/api/uploads/{}/complete", created.file.id),
            );
            with_token(request, Some(&created.manage_token))
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
        let for_upload = |name: &str, suffix: &str| {
            let request = at(fixture(name), &format!("/api/uploads/{}{suffix}", created.file.id));
            with_token(request, Some(&created.manage_token))
        };

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
        assert_eq!(response.status(), 410);
        assert_eq!(json::<ErrorBody>(&response).error, "upload_gone");
    }

    #[tokio::test]
    async fn bad_part_requests_are_400() {
        let svc = service();
        let created: CreateUploadResponse = json(&handle(&svc, fixture("create-multipart-upload.json")).await);
        let parts = with_token(
            at(
                fixture("part-urls.json"),
                &format!("/api/uploads/{}/parts", created.file.id),
            ),
            Some(&created.manage_token),
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
        let list = at(
            fixture("list-parts.json"),
            &format!("/api/uploads/{}/parts", single.file.id),
        );
        let response = handle(&svc, with_token(list, Some(&single.manage_token))).await;
        assert_eq!(response.status(), 409);
        assert_eq!(json::<ErrorBody>(&response).error, "not_multipart");
    }

    /// A shared file (available), through the handler as the site does it: its id and token.
    async fn shared(svc: &twinshare_core::fakes::FakeService) -> (String, String) {
        let created: CreateUploadResponse = json(&handle(svc, fixture("create-upload.json")).await);
        let key = FileId::parse(&created.file.id).unwrap().object_key();
        svc.primary.put(&key, &vec![0u8; created.file.size as usize]);
        let complete = at(
            fixture("complete-upload.json"),
            &format!("/api/uploads/{}/complete", created.file.id),
        );
        let response = handle(svc, with_token(complete, Some(&created.manage_token))).await;
        assert_eq!(response.status(), 200);
        (created.file.id, created.manage_token)
    }

    #[tokio::test]
    async fn owner_calls_without_the_token_are_401_and_with_a_wrong_one_403() {
        let svc = service();
        let (id, _) = shared(&svc).await;
        let calls = [
            ("complete-upload.json", format!("/api/uploads/{id}/complete")),
            ("abort-upload.json", format!("/api/uploads/{id}")),
            ("list-parts.json", format!("/api/uploads/{id}/parts")),
            ("part-urls.json", format!("/api/uploads/{id}/parts")),
            ("edit-file.json", format!("/api/manage/{id}")),
            ("delete-file.json", format!("/api/manage/{id}")),
        ];
        for (name, path) in &calls {
            let response = handle(&svc, with_token(at(fixture(name), path), None)).await;
            assert_eq!(response.status(), 401, "{name}");
            assert_eq!(json::<ErrorBody>(&response).error, "manage_token_required");
            let response = handle(&svc, at(fixture(name), path)).await;
            assert_eq!(response.status(), 403, "{name} with the fixture's token");
            let body: ErrorBody = json(&response);
            assert_eq!(body.error, "manage_token_invalid");
            assert!(!body.message.contains(&id), "{}", body.message);
        }
    }

    #[tokio::test]
    async fn the_owner_edits_then_deletes_and_deleting_again_answers_the_same() {
        let svc = service();
        let (id, token) = shared(&svc).await;
        let edit = with_token(
            at(fixture("edit-file.json"), &format!("/api/manage/{id}")),
            Some(&token),
        );
        let response = handle(&svc, edit.clone()).await;
        assert_eq!(response.status(), 200);
        let edited: FileView = json(&response);
        assert_eq!(edited.name, "renamed.txt");
        assert_eq!(edited.max_downloads, Some(3));
        for (body, code) in [
            ("{}", "invalid_request"),
            (r#"{"max_downloads":0}"#, "invalid_request"),
            (r#"{"expires_in_secs":999999999}"#, "invalid_request"),
            (r#"{"colour":"red"}"#, "malformed_body"),
        ] {
            let response = handle(&svc, with_body(edit.clone(), body)).await;
            assert_eq!(response.status(), 400, "{body}");
            assert_eq!(json::<ErrorBody>(&response).error, code, "{body}");
        }
        let delete = with_token(
            at(fixture("delete-file.json"), &format!("/api/manage/{id}")),
            Some(&token),
        );
        for _ in 0..2 {
            assert_eq!(handle(&svc, delete.clone()).await.status(), 204);
        }
        let response = handle(&svc, edit).await;
        assert_eq!(response.status(), 410);
        assert_eq!(json::<ErrorBody>(&response).error, "file_deleted");
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
