//! The API's OpenAPI 3.1 document, made from the code so that it cannot drift: the schemas
//! from the request and response types (`twinshare-api`, `utoipa`), the paths from
//! [`ROUTES`], and the error codes with their statuses from [`ERROR_CODES`]. A new route does not
//! compile until it is described here ([`describe`] matches every route). `files-api` serves it
//! at `GET /api/openapi.json`; `functions/api/openapi.json` is the committed copy, which a test
//! holds to this.

use std::sync::LazyLock;

use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use crate::{
    respond::ERROR_CODES,
    routes::{Route, ROUTES},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "twinshare",
        description = "Share files by link or in a public table; every file is kept in two regions. \
            Uploads and owner calls go to the primary region's API and, when it answers 5xx or not at \
            all, to the second region's under `/api/second-region` (the same paths). Reads fail over \
            between regions by themselves.",
        license(name = "MIT")
    ),
    components(schemas(
        twinshare_api::CreateUploadRequest,
        twinshare_api::CreateUploadResponse,
        twinshare_api::PartUrlsRequest,
        twinshare_api::PartUrls,
        twinshare_api::StoredParts,
        twinshare_api::EditFileRequest,
        twinshare_api::FileView,
        twinshare_api::FileList,
        twinshare_api::DownloadLink,
        twinshare_api::StatusView,
        twinshare_api::ErrorBody,
    ))
)]
struct Schemas;

/// The document, made once.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(make);
    &DOCUMENT
}

/// What the table says of a route besides its method and path.
struct Description {
    id: &'static str,
    summary: &'static str,
    tag: &'static str,
    /// Needs the manage token as a bearer token.
    owner: bool,
    body: Option<&'static str>,
    /// The success status and its body's schema (`None`: no body).
    success: (u16, Option<&'static str>),
    /// The error statuses this route answers besides those of every route ([`COMMON`]).
    errors: &'static [u16],
}

/// Every route may answer these: a request it cannot read, no such file or route, storage away.
const COMMON: &[u16] = &[400, 404, 503];

fn describe(route: &Route) -> Description {
    let d = |id, summary, tag, owner, body, success, errors| Description {
        id,
        summary,
        tag,
        owner,
        body,
        success,
        errors,
    };
    match route {
        Route::CreateUpload => d(
            "create_upload",
            "Announce an upload: the answer signs it (one PUT up to 32 MiB, parts above) and gives the manage token once",
            "uploads",
            false,
            Some("CreateUploadRequest"),
            (201, Some("CreateUploadResponse")),
            &[401, 403, 413, 429],
        ),
        Route::PartUrls(_) => d(
            "part_urls",
            "Sign the PUT of parts of a multipart upload, each bound to its length and SHA-256",
            "uploads",
            true,
            Some("PartUrlsRequest"),
            (200, Some("PartUrls")),
            &[401, 403, 409, 410, 413],
        ),
        Route::StoredParts(_) => d(
            "stored_parts",
            "The parts storage holds of an unfinished upload, to resume it",
            "uploads",
            true,
            None,
            (200, Some("StoredParts")),
            &[401, 403, 409, 410],
        ),
        Route::CompleteUpload(_) => d(
            "complete_upload",
            "Check the bytes (and assemble the parts); the file becomes available",
            "uploads",
            true,
            None,
            (200, Some("FileView")),
            &[401, 403, 409, 410],
        ),
        Route::AbortUpload(_) => d(
            "abort_upload",
            "Cancel an unfinished upload and delete what storage holds of it",
            "uploads",
            true,
            None,
            (204, None),
            &[401, 403, 409, 410],
        ),
        Route::EditFile(_) => d(
            "edit_file",
            "Change a file's name, visibility, expiry, download limit or password",
            "owner",
            true,
            Some("EditFileRequest"),
            (200, Some("FileView")),
            &[401, 403, 410, 413],
        ),
        Route::DeleteFile(_) => d(
            "delete_file",
            "Delete a file from both regions (again: the same answer)",
            "owner",
            true,
            None,
            (204, None),
            &[401, 403, 410],
        ),
        Route::ListFiles => d(
            "list_files",
            "The public table: listed, available, unexpired files, searched and sorted, a page at a time",
            "files",
            false,
            None,
            (200, Some("FileList")),
            &[],
        ),
        Route::GetFile(_) => d(
            "get_file",
            "One file, listed or not (its id is the secret of an unlisted link)",
            "files",
            false,
            None,
            (200, Some("FileView")),
            &[410],
        ),
        Route::Download(_) => d(
            "download",
            "A short-lived address of a verified copy: a 302 to it, or with Accept: application/json, 200 with it",
            "files",
            false,
            None,
            (200, Some("DownloadLink")),
            &[401, 403, 409, 410, 429],
        ),
        Route::Status => d(
            "status",
            "Each region's health, replication and storage, and who may upload how much",
            "files",
            false,
            None,
            (200, Some("StatusView")),
            &[],
        ),
        Route::OpenApi => d(
            "openapi",
            "This document",
            "files",
            false,
            None,
            (200, None),
            &[],
        ),
    }
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_response(status: u16) -> Value {
    let codes: Vec<&str> = ERROR_CODES
        .iter()
        .filter(|(s, _)| *s == status)
        .map(|(_, c)| *c)
        .collect();
    let mut response = json!({
        "description": format!("`{}`", codes.join("`, `")),
        "content": { "application/json": { "schema": {
            "allOf": [schema("ErrorBody")],
            "properties": { "error": { "enum": codes } },
        }}},
    });
    if matches!(status, 429 | 503) {
        response["headers"] = json!({ "Retry-After": {
            "description": "Seconds to wait before asking again",
            "schema": { "type": "integer" },
        }});
    }
    response
}

fn parameters(route: &Route, path: &str) -> Vec<Value> {
    let mut parameters = Vec::new();
    if path.contains("{id}") {
        parameters.push(json!({
            "name": "id", "in": "path", "required": true,
            "description": "The file's id, from its link",
            "schema": { "type": "string" },
        }));
    }
    let query = |name: &str, description: &str, schema: Value| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema });
    match route {
        Route::ListFiles => parameters.extend([
            query(
                "q",
                "Text the name contains (ignoring case and accents), up to 100 characters",
                json!({ "type": "string" }),
            ),
            query(
                "uploader",
                "Only files shared by this name",
                json!({ "type": "string" }),
            ),
            query(
                "sort",
                "Order by (empty or absent: age)",
                json!({ "type": "string", "enum": ["age", "name", "size", ""] }),
            ),
            query(
                "order",
                "Direction (empty or absent: newest, A to Z, largest first)",
                json!({ "type": "string", "enum": ["asc", "desc", ""] }),
            ),
            query(
                "limit",
                "Files in a page",
                json!({ "type": "integer", "minimum": 1, "maximum": twinshare_api::limits::MAX_PAGE_SIZE }),
            ),
            query(
                "cursor",
                "The `next_cursor` of the page before, in the same order",
                json!({ "type": "string" }),
            ),
        ]),
        Route::CreateUpload => parameters.push(json!({
            "name": "x-upload-code", "in": "header", "required": false,
            "description": "The site's upload code, on a site that asks for one",
            "schema": { "type": "string" },
        })),
        Route::Download(_) => parameters.extend([
            json!({
                "name": twinshare_api::PASSWORD_HEADER, "in": "header", "required": false,
                "description": "The password of a protected file",
                "schema": { "type": "string" },
            }),
            json!({
                "name": "accept", "in": "header", "required": false,
                "description": "`application/json` for the address as JSON instead of a redirect",
                "schema": { "type": "string" },
            }),
        ]),
        _ => {}
    }
    parameters
}

fn operation(route: &Route, path: &str) -> Value {
    let about = describe(route);
    let mut responses = Map::new();
    let (status, body) = about.success;
    responses.insert(
        status.to_string(),
        match body {
            Some(name) => json!({ "description": about.summary, "content": { "application/json": { "schema": schema(name) } } }),
            None if matches!(route, Route::OpenApi) => {
                json!({ "description": "This document", "content": { "application/json": { "schema": { "type": "object" } } } })
            }
            None => json!({ "description": "Done" }),
        },
    );
    if matches!(route, Route::Download(_)) {
        responses.insert(
            "302".into(),
            json!({
                "description": "Redirect to the copy's short-lived address",
                "headers": { "Location": { "schema": { "type": "string" } } },
            }),
        );
    }
    let mut statuses: Vec<u16> = COMMON.iter().chain(about.errors).copied().collect();
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        responses.insert(status.to_string(), error_response(status));
    }
    let mut operation = json!({
        "operationId": about.id,
        "summary": about.summary,
        "tags": [about.tag],
        "parameters": parameters(route, path),
        "responses": responses,
    });
    if about.owner {
        operation["security"] = json!([{ "manage_token": [] }]);
    }
    if let Some(name) = about.body {
        operation["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema(name) } },
        });
    }
    operation
}

fn make() -> Value {
    let mut document = serde_json::to_value(Schemas::openapi()).expect("the document serialises");
    document["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    let mut paths = Map::new();
    for spec in ROUTES {
        let route = spec.route();
        let item = paths.entry(spec.path).or_insert_with(|| json!({}));
        item[spec.method.as_str().to_lowercase()] = operation(&route, spec.path);
    }
    document["paths"] = Value::Object(paths);
    let codes: Vec<&str> = ERROR_CODES.iter().map(|(_, code)| *code).collect();
    let error_body = &mut document["components"]["schemas"]["ErrorBody"];
    error_body["properties"]["error"]["enum"] = json!(codes);
    error_body["properties"]["error"]["description"] =
        json!("A stable code for programs; each operation lists those it answers, by status");
    document["components"]["securitySchemes"] = json!({
        "manage_token": {
            "type": "http", "scheme": "bearer",
            "description": "The manage token `POST /api/uploads` gave, once",
        }
    });
    document
}
