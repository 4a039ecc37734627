//! Calls to a twinshare site's API, as the site's own page makes them: reads go to `/api/…`,
//! where the site's front (CloudFront) fails them over to the second region itself; uploads and
//! owner calls go to the primary region first and, on a 5xx or no answer, to the second
//! region's API under `/api/second-region/…` (template.yaml's `SecondRegionApiPath`).

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use twinshare_api::{
    CreateUploadRequest, CreateUploadResponse, DownloadLink, EditFileRequest, ErrorBody, FileList, FileView, PartUrls,
    PartUrlsRequest, StoredParts, PASSWORD_HEADER,
};

use crate::error::CliError;

/// Where the second region's API answers on the site's origin; its paths follow.
const SECOND_REGION: &str = "/api/second-region";
/// The header that carries the site's upload code (a site in `UploadMode=code`).
const UPLOAD_CODE_HEADER: &str = "x-upload-code";

/// One site's API.
#[derive(Clone)]
pub struct Api {
    /// The site's origin, without a trailing slash: `https://share.example.com`.
    pub base: String,
    http: reqwest::Client,
    upload_code: Option<String>,
}

impl Api {
    pub fn new(base: &str, upload_code: Option<String>) -> Result<Api, CliError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--api must be the site's address, starting with https:// (got {base:?})"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("twinshare-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Local(format!("cannot start an HTTP client: {e}")))?;
        Ok(Api {
            base,
            http,
            upload_code,
        })
    }

    /// The HTTP client, for requests to presigned storage addresses.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn share_link(&self, id: &str) -> String {
        format!("{}/f/{id}", self.base)
    }

    pub fn manage_link(&self, id: &str, token: &str) -> String {
        format!("{}/manage/{id}#{token}", self.base)
    }

    fn request(&self, method: Method, prefix: &str, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{prefix}{path}", self.base))
            .timeout(Duration::from_secs(60))
    }

    /// Sends an upload or owner call to the primary region and, when that answers 5xx or
    /// cannot be reached, to the second region. A file's own calls belong to its home region;
    /// the other answers 503 `home_region_unavailable`, so the call lands where it must.
    /// A 404 from the primary is asked again of the second region too: a file announced there
    /// (the primary failed a moment) is unknown to the primary's table until it replicates.
    async fn send_write(&self, build: impl Fn(&str) -> RequestBuilder) -> Result<Response, CliError> {
        let first = build("").send().await;
        if matches!(&first, Ok(response) if response.status().as_u16() < 500 && response.status() != StatusCode::NOT_FOUND)
        {
            return first.map_err(unreachable);
        }
        match build(SECOND_REGION).send().await {
            // A deployment without a second region has no such path, and a file neither
            // region knows is not found in either: the first answer stands.
            Ok(second) if second.status() == StatusCode::NOT_FOUND && first.is_ok() => first.map_err(unreachable),
            Ok(second) => Ok(second),
            Err(err) => first.or(Err(err)).map_err(unreachable),
        }
    }

    async fn owner_call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, CliError> {
        let response = self
            .send_write(|prefix| {
                let request = self.request(method.clone(), prefix, path).bearer_auth(token);
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await?;
        read(response).await
    }

    pub async fn create_upload(&self, request: &CreateUploadRequest) -> Result<CreateUploadResponse, CliError> {
        let response = self
            .send_write(|prefix| {
                let announce = self.request(Method::POST, prefix, "/api/uploads").json(request);
                match &self.upload_code {
                    Some(code) => announce.header(UPLOAD_CODE_HEADER, code),
                    None => announce,
                }
            })
            .await?;
        read(response).await
    }

    pub async fn part_urls(&self, id: &str, token: &str, request: &PartUrlsRequest) -> Result<PartUrls, CliError> {
        self.owner_call(Method::POST, &format!("/api/uploads/{id}/parts"), token, Some(request))
            .await
    }

    /// The parts stored so far; `None` when the upload cannot be resumed any more (it
    /// completed, was cancelled or expired).
    pub async fn stored_parts(&self, id: &str, token: &str) -> Result<Option<StoredParts>, CliError> {
        match self
            .owner_call(Method::GET, &format!("/api/uploads/{id}/parts"), token, None::<&()>)
            .await
        {
            Err(CliError::Refused {
                status: 404 | 409 | 410,
                ..
            }) => Ok(None),
            other => other.map(Some),
        }
    }

    pub async fn complete_upload(&self, id: &str, token: &str) -> Result<FileView, CliError> {
        self.owner_call(Method::POST, &format!("/api/uploads/{id}/complete"), token, None::<&()>)
            .await
    }

    pub async fn edit(&self, id: &str, token: &str, edit: &EditFileRequest) -> Result<FileView, CliError> {
        self.owner_call(Method::PATCH, &format!("/api/manage/{id}"), token, Some(edit))
            .await
    }

    /// Deletes the file from both regions; deleting it again answers the same.
    pub async fn delete(&self, id: &str, token: &str) -> Result<(), CliError> {
        self.owner_delete(&format!("/api/manage/{id}"), token).await
    }

    /// Cancels an unfinished upload in its home region.
    pub async fn abort_upload(&self, id: &str, token: &str) -> Result<(), CliError> {
        self.owner_delete(&format!("/api/uploads/{id}"), token).await
    }

    async fn owner_delete(&self, path: &str, token: &str) -> Result<(), CliError> {
        let response = self
            .send_write(|prefix| self.request(Method::DELETE, prefix, path).bearer_auth(token))
            .await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(refusal(response).await)
    }

    pub async fn file(&self, id: &str) -> Result<FileView, CliError> {
        self.get(&format!("/api/files/{id}"), &[]).await
    }

    pub async fn list(&self, query: &[(&str, String)]) -> Result<FileList, CliError> {
        self.get("/api/files", query).await
    }

    /// A short-lived address of the file's bytes. Each one given counts as a download of a
    /// file with a download limit.
    pub async fn download_link(&self, id: &str, password: Option<&str>) -> Result<String, CliError> {
        let mut request = self
            .request(Method::GET, "", &format!("/api/files/{id}/download"))
            .header("accept", "application/json");
        if let Some(password) = password {
            request = request.header(PASSWORD_HEADER, password);
        }
        let link: DownloadLink = read(request.send().await.map_err(unreachable)?).await?;
        Ok(link.url)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, CliError> {
        let response = self
            .request(Method::GET, "", path)
            .query(query)
            .send()
            .await
            .map_err(unreachable)?;
        read(response).await
    }
}

fn unreachable(err: reqwest::Error) -> CliError {
    CliError::Unavailable(format!(
        "the site could not be reached ({err}); check the address and your connection, then run the command again"
    ))
}

/// A success read as `T`, or the refusal with the API's code and sentence.
async fn read<T: DeserializeOwned>(response: Response) -> Result<T, CliError> {
    if !response.status().is_success() {
        return Err(refusal(response).await);
    }
    let status = response.status();
    response.json::<T>().await.map_err(|e| {
        CliError::Unavailable(format!(
            "the site answered {status} with something that is not twinshare's API ({e}); is --api the site's address?"
        ))
    })
}

async fn refusal(response: Response) -> CliError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => CliError::Refused {
            status: status.as_u16(),
            code: body.error,
            message: body.message,
        },
        Err(_) => CliError::Refused {
            status: status.as_u16(),
            code: String::new(),
            message: format!("the site answered {status} without twinshare's error body; is --api the site's address?"),
        },
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A site whose primary region answers every owner call with `primary` and whose second
    /// region (`/api/second-region/…`) with `second`: (status, the API's error code).
    async fn site(primary: (u16, &'static str), second: (u16, &'static str)) -> Api {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut head = vec![0; 4096];
                let read = socket.read(&mut head).await.unwrap();
                let line = String::from_utf8_lossy(&head[..read])
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let (status, code) = if line.contains(SECOND_REGION) { second } else { primary };
                let body = format!(r#"{{"error":"{code}","message":"{code} here"}}"#);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        Api::new(&base, None).unwrap()
    }

    async fn delete_answer(api: &Api) -> Option<String> {
        match api.delete("f00d", "token").await {
            Ok(()) => None,
            Err(CliError::Refused { code, .. }) => Some(code),
            Err(other) => panic!("not a refusal: {other}"),
        }
    }

    #[tokio::test]
    async fn a_file_the_primary_does_not_know_yet_is_asked_of_the_second_region() {
        // Announced in the second region a moment ago: the primary's table has no record yet.
        let api = site((404, "file_not_found"), (204, "")).await;
        assert_eq!(delete_answer(&api).await, None);
    }

    #[tokio::test]
    async fn a_file_neither_region_knows_is_not_found() {
        let api = site((404, "file_not_found"), (404, "no_such_route")).await;
        assert_eq!(delete_answer(&api).await.as_deref(), Some("file_not_found"));
    }

    #[tokio::test]
    async fn a_refusal_of_the_primary_stands_and_its_5xx_goes_to_the_second_region() {
        let api = site((403, "wrong_token"), (204, "")).await;
        assert_eq!(delete_answer(&api).await.as_deref(), Some("wrong_token"));
        let api = site((503, "home_region_unavailable"), (409, "second_answers")).await;
        assert_eq!(delete_answer(&api).await.as_deref(), Some("second_answers"));
    }
}
