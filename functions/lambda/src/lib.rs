//! Shared by the HTTP functions: [`config`] (read once per cold start), [`routes`] (the API's
//! paths), [`respond`] (JSON bodies and the one error → status mapping) and [`logging`].

pub mod config;
pub mod logging;
pub mod openapi;
pub mod respond;
pub mod routes;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{Config, LiveProbe, LiveReplication, LiveService};

use std::future::Future;

use lambda_http::{Body, Error, Request, RequestExt, Response};
use tracing::Instrument;

/// Runs an HTTP function: each request gets one span (method, path, Lambda request id) around
/// the handler, and the handler's response is always an HTTP answer, never a Lambda error.
pub async fn serve<'a, T, F, Fut>(state: &'a T, handler: F) -> Result<(), Error>
where
    F: Fn(&'a T, Request) -> Fut,
    T: Sync,
    Fut: Future<Output = Response<Body>> + Send + 'a,
{
    lambda_http::run(lambda_http::service_fn(|request: Request| {
        let request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id);
        let answer = handler(state, request);
        async move {
            let response = answer.instrument(span.clone()).await;
            span.in_scope(|| tracing::info!(status = response.status().as_u16(), "answered"));
            Ok::<_, Error>(response)
        }
    }))
    .await
}
