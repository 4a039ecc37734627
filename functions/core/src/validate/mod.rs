//! Every API input is checked here against a limit, with a message that says what to fix.
//! Nothing reaches storage or metadata before it has passed.

use base64::{engine::general_purpose::STANDARD, Engine};
use std::collections::BTreeSet;

use twinshare_api::{limits, CreateUploadRequest, MultipartPlan, PartChecksum, Visibility};

mod list;
mod share;
mod text;

pub use list::{list_query, ListParams, ListQuery};
pub use share::{edit, max_downloads, Edit, ExpiryPolicy, MAX_DOWNLOAD_LIMIT, MIN_EXPIRY_SECS};
pub use text::{disguising_character, file_name, uploader};

use crate::ApiError;

/// An upload request that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUpload {
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Base64 SHA-256 of the whole file, canonical form; for single-PUT uploads only.
    pub sha256: Option<String>,
    /// How the file is cut, when it is sent in parts.
    pub parts: Option<MultipartPlan>,
    pub uploader: Option<String>,
    pub visibility: Visibility,
    /// How long after its creation the file stops being shared; `None`: never.
    pub expires_in_ms: Option<i64>,
    pub max_downloads: Option<u32>,
    /// The Argon2id hash of the password, when the file has one.
    pub password_hash: Option<String>,
}

pub fn new_upload(req: CreateUploadRequest, max_size: u64, expiry: &ExpiryPolicy) -> Result<NewUpload, ApiError> {
    let name = file_name(&req.name)?;
    let size = size(req.size, max_size)?;
    let parts = MultipartPlan::for_size(size);
    let threshold_mib = limits::MULTIPART_THRESHOLD / (1024 * 1024);
    let sha256 = match (&parts, req.sha256.as_deref()) {
        (None, Some(given)) => Some(sha256(given)?),
        (None, None) => {
            return Err(ApiError::invalid(
                "sha256",
                format!("give the file's SHA-256 (standard base64): files up to {threshold_mib} MiB are sent in one request bound to it"),
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "sha256",
                format!("files over {threshold_mib} MiB are sent in parts, each with its own SHA-256; leave sha256 out"),
            ))
        }
        (Some(_), None) => None,
    };
    Ok(NewUpload {
        name,
        size,
        content_type: content_type(&req.content_type)?,
        sha256,
        parts,
        uploader: uploader(req.uploader.as_deref())?,
        visibility: req.visibility,
        expires_in_ms: expiry.choose(req.expires_in_secs, req.never_expires)?,
        max_downloads: max_downloads(req.max_downloads)?,
        // Last: hashing is the one costly step (~40 ms), done only for an otherwise valid request.
        password_hash: req
            .password
            .as_deref()
            .map(|p| crate::password::validate(p).and_then(crate::password::hash))
            .transpose()?,
    })
}

/// The parts to sign, checked against the upload's plan: each number once, in range, with a
/// well-formed SHA-256. Returns (part number, canonical SHA-256) pairs.
pub fn part_checksums(parts: &[PartChecksum], plan: &MultipartPlan) -> Result<Vec<(u32, String)>, ApiError> {
    let field = "parts";
    if parts.is_empty() {
        return Err(ApiError::invalid(field, "ask for at least one part"));
    }
    if parts.len() > limits::MAX_PARTS_PER_REQUEST {
        return Err(ApiError::invalid(
            field,
            format!(
                "ask for at most {} parts at a time; you asked for {}",
                limits::MAX_PARTS_PER_REQUEST,
                parts.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    parts
        .iter()
        .map(|part| {
            if !(1..=plan.part_count).contains(&part.number) {
                return Err(ApiError::invalid(
                    field,
                    format!(
                        "part {} does not exist: this upload has parts 1 to {}",
                        part.number, plan.part_count
                    ),
                ));
            }
            if !seen.insert(part.number) {
                return Err(ApiError::invalid(
                    field,
                    format!("part {} is asked for twice", part.number),
                ));
            }
            let checksum = sha256(&part.sha256).map_err(|_| {
                ApiError::invalid(
                    field,
                    format!(
                        "part {}: give the part's SHA-256 as standard base64 (44 characters ending in '=')",
                        part.number
                    ),
                )
            })?;
            Ok((part.number, checksum))
        })
        .collect()
}

pub fn size(size: u64, max_size: u64) -> Result<u64, ApiError> {
    if size == 0 {
        return Err(ApiError::invalid(
            "size",
            "the file is empty; choose a file with content",
        ));
    }
    if size > max_size {
        return Err(ApiError::invalid(
            "size",
            format!("the file has {size} bytes; the largest file this service accepts has {max_size} bytes"),
        ));
    }
    Ok(size)
}

/// `type/subtype`, lowercased; empty means a generic binary file.
pub fn content_type(content_type: &str) -> Result<String, ApiError> {
    let field = "content_type";
    let content_type = content_type.trim();
    if content_type.is_empty() {
        return Ok("application/octet-stream".to_owned());
    }
    if content_type.len() > limits::MAX_CONTENT_TYPE_BYTES {
        return Err(ApiError::invalid(
            field,
            format!(
                "a content type has at most {} characters",
                limits::MAX_CONTENT_TYPE_BYTES
            ),
        ));
    }
    let is_token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match content_type.split_once('/') {
        Some((kind, subtype)) if is_token(kind) && is_token(subtype) => Ok(content_type.to_ascii_lowercase()),
        _ => Err(ApiError::invalid(
            field,
            format!("{content_type:?} is not a MIME type like \"text/plain\" (no parameters)"),
        )),
    }
}

pub fn sha256(checksum: &str) -> Result<String, ApiError> {
    let field = "sha256";
    let wrong = || {
        ApiError::invalid(
            field,
            "give the file's SHA-256 digest as standard base64: 44 characters ending in '='",
        )
    };
    let bytes = STANDARD.decode(checksum.trim()).map_err(|_| wrong())?;
    if bytes.len() != 32 {
        return Err(wrong());
    }
    Ok(STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    fn request() -> CreateUploadRequest {
        CreateUploadRequest {
            name: "report.pdf".into(),
            size: 10,
            content_type: "application/pdf".into(),
            sha256: Some(SHA.into()),
            uploader: Some(" alice ".into()),
            visibility: Visibility::Listed,
            ..Default::default()
        }
    }

    fn field_of(err: ApiError) -> &'static str {
        match err {
            ApiError::Invalid { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_good_request_passes_and_is_normalised() {
        let upload = new_upload(request(), 100, &ExpiryPolicy::default()).unwrap();
        assert_eq!(upload.uploader.as_deref(), Some("alice"));
        assert_eq!(upload.content_type, "application/pdf");
    }

    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;

    #[test]
    fn small_files_go_in_one_put_bound_to_their_sha256() {
        let upload = new_upload(request(), 100, &ExpiryPolicy::default()).unwrap();
        assert_eq!((upload.sha256.as_deref(), upload.parts), (Some(SHA), None));
        let missing = CreateUploadRequest {
            sha256: None,
            ..request()
        };
        assert_eq!(
            field_of(new_upload(missing, 100, &ExpiryPolicy::default()).unwrap_err()),
            "sha256"
        );
    }

    #[test]
    fn large_files_go_in_parts_without_a_whole_file_sha256() {
        let large = CreateUploadRequest {
            size: 6 * GIB,
            sha256: None,
            ..request()
        };
        let upload = new_upload(large.clone(), 50 * GIB, &ExpiryPolicy::default()).unwrap();
        let plan = upload.parts.unwrap();
        assert_eq!((plan.part_size, plan.part_count), (8 * MIB, 768));
        assert_eq!(upload.sha256, None);
        let with_sha = CreateUploadRequest {
            sha256: Some(SHA.into()),
            ..large
        };
        assert_eq!(
            field_of(new_upload(with_sha, 50 * GIB, &ExpiryPolicy::default()).unwrap_err()),
            "sha256"
        );
    }

    #[test]
    fn parts_grow_to_stay_within_ten_thousand() {
        assert_eq!(MultipartPlan::for_size(limits::MULTIPART_THRESHOLD), None);
        let just_over = MultipartPlan::for_size(limits::MULTIPART_THRESHOLD + 1).unwrap();
        assert_eq!((just_over.part_size, just_over.part_count), (8 * MIB, 5));
        for size in [100 * GIB, 1024 * GIB, 5 * 1024 * GIB] {
            let plan = MultipartPlan::for_size(size).unwrap();
            assert!(plan.part_count <= limits::MAX_PARTS, "{size}: {plan:?}");
            assert!(plan.part_size <= limits::MAX_PART_SIZE, "{size}: {plan:?}");
            assert_eq!(plan.part_size % MIB, 0);
            assert!(u64::from(plan.part_count) * plan.part_size >= size);
            assert!(
                u64::from(plan.part_count - 1) * plan.part_size < size,
                "{size}: a part is empty"
            );
        }
    }

    #[test]
    fn part_checksums_are_checked_against_the_plan() {
        let plan = MultipartPlan {
            part_size: 8 * MIB,
            part_count: 3,
        };
        let part = |number: u32, sha256: &str| PartChecksum {
            number,
            sha256: sha256.into(),
        };
        assert_eq!(
            part_checksums(&[part(3, SHA), part(1, SHA)], &plan).unwrap(),
            vec![(3, SHA.to_owned()), (1, SHA.to_owned())]
        );
        let too_many: Vec<_> = (1..=101).map(|n| part(n, SHA)).collect();
        for bad in [
            vec![],
            vec![part(0, SHA)],
            vec![part(4, SHA)],
            vec![part(1, SHA), part(1, SHA)],
            vec![part(2, "abc")],
            too_many,
        ] {
            assert_eq!(field_of(part_checksums(&bad, &plan).unwrap_err()), "parts", "{bad:?}");
        }
    }

    #[test]
    fn size_must_be_positive_and_within_the_maximum() {
        assert_eq!(field_of(size(0, 10).unwrap_err()), "size");
        assert_eq!(field_of(size(11, 10).unwrap_err()), "size");
        assert_eq!(size(10, 10).unwrap(), 10);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("").unwrap(), "application/octet-stream");
        assert_eq!(content_type("Text/Plain").unwrap(), "text/plain");
        for bad in [
            "text",
            "text/",
            "/plain",
            "text/plain; charset=utf-8",
            "a b/c",
            &format!("a/{}", "b".repeat(300)),
        ] {
            assert!(content_type(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sha256_must_be_32_bytes_of_base64() {
        assert_eq!(sha256(SHA).unwrap(), SHA);
        for bad in ["", "abc", "not base64!!", &SHA[..40], "AAAA"] {
            assert_eq!(field_of(sha256(bad).unwrap_err()), "sha256", "{bad:?}");
        }
    }
}
