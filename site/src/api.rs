//! Calls to twinshare's API. The API is on the site's own origin under `/api` (API Gateway
//! behind the same domain on AWS; trunk's proxy to `cargo lambda watch` locally), and the
//! second region's under `/api/second-region/api` (CloudFront's path for it; the local front's
//! too), where uploads and owner calls go when the primary region does not take them.

use gloo_net::http::{Request, RequestBuilder, Response};

use crate::upload_code;
use twinshare_api::{
    CreateUploadRequest, CreateUploadResponse, EditFileRequest, ErrorBody, FileList, FileView, PartUrls,
    PartUrlsRequest, StatusView, StoredParts,
};

/// An error a person can read.
pub type ApiResult<T> = Result<T, String>;

/// An answer that was not a success: its stable code (for the page to choose what to show) and
/// the server's sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Refusal {
    /// Whether asking again may succeed: no answer, a server error, or too many requests; not a
    /// refusal of what was asked.
    pub fn is_transient(&self) -> bool {
        self.status == 0 || self.status == 429 || self.status >= 500
    }
}

async fn refusal(response: Response) -> Refusal {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => Refusal {
            status,
            code: body.error,
            message: body.message,
        },
        Err(_) => Refusal {
            status,
            code: String::new(),
            message: format!("the server answered {status} {}", response.status_text()),
        },
    }
}

/// A success read as `T`, or the refusal with its code.
async fn read<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, Refusal> {
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|e| local_refusal(format!("the server's answer could not be read: {e}")));
    }
    Err(refusal(response).await)
}

async fn decode<T: serde::de::DeserializeOwned>(response: Response) -> ApiResult<T> {
    read(response).await.map_err(|refused| refused.message)
}

/// An owner's call: the file's manage token as a bearer token.
fn owner(request: RequestBuilder, token: &str) -> RequestBuilder {
    request.header("Authorization", &format!("Bearer {token}"))
}

fn network(err: gloo_net::Error) -> String {
    format!("the server could not be reached ({err}); check your connection and try again")
}

/// Where the second region's API answers on this origin: its paths follow.
const SECOND_REGION: &str = "/api/second-region";

/// Sends an upload or owner call to the primary region's API and, when that answers 5xx or
/// cannot be reached, to the second region's. Both regions take uploads; a file's own calls
/// belong to its home region, and the other one answers 503 (`home_region_unavailable`), so
/// the call reaches the right one either way. A 404 from the primary is asked again of the
/// second region too: a file announced there (the primary failed a moment) is unknown to the
/// primary's table until it replicates. `build` makes the request for a path prefix.
async fn send_write(build: impl Fn(&str) -> Result<Request, gloo_net::Error>) -> ApiResult<Response> {
    let first = build("").map_err(|e| e.to_string())?.send().await;
    if matches!(&first, Ok(response) if response.status() < 500 && response.status() != 404) {
        return first.map_err(network);
    }
    match build(SECOND_REGION).map_err(|e| e.to_string())?.send().await {
        // A deployment without a second region has no such path, and a file neither region
        // knows is not found in either: the first answer stands.
        Ok(second) if second.status() == 404 && first.is_ok() => first.map_err(network),
        Ok(second) => Ok(second),
        Err(err) => first.or(Err(err)).map_err(network),
    }
}

/// Sends `body` as JSON to `path` (an upload or owner call) and reads the answer.
async fn send_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    method: fn(&str) -> RequestBuilder,
    path: &str,
    token: &str,
    body: &B,
) -> ApiResult<T> {
    let response = send_write(|prefix| owner(method(&format!("{prefix}{path}")), token).json(body)).await?;
    decode(response).await
}

/// Announces an upload, with the site's upload code if this tab has one. A code the server
/// refuses is forgotten (the share page then asks for it again).
pub async fn create_upload(request: &CreateUploadRequest) -> ApiResult<CreateUploadResponse> {
    let code = upload_code::get();
    let response = send_write(|prefix| {
        let mut announce = Request::post(&format!("{prefix}/api/uploads"));
        if let Some(code) = &code {
            announce = announce.header(upload_code::HEADER, code);
        }
        announce.json(request)
    })
    .await?;
    read(response).await.map_err(|refused| {
        if upload_code::refused(&refused.code) {
            upload_code::forget();
        }
        refused.message
    })
}

/// An owner call without a body, to `path` in the file's home region.
async fn send_owner(method: fn(&str) -> RequestBuilder, path: &str, token: &str) -> ApiResult<Response> {
    send_write(|prefix| owner(method(&format!("{prefix}{path}")), token).build()).await
}

pub async fn complete_upload(id: &str, token: &str) -> ApiResult<FileView> {
    decode(send_owner(Request::post, &format!("/api/uploads/{id}/complete"), token).await?).await
}

pub async fn part_urls(id: &str, token: &str, request: &PartUrlsRequest) -> ApiResult<PartUrls> {
    send_json(Request::post, &format!("/api/uploads/{id}/parts"), token, request).await
}

/// The parts stored so far; `None` when the upload cannot be resumed (it completed, was
/// cancelled or expired). A refusal keeps its status: a 5xx means the upload's home region
/// does not answer (`home_region_unavailable` from the other one).
pub async fn stored_parts(id: &str, token: &str) -> Result<Option<StoredParts>, Refusal> {
    let response = send_owner(Request::get, &format!("/api/uploads/{id}/parts"), token)
        .await
        .map_err(local_refusal)?;
    if matches!(response.status(), 404 | 409 | 410) {
        return Ok(None);
    }
    read(response).await.map(Some)
}

/// Cancels an unfinished upload; one that no longer exists is already cancelled.
pub async fn abort_upload(id: &str, token: &str) -> ApiResult<()> {
    let response = send_owner(Request::delete, &format!("/api/uploads/{id}"), token).await?;
    if response.ok() || matches!(response.status(), 404 | 410) {
        return Ok(());
    }
    decode::<()>(response).await
}

/// The owner's edit; a refusal keeps its code (a deleted file is 410 `file_deleted`).
pub async fn edit_file(id: &str, token: &str, edit: &EditFileRequest) -> Result<FileView, Refusal> {
    let path = format!("/api/manage/{id}");
    let response = send_write(|prefix| owner(Request::patch(&format!("{prefix}{path}")), token).json(edit))
        .await
        .map_err(local_refusal)?;
    read(response).await
}

/// Deletes the file in both regions; deleting it again answers the same.
pub async fn delete_file(id: &str, token: &str) -> ApiResult<()> {
    let response = send_owner(Request::delete, &format!("/api/manage/{id}"), token).await?;
    if response.ok() {
        return Ok(());
    }
    decode::<()>(response).await
}

fn local_refusal(message: String) -> Refusal {
    Refusal {
        status: 0,
        code: String::new(),
        message,
    }
}

/// A file, or why it cannot be shown (its code: `file_deleted`, `file_expired`, …).
pub async fn find_file(id: &str) -> Result<FileView, Refusal> {
    let response = Request::get(&format!("/api/files/{id}"))
        .send()
        .await
        .map_err(|e| local_refusal(network(e)))?;
    read(response).await
}

/// A file's download address, answered as JSON (the page then follows it), with the file's
/// password when it has one (in a header, never in the address).
pub async fn download_link(id: &str, password: Option<&str>) -> Result<String, Refusal> {
    let mut request = Request::get(&format!("/api/files/{id}/download")).header("Accept", "application/json");
    if let Some(password) = password {
        request = request.header(twinshare_api::PASSWORD_HEADER, password);
    }
    let response = request.send().await.map_err(|e| local_refusal(network(e)))?;
    read::<twinshare_api::DownloadLink>(response).await.map(|link| link.url)
}

/// A page of the public table: files whose name contains `search`, in the order `sort`
/// (`age`, `name` or `size`) and direction, after `cursor`.
pub async fn list_files(
    search: &str,
    sort: &str,
    descending: bool,
    cursor: Option<&str>,
    limit: u32,
) -> Result<FileList, Refusal> {
    let limit = limit.to_string();
    let order = if descending { "desc" } else { "asc" };
    let mut params = vec![("limit", limit.as_str()), ("sort", sort), ("order", order)];
    if !search.trim().is_empty() {
        params.push(("q", search.trim()));
    }
    if let Some(cursor) = cursor {
        params.push(("cursor", cursor));
    }
    let response = Request::get("/api/files")
        .query(params)
        .send()
        .await
        .map_err(|e| local_refusal(network(e)))?;
    read(response).await
}

pub async fn get_file(id: &str) -> ApiResult<FileView> {
    find_file(id).await.map_err(|refused| refused.message)
}

pub async fn get_status() -> Result<StatusView, Refusal> {
    let response = Request::get("/api/status")
        .send()
        .await
        .map_err(|e| local_refusal(network(e)))?;
    read(response).await
}
