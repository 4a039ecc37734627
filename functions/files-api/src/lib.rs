//! Handler of `files-api`, generic over the ports so that it is tested with fakes here and with
//! the AWS adapters against moto in `integration-tests`.

use lambda_http::{Body, Request, RequestExt, Response};
use twinshare_core::{
    ports::{Clock, MetadataStore, ObjectStore},
    validate, ApiError, Service,
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
        Route::ListFiles => {
            let params = request.query_string_parameters();
            let query = validate::list_query(validate::ListParams {
                q: params.first("q"),
                uploader: params.first("uploader"),
                sort: params.first("sort"),
                order: params.first("order"),
                limit: params.first("limit"),
                cursor: params.first("cursor"),
            })?;
            Ok(respond::json(200, &service.list_files(&query).await?))
        }
        Route::GetFile(id) => Ok(respond::json(200, &service.get_file(&id).await?)),
        Route::Download(id) => {
            let password = respond::header(request, twinshare_api::PASSWORD_HEADER);
            let client = respond::client_address(request, service.settings.edge_secret.as_deref());
            let url = service.download_url(&id, password, &client).await?;
            // The site asks for JSON when it sends a password (it then follows the address
            // itself); a link or a program gets the redirect.
            Ok(match respond::wants_json(request) {
                true => respond::json(200, &twinshare_api::DownloadLink { url }),
                false => respond::redirect(&url),
            })
        }
        Route::Status => Ok(respond::json(200, &service.status().await?)),
        Route::OpenApi => Ok(respond::json(200, twinshare_lambda::openapi::document())),
        _ => Err(not_served_here(request.method(), request.uri().path())),
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::{CreateUploadRequest, ErrorBody, FileList, FileView, Visibility};
    use twinshare_core::{
        fakes::{service, FakeService},
        FileId,
    };
    use twinshare_lambda::testing::{at, json};

    use super::*;

    #[tokio::test]
    async fn serves_exactly_the_routes_the_table_gives_it() {
        let svc = service();
        let function = twinshare_lambda::routes::Function::FilesApi;
        twinshare_lambda::testing::assert_serves_exactly_its_routes(function, |request| handle(&svc, request)).await;
    }

    fn fixture(name: &str) -> Request {
        twinshare_lambda::testing::fixture(env!("CARGO_MANIFEST_DIR"), name)
    }

    /// An available file, uploaded through the service as the site would.
    async fn shared(svc: &FakeService, name: &str, visibility: Visibility) -> String {
        owned(svc, name, visibility).await.0
    }

    /// An available file and its manage token.
    async fn owned(svc: &FakeService, name: &str, visibility: Visibility) -> (String, String) {
        let request = CreateUploadRequest {
            name: name.into(),
            size: 3,
            sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into()),
            visibility,
            ..Default::default()
        };
        let created = svc.create_upload(request, &Default::default()).await.unwrap();
        let id = created.file.id;
        svc.primary.put(&FileId::parse(&id).unwrap().object_key(), b"abc");
        svc.complete_upload(&id, Some(&created.manage_token)).await.unwrap();
        (id, created.manage_token)
    }

    #[tokio::test]
    async fn serves_the_openapi_document() {
        let svc = service();
        let response = handle(&svc, fixture("openapi.json")).await;
        assert_eq!(response.status(), 200);
        let document: serde_json::Value = json(&response);
        assert_eq!(&document, twinshare_lambda::openapi::document());
        assert!(document["paths"]["/api/openapi.json"]["get"].is_object());
    }

    #[tokio::test]
    async fn a_deleted_file_answers_410_file_deleted_to_every_read() {
        let svc = service();
        let (id, token) = owned(&svc, "a.txt", Visibility::Listed).await;
        svc.delete_file(&id, Some(&token)).await.unwrap();
        for (name, path) in [
            ("get-file.json", format!("/api/files/{id}")),
            ("download.json", format!("/api/files/{id}/download")),
        ] {
            let response = handle(&svc, at(fixture(name), &path)).await;
            assert_eq!(response.status(), 410, "{name}");
            let body: ErrorBody = json(&response);
            assert_eq!(body.error, "file_deleted");
            assert!(
                !body.message.contains("a.txt"),
                "reveals nothing more: {}",
                body.message
            );
        }
        let list: FileList = json(&handle(&svc, fixture("list-files.json")).await);
        assert!(list.files.is_empty());
    }

    #[tokio::test]
    async fn the_list_fixture_lists_public_files_with_search() {
        let svc = service();
        shared(&svc, "report.pdf", Visibility::Listed).await;
        shared(&svc, "photo.jpg", Visibility::Listed).await;
        shared(&svc, "secret report.pdf", Visibility::Unlisted).await;
        shared(&svc, "Rapport (report) été.pdf", Visibility::Listed).await;
        let response = handle(&svc, fixture("list-files.json")).await;
        assert_eq!(response.status(), 200);
        let list: FileList = json(&response);
        let mut names: Vec<&str> = list.files.iter().map(|f| f.name.as_str()).collect();
        // Same size: the fixture's order (smallest first) leaves them in the order of their ids.
        names.sort();
        assert_eq!(
            names,
            ["Rapport (report) été.pdf", "report.pdf"],
            "the fixture searches for 'REPORT'"
        );
    }

    #[tokio::test]
    async fn bad_list_parameters_are_400() {
        let svc = service();
        for query in [
            "?limit=0",
            "?limit=1000",
            "?cursor=zzz",
            "?sort=date",
            "?order=up",
            &format!("?q={}", "a".repeat(200)),
        ] {
            let response = handle(&svc, at(fixture("list-files.json"), &format!("/api/files{query}"))).await;
            assert_eq!(response.status(), 400, "{query}");
            assert_eq!(json::<ErrorBody>(&response).error, "invalid_request");
        }
    }

    #[tokio::test]
    async fn get_and_download_by_id() {
        let svc = service();
        let id = shared(&svc, "a b.txt", Visibility::Unlisted).await;
        let response = handle(&svc, at(fixture("get-file.json"), &format!("/api/files/{id}"))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(json::<FileView>(&response).name, "a b.txt");

        let response = handle(&svc, at(fixture("download.json"), &format!("/api/files/{id}/download"))).await;
        assert_eq!(response.status(), 302);
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.contains(&format!("files/{id}")) && location.contains("attachment"),
            "{location}"
        );
    }

    #[tokio::test]
    async fn a_protected_file_needs_its_password_in_a_header_and_answers_json_to_the_site() {
        let svc = service();
        let request = CreateUploadRequest {
            name: "secret.txt".into(),
            size: 3,
            sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into()),
            password: Some("open sesame".into()),
            ..Default::default()
        };
        let created = svc.create_upload(request, &Default::default()).await.unwrap();
        let id = created.file.id;
        svc.primary.put(&FileId::parse(&id).unwrap().object_key(), b"abc");
        svc.complete_upload(&id, Some(&created.manage_token)).await.unwrap();
        let download = || at(fixture("download.json"), &format!("/api/files/{id}/download"));
        let response = handle(&svc, download()).await;
        assert_eq!(response.status(), 401);
        assert_eq!(json::<ErrorBody>(&response).error, "password_required");
        let with_password = |password: &str| {
            let mut request = download();
            let headers = request.headers_mut();
            headers.insert(twinshare_api::PASSWORD_HEADER, password.parse().unwrap());
            headers.insert("accept", "application/json".parse().unwrap());
            request
        };
        let response = handle(&svc, with_password("open says me")).await;
        assert_eq!(response.status(), 403);
        assert_eq!(json::<ErrorBody>(&response).error, "password_wrong");
        let response = handle(&svc, with_password("open sesame")).await;
        assert_eq!(response.status(), 200);
        let link: twinshare_api::DownloadLink = json(&response);
        assert!(link.url.contains(&format!("files/{id}")), "{}", link.url);
    }

    #[tokio::test]
    async fn a_route_that_does_not_exist_answers_the_api_json_error() {
        // API Gateway's $default route sends every unmatched request here (template.yaml).
        let response = handle(&service(), fixture("no-such-route.json")).await;
        assert_eq!(response.status(), 404);
        let error: ErrorBody = json(&response);
        assert_eq!(error.error, "route_not_found");
        assert!(error.message.contains("PUT /api/no-such-route"), "{}", error.message);
    }

    #[tokio::test]
    async fn fixtures_for_unknown_and_malformed_ids() {
        let svc = service();
        assert_eq!(handle(&svc, fixture("get-file.json")).await.status(), 404);
        assert_eq!(handle(&svc, fixture("download.json")).await.status(), 404);
        assert_eq!(
            handle(&svc, at(fixture("get-file.json"), "/api/files/..%2F..%2Fetc"))
                .await
                .status(),
            400
        );
    }
}
