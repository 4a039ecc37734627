//! Calls to twinshare's API. The API is on the site's own origin under `/api` (API Gateway
//! behind the same domain on AWS; trunk's proxy to `cargo lambda watch` locally).

use gloo_net::http::{Request, Response};
use twinshare_api::{CreateUploadRequest, CreateUploadResponse, ErrorBody, FileList, FileView, StatusView};

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

pub async fn create_upload(request: &CreateUploadRequest) -> ApiResult<CreateUploadResponse> {
    let response = Request::post("/api/uploads")
        .json(request)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(network)?;
    decode(response).await
}

pub async fn complete_upload(id: &str) -> ApiResult<FileView> {
    let response = Request::post(&format!("/api/uploads/{id}/complete"))
        .send()
        .await
        .map_err(network)?;
    decode(response).await
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
