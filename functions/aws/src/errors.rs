//! SDK errors reduced to the ports' [`PortError`]: could the caller retry, or is it a bug?

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use twinshare_core::ports::PortError;

/// Every SDK client here answers with the same smithy HTTP response type.
type HttpResponse = aws_sdk_s3::config::http::HttpResponse;

pub fn port_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            PortError::Unavailable(format!("{operation}: {}", describe(&err)))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown");
            let retryable = matches!(
                code,
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "SlowDown"
                    | "ServiceUnavailable"
                    | "InternalError"
            );
            let text = format!(
                "{operation}: HTTP {} {code}: {}",
                service.raw().status().as_u16(),
                service.err().message().unwrap_or("")
            );
            if retryable {
                PortError::Unavailable(text)
            } else {
                PortError::Other(text)
            }
        }
        SdkError::ResponseError(_) => PortError::Unavailable(format!("{operation}: {}", describe(&err))),
        _ => PortError::Other(format!("{operation}: {}", describe(&err))),
    }
}

fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
