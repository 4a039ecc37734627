//! Requests and responses for tests of the handlers (feature `testing`).

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt, Response};

/// A committed event fixture, parsed as the Lambda runtime does with what
/// `cargo lambda invoke --data-file` sends.
pub fn fixture(crate_dir: &str, name: &str) -> Request {
    let path = format!("{crate_dir}/events/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The same request sent to another path (and query string).
pub fn at(mut request: Request, path_and_query: &str) -> Request {
    let uri: lambda_http::http::Uri = format!("https://api.twinshare.test{path_and_query}").parse().unwrap();
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect();
    *request.uri_mut() = uri;
    request.with_query_string_parameters(query)
}

/// A request as API Gateway hands it over.
pub fn request(method: &str, path_and_query: &str, body: Option<&str>) -> Request {
    let request = lambda_http::http::Request::builder()
        .method(method)
        .header("content-type", "application/json")
        .body(body.map_or(Body::Empty, |b| Body::Text(b.to_owned())))
        .unwrap();
    at(request, path_and_query)
}

/// The same request as CloudFront forwards it from a viewer at `address`: named in
/// `x-twinshare-viewer`, vouched for by the edge's secret.
pub fn from_viewer(mut request: Request, address: &str, edge_secret: &str) -> Request {
    let headers = request.headers_mut();
    headers.insert("x-twinshare-viewer", address.parse().unwrap());
    headers.insert("x-twinshare-edge", edge_secret.parse().unwrap());
    request
}

/// The same request with the owner's manage token (or none).
pub fn with_token(mut request: Request, token: Option<&str>) -> Request {
    let headers = request.headers_mut();
    headers.remove(http::header::AUTHORIZATION);
    if let Some(token) = token {
        headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    }
    request
}

pub fn with_body(mut request: Request, body: &str) -> Request {
    *request.body_mut() = Body::Text(body.into());
    request
}

pub fn json<T: serde::de::DeserializeOwned>(response: &Response<Body>) -> T {
    serde_json::from_slice(response.body().as_ref())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(response.body().as_ref())))
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Sends one request per route of [`crate::routes::ROUTES`] to a handler and checks that it
/// serves exactly the routes the table gives `function`, and answers `route_not_found` to the rest.
pub async fn assert_serves_exactly_its_routes<F, Answer>(function: crate::routes::Function, handle: F)
where
    F: Fn(Request) -> Answer,
    Answer: std::future::Future<Output = Response<Body>>,
{
    for spec in crate::routes::ROUTES {
        let path = spec.path.replace("{id}", "0123456789abcdef0123456789abcdef");
        let response = handle(request(spec.method.as_str(), &path, None)).await;
        let not_routed =
            response.status() == 404 && String::from_utf8_lossy(response.body().as_ref()).contains("route_not_found");
        let ours = spec.function == function;
        assert_eq!(
            !not_routed, ours,
            "{} {}: served by {function:?}?",
            spec.method, spec.path
        );
    }
}
