//! The API's routes, in one table for every function. API Gateway sends each function only its
//! own routes (template.yaml); locally, `cargo lambda watch` does the same (Cargo.toml).

use http::Method;
use twinshare_core::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    CreateUpload,
    CompleteUpload(String),
    PartUrls(String),
    StoredParts(String),
    AbortUpload(String),
    ListFiles,
    GetFile(String),
    Download(String),
    Status,
}

pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let found = match (method, segments.as_slice()) {
        (&Method::POST, ["api", "uploads"]) => Some(Route::CreateUpload),
        (&Method::POST, ["api", "uploads", id, "complete"]) => Some(Route::CompleteUpload((*id).to_owned())),
        (&Method::POST, ["api", "uploads", id, "parts"]) => Some(Route::PartUrls((*id).to_owned())),
        (&Method::GET, ["api", "uploads", id, "parts"]) => Some(Route::StoredParts((*id).to_owned())),
        (&Method::DELETE, ["api", "uploads", id]) => Some(Route::AbortUpload((*id).to_owned())),
        (&Method::GET, ["api", "files"]) => Some(Route::ListFiles),
        (&Method::GET, ["api", "files", id]) => Some(Route::GetFile((*id).to_owned())),
        (&Method::GET, ["api", "files", id, "download"]) => Some(Route::Download((*id).to_owned())),
        (&Method::GET, ["api", "status"]) => Some(Route::Status),
        _ => None,
    };
    found.ok_or_else(|| ApiError::RouteNotFound {
        method: method.to_string(),
        path: path.to_owned(),
    })
}

/// The error for a route that exists but is served by another function.
pub fn not_served_here(method: &Method, path: &str) -> ApiError {
    ApiError::RouteNotFound {
        method: method.to_string(),
        path: path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(&Method::POST, "/api/uploads").unwrap(), Route::CreateUpload);
        assert_eq!(
            route(&Method::POST, "/api/uploads/abc/complete").unwrap(),
            Route::CompleteUpload("abc".into())
        );
        assert_eq!(
            route(&Method::POST, "/api/uploads/abc/parts").unwrap(),
            Route::PartUrls("abc".into())
        );
        assert_eq!(
            route(&Method::GET, "/api/uploads/abc/parts").unwrap(),
            Route::StoredParts("abc".into())
        );
        assert_eq!(
            route(&Method::DELETE, "/api/uploads/abc").unwrap(),
            Route::AbortUpload("abc".into())
        );
        assert_eq!(route(&Method::GET, "/api/files/").unwrap(), Route::ListFiles);
        assert_eq!(
            route(&Method::GET, "/api/files/abc").unwrap(),
            Route::GetFile("abc".into())
        );
        assert_eq!(
            route(&Method::GET, "/api/files/abc/download").unwrap(),
            Route::Download("abc".into())
        );
        assert_eq!(route(&Method::GET, "/api/status").unwrap(), Route::Status);
        assert!(route(&Method::DELETE, "/api/files/abc").is_err());
        assert!(route(&Method::GET, "/api/uploads").is_err());
        assert!(route(&Method::GET, "/etc/passwd").is_err());
    }
}
