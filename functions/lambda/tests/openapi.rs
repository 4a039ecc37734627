//! The committed OpenAPI document (`functions/api/openapi.json`) is the one the code makes, and
//! it covers every route and every error code. After changing a route or a type, write it again:
//!
//!     TWINSHARE_WRITE_OPENAPI=1 cargo test -p twinshare-lambda --test openapi

use std::path::PathBuf;

use twinshare_lambda::{openapi::document, respond::ERROR_CODES, routes::ROUTES};

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api/openapi.json")
}

#[test]
fn the_committed_document_is_the_one_the_code_makes() {
    let made = serde_json::to_string_pretty(document()).unwrap() + "\n";
    if std::env::var_os("TWINSHARE_WRITE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &made).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == made,
        "functions/api/openapi.json is stale: write it again with \
         TWINSHARE_WRITE_OPENAPI=1 cargo test -p twinshare-lambda --test openapi"
    );
}

#[test]
fn every_route_and_every_error_code_is_in_it() {
    let doc = document();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for spec in ROUTES {
        let operation = &doc["paths"][spec.path][spec.method.as_str().to_lowercase()];
        assert!(operation["operationId"].is_string(), "{} {}", spec.method, spec.path);
        assert!(
            operation["responses"]["400"].is_object(),
            "{} {}",
            spec.method,
            spec.path
        );
    }
    let codes = doc["components"]["schemas"]["ErrorBody"]["properties"]["error"]["enum"]
        .as_array()
        .unwrap();
    for (status, code) in ERROR_CODES {
        assert!(codes.iter().any(|c| c == code), "{code} in ErrorBody");
        if *status == 500 {
            continue; // a bug, never promised by an operation
        }
        let answered_somewhere = doc["paths"].as_object().unwrap().values().any(|item| {
            item.as_object().unwrap().values().any(|op| {
                op["responses"][status.to_string()]["content"]["application/json"]["schema"]["properties"]["error"]
                    ["enum"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|c| c == code))
            })
        });
        assert!(answered_somewhere, "{status} {code}: no operation answers it");
    }
    // Owner routes say they need the manage token.
    let edit = &doc["paths"]["/api/manage/{id}"]["patch"];
    assert_eq!(edit["security"][0]["manage_token"], serde_json::json!([]));
    assert_eq!(
        edit["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/EditFileRequest"
    );
}
