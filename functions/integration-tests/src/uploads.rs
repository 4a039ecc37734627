//! Sending the bytes as the browser does: to the presigned requests the API answered, with
//! exactly the headers it said to send; in one PUT or part by part.

use twinshare_api::{CreateUploadResponse, PartUrls, PresignedRequest, UploadPlan};

use crate::{sha256_base64, Stack};

impl Stack {
    /// Sends a presigned request with exactly the headers the API said to send; S3's status.
    pub async fn send(&self, request: &PresignedRequest, bytes: &[u8]) -> reqwest::StatusCode {
        let mut send = self
            .http
            .request(request.method.parse().unwrap(), &request.url)
            .body(bytes.to_vec());
        for (name, value) in &request.headers {
            send = send.header(name, value);
        }
        send.send().await.unwrap().status()
    }

    /// Sends the bytes as the plan says: one PUT, or every part.
    pub async fn put(&self, created: &CreateUploadResponse, bytes: &[u8]) {
        match &created.upload {
            UploadPlan::Single(put) => {
                let status = self.send(put, bytes).await;
                assert!(status.is_success(), "PUT answered {status}");
            }
            UploadPlan::Multipart(plan) => self.put_parts(created, bytes, 1..=plan.part_count).await,
        }
    }

    /// Signs the given parts of a multipart upload (each with its SHA-256) and sends them.
    pub async fn put_parts(
        &self,
        created: &CreateUploadResponse,
        bytes: &[u8],
        numbers: impl IntoIterator<Item = u32>,
    ) {
        let urls = self.part_urls(created, bytes, numbers).await;
        let UploadPlan::Multipart(plan) = &created.upload else {
            panic!("not a multipart upload")
        };
        for part in urls.parts {
            let (start, end) = plan.range(part.number, bytes.len() as u64);
            let status = self.send(&part.request, &bytes[start as usize..end as usize]).await;
            assert!(status.is_success(), "part {} answered {status}", part.number);
        }
    }

    /// The API's signed URLs for the given parts, bound to the SHA-256 of `bytes`' parts.
    pub async fn part_urls(
        &self,
        created: &CreateUploadResponse,
        bytes: &[u8],
        numbers: impl IntoIterator<Item = u32>,
    ) -> PartUrls {
        let UploadPlan::Multipart(plan) = &created.upload else {
            panic!("not a multipart upload")
        };
        let checksums = numbers.into_iter().map(|number| {
            let (start, end) = plan.range(number, bytes.len() as u64);
            (number, sha256_base64(&bytes[start as usize..end as usize]))
        });
        self.sign_parts(&created.file.id, checksums).await
    }

    /// `POST /api/uploads/{id}/parts` for these (part number, SHA-256) pairs.
    pub async fn sign_parts(&self, id: &str, checksums: impl IntoIterator<Item = (u32, String)>) -> PartUrls {
        let parts: Vec<serde_json::Value> = checksums
            .into_iter()
            .map(|(number, sha256)| serde_json::json!({ "number": number, "sha256": sha256 }))
            .collect();
        let body = serde_json::json!({ "parts": parts }).to_string();
        self.expect(200, "POST", &format!("/api/uploads/{id}/parts"), Some(&body))
            .await
    }
}
