//! Every API input is checked here against a limit, with a message that says what to fix.
//! Nothing reaches storage or metadata before it has passed.

use base64::{engine::general_purpose::STANDARD, Engine};
use std::collections::BTreeSet;

use twinshare_api::{limits, CreateUploadRequest, MultipartPlan, PartChecksum, Visibility};

use crate::{cursor::ListCursor, ApiError};

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
}

pub fn new_upload(req: CreateUploadRequest, max_size: u64) -> Result<NewUpload, ApiError> {
    let name = file_name(&req.name)?;
    let size = size(req.size, max_size)?;
    let parts = multipart_plan(size);
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
    })
}

/// How a file of `size` bytes is cut into parts; `None` when it is sent in one PUT. Parts are
/// at least [`limits::MIN_PART_SIZE`], and grow (in whole MiB) to keep within S3's part count.
pub fn multipart_plan(size: u64) -> Option<MultipartPlan> {
    const MIB: u64 = 1024 * 1024;
    if size <= limits::MULTIPART_THRESHOLD {
        return None;
    }
    let max_parts = u64::from(limits::MAX_PARTS);
    let part_size = size.div_ceil(max_parts).div_ceil(MIB) * MIB;
    let part_size = part_size.max(limits::MIN_PART_SIZE);
    let part_count = u32::try_from(size.div_ceil(part_size)).ok()?;
    Some(MultipartPlan { part_size, part_count })
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

pub fn file_name(name: &str) -> Result<String, ApiError> {
    let field = "name";
    if name.trim().is_empty() {
        return Err(ApiError::invalid(field, "give the file a name"));
    }
    if name.len() > limits::MAX_NAME_BYTES {
        return Err(ApiError::invalid(
            field,
            format!(
                "the file name is {} bytes long; shorten it to at most {} bytes",
                name.len(),
                limits::MAX_NAME_BYTES
            ),
        ));
    }
    if let Some(c) = disguising_character(name) {
        return Err(ApiError::invalid(field, disguise_message("the file name", c)));
    }
    if name.contains(['/', '\\']) {
        return Err(ApiError::invalid(
            field,
            "a file name cannot contain '/' or '\\'; give the name without folders",
        ));
    }
    if name == "." || name == ".." {
        return Err(ApiError::invalid(field, "'.' and '..' are not file names"));
    }
    Ok(name.to_owned())
}

/// The first character that does not belong in a name people read: control characters, and
/// the invisible format characters that reorder or hide text (`invoice\u{202E}fdp.exe` shows as
/// `invoiceexe.pdf`). Zero-width joiner and non-joiner stay allowed: Persian, Indic scripts and
/// emoji sequences need them, and they change no order.
pub fn disguising_character(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        c.is_control()
            || matches!(c,
                '\u{00AD}'                      // soft hyphen
                | '\u{0600}'..='\u{0605}'      // Arabic number signs
                | '\u{061C}'                    // Arabic letter mark
                | '\u{06DD}' | '\u{070F}' | '\u{08E2}' | '\u{180E}'
                | '\u{200B}'                    // zero-width space
                | '\u{200E}' | '\u{200F}'      // left-to-right and right-to-left marks
                | '\u{2028}' | '\u{2029}'      // line and paragraph separators
                | '\u{202A}'..='\u{202E}'      // bidirectional embeddings and overrides
                | '\u{2060}'..='\u{206F}'      // word joiner, invisible operators, isolates
                | '\u{FEFF}'                    // byte order mark
                | '\u{FFF9}'..='\u{FFFB}'      // interlinear annotation
                | '\u{110BD}' | '\u{110CD}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}' | '\u{E0020}'..='\u{E007F}' // tag characters (hidden text)
            )
    })
}

fn disguise_message(what: &str, c: char) -> String {
    let kind = if c.is_control() {
        "a control character"
    } else {
        "an invisible formatting character that can disguise how it reads"
    };
    format!("{what} contains U+{:04X}, {kind}; remove it", c as u32)
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

/// Trimmed uploader name; blank means anonymous.
pub fn uploader(uploader: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(uploader) = uploader.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let field = "uploader";
    if uploader.chars().count() > limits::MAX_UPLOADER_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("an uploader name has at most {} characters", limits::MAX_UPLOADER_CHARS),
        ));
    }
    if let Some(c) = disguising_character(uploader) {
        return Err(ApiError::invalid(field, disguise_message("the uploader name", c)));
    }
    Ok(Some(uploader.to_owned()))
}

/// A request for a page of the public table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// Lowercased text the file name must contain.
    pub search: Option<String>,
    /// Lowercased uploader name the file must have.
    pub uploader: Option<String>,
    pub limit: u32,
    pub after: Option<ListCursor>,
}

/// Builds a [`ListQuery`] from the raw query-string values.
pub fn list_query(
    search: Option<&str>,
    uploader_filter: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<ListQuery, ApiError> {
    let search = match search.map(str::trim).filter(|s| !s.is_empty()) {
        Some(q) if q.chars().count() > limits::MAX_SEARCH_CHARS => {
            return Err(ApiError::invalid(
                "q",
                format!("search text has at most {} characters", limits::MAX_SEARCH_CHARS),
            ))
        }
        Some(q) if disguising_character(q).is_some() => {
            return Err(ApiError::invalid(
                "q",
                "search text cannot contain control or invisible formatting characters",
            ))
        }
        Some(q) => Some(q.to_lowercase()),
        None => None,
    };
    let uploader = uploader(uploader_filter)?.map(|u| u.to_lowercase());
    let limit = match limit {
        None | Some("") => limits::DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=limits::MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("limit is a whole number from 1 to {}", limits::MAX_PAGE_SIZE),
                ))
            }
        },
    };
    let after = match cursor.filter(|c| !c.is_empty()) {
        Some(text) => Some(ListCursor::decode(text)?),
        None => None,
    };
    Ok(ListQuery {
        search,
        uploader,
        limit,
        after,
    })
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
        let upload = new_upload(request(), 100).unwrap();
        assert_eq!(upload.uploader.as_deref(), Some("alice"));
        assert_eq!(upload.content_type, "application/pdf");
    }

    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;

    #[test]
    fn small_files_go_in_one_put_bound_to_their_sha256() {
        let upload = new_upload(request(), 100).unwrap();
        assert_eq!((upload.sha256.as_deref(), upload.parts), (Some(SHA), None));
        let missing = CreateUploadRequest {
            sha256: None,
            ..request()
        };
        assert_eq!(field_of(new_upload(missing, 100).unwrap_err()), "sha256");
    }

    #[test]
    fn large_files_go_in_parts_without_a_whole_file_sha256() {
        let large = CreateUploadRequest {
            size: 6 * GIB,
            sha256: None,
            ..request()
        };
        let upload = new_upload(large.clone(), 50 * GIB).unwrap();
        let plan = upload.parts.unwrap();
        assert_eq!((plan.part_size, plan.part_count), (8 * MIB, 768));
        assert_eq!(upload.sha256, None);
        let with_sha = CreateUploadRequest {
            sha256: Some(SHA.into()),
            ..large
        };
        assert_eq!(field_of(new_upload(with_sha, 50 * GIB).unwrap_err()), "sha256");
    }

    #[test]
    fn parts_grow_to_stay_within_ten_thousand() {
        assert_eq!(multipart_plan(limits::MULTIPART_THRESHOLD), None);
        let just_over = multipart_plan(limits::MULTIPART_THRESHOLD + 1).unwrap();
        assert_eq!((just_over.part_size, just_over.part_count), (8 * MIB, 5));
        for size in [100 * GIB, 1024 * GIB, 5 * 1024 * GIB] {
            let plan = multipart_plan(size).unwrap();
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
    fn names_with_spaces_quotes_and_non_ascii_are_kept_as_given() {
        for name in [
            "Über \"quoted\" 報告 (final).pdf",
            "تقرير.pdf",
            "מסמך final.txt",
            "می\u{200C}خواهم.txt",
            "👨\u{200D}👩\u{200D}👧.jpg",
        ] {
            assert_eq!(file_name(name).unwrap(), name);
        }
    }

    #[test]
    fn bad_names_are_rejected() {
        let long = "a".repeat(256);
        for bad in [
            "",
            "   ",
            "a/b",
            "a\\b",
            "a\nb",
            "a\u{0}b",
            ".",
            "..",
            long.as_str(),
            "invoice\u{202E}fdp.exe",
            "a\u{2066}b\u{2069}",
            "zero\u{200B}width",
            "bom\u{FEFF}.txt",
            "tag\u{E0041}.txt",
            "line\u{2028}break",
        ] {
            assert!(file_name(bad).is_err(), "{bad:?} accepted");
        }
        // 255 bytes is the limit, counted in UTF-8: 85 three-byte characters fit, 86 do not.
        assert!(file_name(&"報".repeat(85)).is_ok());
        assert!(file_name(&"報".repeat(86)).is_err());
    }

    #[test]
    fn a_name_disguised_by_a_direction_override_is_refused_with_the_character_named() {
        let err = file_name("invoice\u{202E}fdp.exe").unwrap_err();
        let ApiError::Invalid { field, message } = err else {
            panic!("not a validation error")
        };
        assert_eq!(field, "name");
        assert!(message.contains("U+202E") && message.contains("disguise"), "{message}");
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

    #[test]
    fn uploader_is_optional_trimmed_and_limited() {
        assert_eq!(uploader(None).unwrap(), None);
        assert_eq!(uploader(Some("  ")).unwrap(), None);
        assert_eq!(uploader(Some(" bob ")).unwrap().as_deref(), Some("bob"));
        assert!(uploader(Some(&"x".repeat(65))).is_err());
        assert!(uploader(Some("a\tb")).is_err());
        assert!(uploader(Some("eve\u{202E}nimda")).is_err());
        assert_eq!(uploader(Some("Zoë 李")).unwrap().as_deref(), Some("Zoë 李"));
    }

    #[test]
    fn list_query_limits() {
        let q = list_query(Some(" Report "), Some("Alice"), None, None).unwrap();
        assert_eq!(q.search.as_deref(), Some("report"));
        assert_eq!(q.uploader.as_deref(), Some("alice"));
        assert_eq!(q.limit, limits::DEFAULT_PAGE_SIZE);
        for bad in ["0", "101", "-1", "ten"] {
            assert_eq!(field_of(list_query(None, None, Some(bad), None).unwrap_err()), "limit");
        }
        assert_eq!(
            field_of(list_query(Some(&"q".repeat(101)), None, None, None).unwrap_err()),
            "q"
        );
        assert_eq!(
            field_of(list_query(None, None, None, Some("garbage")).unwrap_err()),
            "cursor"
        );
    }
}
