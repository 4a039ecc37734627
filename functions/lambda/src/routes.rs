//! The API's routes, in one table for every function. API Gateway sends each function only its
//! own routes (template.yaml); locally, `cargo lambda watch` does the same (Cargo.toml).

use http::Method;
use twinshare_core::ApiError;

/// The Lambda functions that serve HTTP routes (their binary names, as in template.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    UploadApi,
    FilesApi,
}

impl Function {
    pub const fn name(self) -> &'static str {
        match self {
            Function::UploadApi => "upload-api",
            Function::FilesApi => "files-api",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    CreateUpload,
    CompleteUpload(String),
    PartUrls(String),
    StoredParts(String),
    AbortUpload(String),
    EditFile(String),
    DeleteFile(String),
    ListFiles,
    GetFile(String),
    Download(String),
    Status,
    OpenApi,
}

/// One route: its method and path as API Gateway writes them, the function serving it, and
/// how the route is made from the path's `{id}` (empty when it has none).
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub function: Function,
    make: fn(String) -> Route,
}

/// Every route of the API, the one place that says which function serves which route. The
/// `cargo lambda watch` router in Cargo.toml and the `HttpApi` events in template.yaml are
/// checked against it (tests/route_table.rs); the local harness dispatches with it.
pub static ROUTES: &[RouteSpec] = &[
    spec(Method::POST, "/api/uploads", Function::UploadApi, |_| {
        Route::CreateUpload
    }),
    spec(
        Method::POST,
        "/api/uploads/{id}/complete",
        Function::UploadApi,
        Route::CompleteUpload,
    ),
    spec(
        Method::POST,
        "/api/uploads/{id}/parts",
        Function::UploadApi,
        Route::PartUrls,
    ),
    spec(
        Method::GET,
        "/api/uploads/{id}/parts",
        Function::UploadApi,
        Route::StoredParts,
    ),
    spec(
        Method::DELETE,
        "/api/uploads/{id}",
        Function::UploadApi,
        Route::AbortUpload,
    ),
    // The owner's actions: under their own prefix, so that CloudFront can send them (writes)
    // to the home region while reads fail over between regions.
    spec(Method::PATCH, "/api/manage/{id}", Function::UploadApi, Route::EditFile),
    spec(
        Method::DELETE,
        "/api/manage/{id}",
        Function::UploadApi,
        Route::DeleteFile,
    ),
    spec(Method::GET, "/api/files", Function::FilesApi, |_| Route::ListFiles),
    spec(Method::GET, "/api/files/{id}", Function::FilesApi, Route::GetFile),
    spec(
        Method::GET,
        "/api/files/{id}/download",
        Function::FilesApi,
        Route::Download,
    ),
    spec(Method::GET, "/api/status", Function::FilesApi, |_| Route::Status),
    spec(Method::GET, "/api/openapi.json", Function::FilesApi, |_| Route::OpenApi),
];

/// The function that answers what no route matches (API Gateway's `$default` route, and the
/// local router's catch-all): with the API's own JSON 404.
pub const FALLBACK_FUNCTION: Function = Function::FilesApi;

const fn spec(method: Method, path: &'static str, function: Function, make: fn(String) -> Route) -> RouteSpec {
    RouteSpec {
        method,
        path,
        function,
        make,
    }
}

impl RouteSpec {
    /// The route this spec makes, with an empty id.
    pub fn route(&self) -> Route {
        (self.make)(String::new())
    }

    /// The route if `method` and `path` match this spec, with the `{id}` taken from the path.
    fn matches(&self, method: &Method, path: &str) -> Option<Route> {
        if method != self.method {
            return None;
        }
        let mut pattern = self.path.trim_matches('/').split('/');
        let mut given = path.trim_matches('/').split('/');
        let mut id = String::new();
        loop {
            match (pattern.next(), given.next()) {
                (None, None) => return Some((self.make)(id)),
                (Some("{id}"), Some(value)) if !value.is_empty() => id = value.to_owned(),
                (Some(expected), Some(value)) if expected == value => {}
                _ => return None,
            }
        }
    }
}

impl Route {
    /// The function API Gateway sends this route to.
    pub fn function(&self) -> Function {
        let kind = std::mem::discriminant(self);
        ROUTES
            .iter()
            .find(|spec| std::mem::discriminant(&spec.route()) == kind)
            .map(|spec| spec.function)
            .expect("every route is in ROUTES")
    }
}

pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    ROUTES
        .iter()
        .find_map(|spec| spec.matches(method, path))
        .ok_or_else(|| ApiError::RouteNotFound {
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
        assert_eq!(
            route(&Method::PATCH, "/api/manage/abc").unwrap(),
            Route::EditFile("abc".into())
        );
        assert_eq!(
            route(&Method::DELETE, "/api/manage/abc").unwrap(),
            Route::DeleteFile("abc".into())
        );
        assert!(route(&Method::DELETE, "/api/files/abc").is_err());
        assert!(route(&Method::GET, "/api/uploads").is_err());
        assert!(route(&Method::GET, "/etc/passwd").is_err());
        assert!(route(&Method::GET, "/api/files//download").is_err());
        assert!(route(&Method::POST, "/api/uploads/a/b/complete").is_err());
    }

    #[test]
    fn each_route_knows_its_function() {
        assert_eq!(Route::CreateUpload.function(), Function::UploadApi);
        assert_eq!(Route::AbortUpload("x".into()).function(), Function::UploadApi);
        assert_eq!(Route::Download("x".into()).function(), Function::FilesApi);
        for spec in ROUTES {
            let path = spec.path.replace("{id}", "abc");
            let found = route(&spec.method, &path).unwrap();
            assert_eq!(found.function(), spec.function, "{} {}", spec.method, spec.path);
        }
    }
}
