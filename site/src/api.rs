//! Calls to twinshare's API. The API is on the site's own origin under `/api` (API Gateway
//! behind the same domain on AWS; trunk's proxy to `cargo lambda watch` locally).

use gloo_net::http::{Request, Response};
use twinshare_api::{
    CreateUploadRequest, CreateUploadResponse, ErrorBody, FileList, FileView, PartUrls, PartUrlsRequest, StatusView,
    StoredParts,
};

/// An error a person can read.
pub type ApiResult<T> = Result<T, String>;

async fn decode<T: serde::de::DeserializeOwned>(response: Response) -> ApiResult<T> {
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|e| format!("the server's answer could not be read: {e}"));
    }
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(body.message),
        Err(_) => Err(format!("the server answered {status} {}", response.status_text())),
    }
}

fn network(err: gloo_net::Error) -> String {
    format!("the server could not be reached ({err}); check your connection and try again")
}

/// POSTs `body` as JSON and reads the answer.
async fn post_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(path: &str, body: &B) -> ApiResult<T> {
    let response = Request::post(path)
        .json(body)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(network)?;
    decode(response).await
}

pub async fn create_upload(request: &CreateUploadRequest) -> ApiResult<CreateUploadResponse> {
    post_json("/api/uploads", request).await
}

pub async fn complete_upload(id: &str) -> ApiResult<FileView> {
    let response = Request::post(&format!("/api/uploads/{id}/complete"))
        .send()
        .await
        .map_err(network)?;
    decode(response).await
}

pub async fn part_urls(id: &str, request: &PartUrlsRequest) -> ApiResult<PartUrls> {
    post_json(&format!("/api/uploads/{id}/parts"), request).await
}

/// The parts stored so far; `None` when the upload cannot be resumed (it completed, was
/// cancelled or expired).
pub async fn stored_parts(id: &str) -> ApiResult<Option<StoredParts>> {
    let response = Request::get(&format!("/api/uploads/{id}/parts"))
        .send()
        .await
        .map_err(network)?;
    if matches!(response.status(), 404 | 409 | 410) {
        return Ok(None);
    }
    decode(response).await.map(Some)
}

/// Cancels an unfinished upload; one that no longer exists is already cancelled.
pub async fn abort_upload(id: &str) -> ApiResult<()> {
    let response = Request::delete(&format!("/api/uploads/{id}"))
        .send()
        .await
        .map_err(network)?;
    if response.ok() || response.status() == 404 {
        return Ok(());
    }
    decode::<()>(response).await
}

pub async fn list_files(search: &str, cursor: Option<&str>, limit: u32) -> ApiResult<FileList> {
    let limit = limit.to_string();
    let mut params = vec![("limit", limit.as_str())];
    if !search.trim().is_empty() {
        params.push(("q", search.trim()));
    }
    if let Some(cursor) = cursor {
        params.push(("cursor", cursor));
    }
    let response = Request::get("/api/files").query(params).send().await.map_err(network)?;
    decode(response).await
}

pub async fn get_file(id: &str) -> ApiResult<FileView> {
    let response = Request::get(&format!("/api/files/{id}"))
        .send()
        .await
        .map_err(network)?;
    decode(response).await
}

pub async fn get_status() -> ApiResult<StatusView> {
    let response = Request::get("/api/status").send().await.map_err(network)?;
    decode(response).await
}
