//! HTTP responses: JSON bodies, redirects, and the one place where errors become statuses.

use lambda_http::{Body, Request, Response};
use serde::{de::DeserializeOwned, Serialize};
use twinshare_api::ErrorBody;
use twinshare_core::ApiError;

/// Larger request bodies are refused before parsing: every JSON call of this API is small.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: &str = "5";

/// Declares, from one list, [`status_and_code`] (an exhaustive match, so a new error cannot be
/// forgotten) and [`ERROR_CODES`] (every code with its status, for the OpenAPI document).
macro_rules! error_statuses {
    ($($pattern:pat => ($status:literal, $code:literal)),+ $(,)?) => {
        /// The HTTP status and stable error code of each error.
        pub fn status_and_code(err: &ApiError) -> (u16, &'static str) {
            match err {
                $($pattern => ($status, $code)),+
            }
        }

        /// Every error code the API answers, with its status.
        pub const ERROR_CODES: &[(u16, &str)] = &[$(($status, $code)),+];
    };
}

error_statuses! {
    ApiError::Invalid { .. } => (400, "invalid_request"),
    ApiError::MalformedBody(_) => (400, "malformed_body"),
    ApiError::BodyTooLarge { .. } => (413, "body_too_large"),
    ApiError::FileNotFound(_) => (404, "file_not_found"),
    ApiError::RouteNotFound { .. } => (404, "route_not_found"),
    ApiError::ManageTokenMissing => (401, "manage_token_required"),
    ApiError::ManageTokenInvalid => (403, "manage_token_invalid"),
    ApiError::PasswordRequired(_) => (401, "password_required"),
    ApiError::PasswordWrong => (403, "password_wrong"),
    ApiError::TooManyAttempts { .. } => (429, "too_many_attempts"),
    ApiError::FileDeleted(_) => (410, "file_deleted"),
    ApiError::FileRemoved(_) => (410, "file_removed"),
    ApiError::ContentBlocked => (403, "content_blocked"),
    ApiError::UploadsClosed => (403, "uploads_closed"),
    ApiError::UploaderBlocked => (403, "uploader_blocked"),
    ApiError::RateLimited { .. } => (429, "rate_limited"),
    ApiError::UploadCodeMissing => (401, "upload_code_required"),
    ApiError::UploadCodeInvalid => (403, "upload_code_invalid"),
    ApiError::QuotaExceeded { .. } => (413, "storage_quota_exceeded"),
    ApiError::ContentNotBlockable(_) => (409, "content_not_blockable"),
    ApiError::FileExpired(_) => (410, "file_expired"),
    ApiError::DownloadLimitReached(_) => (410, "download_limit_reached"),
    ApiError::LimitUnavailable(_) => (503, "limit_unavailable"),
    ApiError::NotYetAvailable(_) => (409, "not_yet_available"),
    ApiError::UploadMissing(_) => (409, "upload_missing"),
    ApiError::SizeMismatch { .. } => (409, "size_mismatch"),
    ApiError::ChecksumMismatch => (409, "checksum_mismatch"),
    ApiError::AlreadyCompleted(_) => (409, "already_completed"),
    ApiError::NotMultipart(_) => (409, "not_multipart"),
    ApiError::UploadIncomplete(_) => (409, "upload_incomplete"),
    ApiError::UploadGone(_) => (410, "upload_gone"),
    ApiError::Unavailable(_) => (503, "unavailable"),
    ApiError::NoReachableCopy(_) => (503, "no_reachable_copy"),
    ApiError::UploadsPaused(_) => (503, "uploads_paused"),
    ApiError::HomeRegionAway { .. } => (503, "home_region_unavailable"),
    ApiError::Internal(_) => (500, "internal"),
}

fn builder(status: u16) -> http::response::Builder {
    Response::builder().status(status).header("cache-control", "no-store")
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => builder(status)
            .header("content-type", "application/json")
            .body(Body::Text(text))
            .expect("static headers are valid"),
        Err(err) => error(&ApiError::Internal(format!("serialising the response: {err}"))),
    }
}

/// 204: done, nothing to say.
pub fn no_content() -> Response<Body> {
    builder(204).body(Body::Empty).expect("static headers are valid")
}

pub fn redirect(location: &str) -> Response<Body> {
    match builder(302).header("location", location).body(Body::Empty) {
        Ok(response) => response,
        Err(err) => error(&ApiError::Internal(format!("redirect location: {err}"))),
    }
}

pub fn error(err: &ApiError) -> Response<Body> {
    let (status, code) = status_and_code(err);
    let message = match err {
        // Details of internal failures go to the log, not to the client.
        ApiError::Internal(_) => "something went wrong on our side; try again, and report it if it persists".to_owned(),
        // The detail is an SDK's or emulator's text: it names endpoints and tables.
        ApiError::Unavailable(_) => "storage is unavailable right now; try again in a minute".to_owned(),
        other => other.to_string(),
    };
    if status >= 500 {
        tracing::error!(error = %err, status, "request failed");
    } else {
        tracing::info!(error = %err, status, "request refused");
    }
    let body = serde_json::to_string(&ErrorBody {
        error: code.to_owned(),
        message,
    })
    .unwrap_or_default();
    let mut response = builder(status).header("content-type", "application/json");
    if status == 503 {
        response = response.header("retry-after", RETRY_AFTER_SECS);
    }
    if let ApiError::TooManyAttempts { retry_after_secs } | ApiError::RateLimited { retry_after_secs, .. } = err {
        response = response.header("retry-after", retry_after_secs.to_string());
    }
    response.body(Body::Text(body)).expect("static headers are valid")
}

pub fn result(outcome: Result<Response<Body>, ApiError>) -> Response<Body> {
    outcome.unwrap_or_else(|err| error(&err))
}

/// The manage token of an owner's call (`Authorization: Bearer <token>`), if it carries one.
pub fn manage_token(request: &Request) -> Option<&str> {
    let header = request.headers().get(http::header::AUTHORIZATION)?.to_str().ok();
    twinshare_core::owner::bearer(header)
}

/// A header's value as text, if the request has it (and it is text).
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Whether the caller asked for JSON rather than a redirect (`Accept: application/json`).
pub fn wants_json(request: &Request) -> bool {
    header(request, "accept").is_some_and(|accept| accept.contains("application/json"))
}

/// Who is calling, for counting wrong passwords. Behind CloudFront, API Gateway sees the
/// edge's address, shared by many viewers; CloudFront names the viewer in `x-twinshare-viewer`,
/// believed only when the request also carries the edge's secret (`x-twinshare-edge`), so a
/// caller reaching API Gateway directly cannot pick its own name. Otherwise: the address API
/// Gateway saw; empty when unknown (a test's request).
pub fn client_address(request: &Request, edge_secret: Option<&str>) -> String {
    use lambda_http::{request::RequestContext, RequestExt};
    let from_edge = edge_secret
        .zip(header(request, "x-twinshare-edge"))
        .is_some_and(|(secret, sent)| bool::from(subtle::ConstantTimeEq::ct_eq(secret.as_bytes(), sent.as_bytes())));
    if let (true, Some(viewer)) = (from_edge, header(request, "x-twinshare-viewer")) {
        return format!("viewer {viewer}");
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// Parses a JSON body, turning every way it can be wrong into a 4xx with serde's explanation.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge { limit: MAX_BODY_BYTES });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedBody("the body is empty; send a JSON object".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedBody(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response<Body>) -> ErrorBody {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn errors_carry_code_message_and_status() {
        let response = error(&ApiError::invalid("size", "too big"));
        assert_eq!(response.status(), 400);
        assert_eq!(
            body_of(&response),
            ErrorBody {
                error: "invalid_request".into(),
                message: "size: too big".into()
            }
        );
    }

    #[test]
    fn unavailable_says_when_to_retry_and_internal_hides_details() {
        let response = error(&ApiError::Unavailable(
            "dispatch failure: error trying to connect: tcp connect error: Connection refused (os error 111)".into(),
        ));
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        let message = body_of(&response).message;
        assert!(!message.contains("dispatch") && !message.contains("111"), "{message}");
        let response = error(&ApiError::Internal("secret table name".into()));
        assert_eq!(response.status(), 500);
        assert!(!body_of(&response).message.contains("secret"));
    }

    #[test]
    fn the_viewer_is_believed_only_from_the_edge() {
        let request = |headers: &[(&str, &str)]| {
            let mut request = Request::new(Body::Empty);
            for (name, value) in headers {
                let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
                request.headers_mut().insert(name, value.parse().unwrap());
            }
            request
        };
        let viewer = ("x-twinshare-viewer", "198.51.100.7");
        let from_edge = request(&[viewer, ("x-twinshare-edge", "s3cret")]);
        assert_eq!(client_address(&from_edge, Some("s3cret")), "viewer 198.51.100.7");
        let spoofed = request(&[viewer, ("x-twinshare-edge", "guess")]);
        assert_eq!(client_address(&spoofed, Some("s3cret")), "");
        assert_eq!(client_address(&request(&[viewer]), Some("s3cret")), "");
        assert_eq!(
            client_address(&from_edge, None),
            "",
            "no edge configured: no header believed"
        );
        let response = error(&ApiError::TooManyAttempts { retry_after_secs: 8 });
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "8");
    }

    #[test]
    fn bad_bodies_are_4xx() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Small {
            n: u8,
        }
        let request = |body: &str| Request::new(Body::Text(body.into()));
        assert!(matches!(
            json_body::<Small>(&request("")),
            Err(ApiError::MalformedBody(_))
        ));
        assert!(matches!(
            json_body::<Small>(&request("{")),
            Err(ApiError::MalformedBody(_))
        ));
        assert!(matches!(
            json_body::<Small>(&request(r#"{"n":-1}"#)),
            Err(ApiError::MalformedBody(_))
        ));
        assert!(matches!(
            json_body::<Small>(&request(&" ".repeat(MAX_BODY_BYTES + 1))),
            Err(ApiError::BodyTooLarge { .. })
        ));
        assert_eq!(json_body::<Small>(&request(r#"{"n":1}"#)).unwrap().n, 1);
    }
}
