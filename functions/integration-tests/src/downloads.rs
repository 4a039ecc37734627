//! Downloads as a browser makes them: the API's redirect, then the presigned GET.

use crate::{ApiRegion, Stack};

impl Stack {
    /// Follows a download's redirect the way a browser does. The Content-Disposition is read
    /// from the signed URL: S3 answers with it, moto ignores that parameter.
    pub async fn download(&self, id: &str) -> Downloaded {
        self.download_in(ApiRegion::Primary, id).await
    }

    /// As [`Stack::download`], through `region`'s API.
    pub async fn download_in(&self, region: ApiRegion, id: &str) -> Downloaded {
        let token = self.token_for(id);
        let response = self
            .api_in(
                region,
                token.as_deref(),
                "GET",
                &format!("/api/files/{id}/download"),
                None,
            )
            .await;
        assert_eq!(
            response.status(),
            302,
            "{}",
            String::from_utf8_lossy(response.body().as_ref())
        );
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let url = reqwest::Url::parse(&location).unwrap();
        let disposition = url
            .query_pairs()
            .find(|(k, _)| k == "response-content-disposition")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let answer = self.http.get(url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        Downloaded {
            location,
            disposition,
            bytes: answer.bytes().await.unwrap().to_vec(),
        }
    }
}

/// What a download gave.
pub struct Downloaded {
    /// The presigned URL the API redirected to (which region's endpoint).
    pub location: String,
    pub disposition: String,
    pub bytes: Vec<u8>,
}
