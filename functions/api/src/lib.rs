//! The JSON contract between the site and the HTTP functions.
//!
//! Only serde types live here so that the site (wasm) and the functions share one definition.
//! Validation and rules live in `twinshare-core`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The one spelling of each variant of an enum, on the wire and in storage: `as_str`, `parse`
/// and `ALL`. A test holds serde's `snake_case` names to these, so the two cannot drift.
macro_rules! wire_names {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }
    };
}

pub mod display;
mod status;
pub use status::{
    BucketUsage, RegionStatus, RegionView, StatusView, StorageView, SweepPassView, UploadMode, UploadsView,
};

/// Whether a file appears in the public table or is reachable only by its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Listed,
    Unlisted,
}

wire_names!(Visibility { Listed => "listed", Unlisted => "unlisted" });

/// `POST /api/uploads`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    /// The file's name as the person sees it; metadata only, never part of a storage key.
    pub name: String,
    /// Exact size in bytes.
    pub size: u64,
    /// MIME type; empty means `application/octet-stream`.
    #[serde(default)]
    pub content_type: String,
    /// SHA-256 of the whole file, standard base64 (44 characters). Required for a file sent in
    /// one request (at most [`limits::MULTIPART_THRESHOLD`] bytes); absent for larger files,
    /// whose parts each carry their own SHA-256 instead.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Who shares it; absent or empty means anonymous.
    #[serde(default)]
    pub uploader: Option<String>,
    #[serde(default)]
    pub visibility: Visibility,
    /// Seconds until the file stops being shared; absent: the operator's default. At most the
    /// operator's maximum.
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    /// Shared until deleted; refused unless the operator allows files that never expire.
    #[serde(default)]
    pub never_expires: bool,
    /// Successful downloads allowed; absent: unlimited.
    #[serde(default)]
    pub max_downloads: Option<u32>,
    /// Downloads then need it (header `X-Share-Password`); stored as an Argon2id hash only.
    #[serde(default)]
    pub password: Option<String>,
}

/// The header that carries a protected file's password on its download (a header, not the
/// query string, which logs keep; a GET, so that the read failover can carry it).
pub const PASSWORD_HEADER: &str = "x-share-password";

/// Answer to `GET /api/files/{id}/download` asked with `Accept: application/json` (how the site
/// downloads a protected file: it sends the password, then follows the address itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadLink {
    pub url: String,
}

/// `PATCH /api/manage/{id}`: what the owner changes; every field left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EditFileRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// A new expiry, this many seconds from now (within the operator's maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// `true`: never expires (if the operator allows it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub never_expires: bool,
    /// A number sets the limit of successful downloads (downloads already made count towards
    /// it); `null` removes the limit.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<Option<u32>>,
    /// A string sets or changes the password; `null` removes it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub password: Option<Option<String>>,
}

/// For fields where `null` means something: present (even as `null`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// How the browser sends the bytes, chosen by the server from the file's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadPlan {
    /// One presigned PUT of the whole file.
    Single(PresignedRequest),
    /// Parts of `part_size` bytes (the last one shorter), sent in parallel. Ask for their URLs
    /// with `POST /api/uploads/{id}/parts`, then complete the upload.
    Multipart(MultipartPlan),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MultipartPlan {
    pub part_size: u64,
    pub part_count: u32,
}

impl MultipartPlan {
    /// How a file of `size` bytes is cut into parts; `None` when it is sent in one PUT. Parts
    /// are at least [`limits::MIN_PART_SIZE`], and grow (in whole MiB) to keep within S3's part
    /// count. The server plans uploads with it; a client checks a download's S3 ETag with it.
    pub fn for_size(size: u64) -> Option<MultipartPlan> {
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

    /// Byte range `[start, end)` of part `number` (1-based) of a file of `size` bytes.
    pub fn range(&self, number: u32, size: u64) -> (u64, u64) {
        let start = u64::from(number.saturating_sub(1)) * self.part_size;
        (start.min(size), (start + self.part_size).min(size))
    }
}

/// `POST /api/uploads/{id}/parts`: the parts to sign, each with the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PartUrlsRequest {
    pub parts: Vec<PartChecksum>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PartChecksum {
    /// 1-based part number.
    pub number: u32,
    /// SHA-256 of the part's bytes, standard base64.
    pub sha256: String,
}

/// Answer to `POST /api/uploads/{id}/parts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartUrls {
    pub parts: Vec<PartUrl>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartUrl {
    pub number: u32,
    /// A PUT bound to the part's exact length and SHA-256.
    pub request: PresignedRequest,
}

/// Answer to `GET /api/uploads/{id}/parts`: what storage holds already, to resume an upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredParts {
    pub plan: MultipartPlan,
    pub parts: Vec<StoredPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredPart {
    pub number: u32,
    pub size: u64,
}

/// A request signed by the server that the browser sends as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    /// Headers that are part of the signature: send exactly these (the browser sets
    /// `content-length` itself from the body).
    pub headers: BTreeMap<String, String>,
    pub expires_at_ms: i64,
}

/// Answer to `POST /api/uploads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUploadResponse {
    pub file: FileView,
    pub upload: UploadPlan,
    /// The owner's secret, given this once (only a hash is stored): completing, cancelling,
    /// editing and deleting the file need it as `Authorization: Bearer <manage_token>`.
    pub manage_token: String,
}

/// Where a file stands, as a person would say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// The upload has been announced; the bytes are not confirmed yet.
    Uploading,
    /// One verified copy.
    Available,
    /// Two verified copies, in two regions.
    Redundant,
}

wire_names!(FileStatus { Uploading => "uploading", Available => "available", Redundant => "redundant" });

/// State of one stored copy of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CopyState {
    Pending,
    Copying,
    Verified,
    Failed,
    Missing,
}

wire_names!(CopyState { Pending => "pending", Copying => "copying", Verified => "verified", Failed => "failed", Missing => "missing" });

/// Which copy: the one in the primary region's bucket, or the one in the second region's.
/// Which of the two received the upload is the file's `home_region`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CopyRole {
    Primary,
    Replica,
}

wire_names!(CopyRole { Primary => "primary", Replica => "replica" });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CopyView {
    pub role: CopyRole,
    pub region: String,
    pub state: CopyState,
    pub updated_at_ms: i64,
}

/// A file as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileView {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// SHA-256 of the whole file (base64), for files sent in one request; files sent in parts
    /// were checked part by part instead.
    pub sha256: Option<String>,
    /// `None` for anonymous uploads.
    pub uploader: Option<String>,
    pub visibility: Visibility,
    pub status: FileStatus,
    pub created_at_ms: i64,
    pub copies: Vec<CopyView>,
    /// Path of the download endpoint, relative to the API's origin.
    pub download_path: String,
    /// When the file stops being shared; absent: never.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
    /// The limit of successful downloads; absent: unlimited.
    #[serde(default)]
    pub max_downloads: Option<u32>,
    /// Downloads left before the limit is reached.
    #[serde(default)]
    pub downloads_left: Option<u32>,
    /// Whether downloading needs a password.
    #[serde(default)]
    pub protected: bool,
    /// The region whose bucket received the file's bytes and which copies them to the other:
    /// the primary's, or the second region's for a file shared while the primary was down.
    /// Owner edits, download counts and an unfinished upload's steps are answered there.
    #[serde(default)]
    pub home_region: String,
}

/// Answer to `GET /api/files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileList {
    pub files: Vec<FileView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Every error body: a stable code for programs and a sentence for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// Limits the server enforces, shared so that the site can check before it sends.
pub mod limits {
    /// Longest file name, in bytes of UTF-8.
    pub const MAX_NAME_BYTES: usize = 255;
    /// Longest uploader name, in characters.
    pub const MAX_UPLOADER_CHARS: usize = 64;
    /// Longest content type.
    pub const MAX_CONTENT_TYPE_BYTES: usize = 255;
    /// Longest search text, in characters.
    pub const MAX_SEARCH_CHARS: usize = 100;
    /// Default and largest page of the file list.
    pub const DEFAULT_PAGE_SIZE: u32 = 25;
    pub const MAX_PAGE_SIZE: u32 = 100;

    const MIB: u64 = 1024 * 1024;
    /// Files larger than this are uploaded in parts.
    pub const MULTIPART_THRESHOLD: u64 = 32 * MIB;
    /// Smallest part (S3's minimum is 5 MiB); parts grow to keep within [`MAX_PARTS`].
    pub const MIN_PART_SIZE: u64 = 8 * MIB;
    /// S3's limit of parts in one upload.
    pub const MAX_PARTS: u32 = 10_000;
    /// Most part URLs signed by one request.
    pub const MAX_PARTS_PER_REQUEST: usize = 100;
    /// S3's limit of one part.
    pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_plan_is_tagged_by_kind() {
        let plan = UploadPlan::Single(PresignedRequest {
            method: "PUT".into(),
            url: "http://x".into(),
            headers: BTreeMap::new(),
            expires_at_ms: 1,
        });
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["kind"], "single");
        assert_eq!(json["method"], "PUT");
    }

    #[test]
    fn multipart_ranges_cover_the_file_once() {
        let plan = MultipartPlan {
            part_size: 10,
            part_count: 3,
        };
        assert_eq!(plan.range(1, 25), (0, 10));
        assert_eq!(plan.range(3, 25), (20, 25));
        let json = serde_json::to_value(UploadPlan::Multipart(plan)).unwrap();
        assert_eq!(json["kind"], "multipart");
        assert_eq!(json["part_count"], 3);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<CreateUploadRequest>(r#"{"name":"a","size":1,"sha256":"x","colour":"red"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn an_edit_tells_a_removed_limit_from_an_untouched_one() {
        let edit: EditFileRequest = serde_json::from_str(r#"{"max_downloads":null}"#).unwrap();
        assert_eq!(edit.max_downloads, Some(None));
        let edit: EditFileRequest = serde_json::from_str(r#"{"max_downloads":3}"#).unwrap();
        assert_eq!(edit.max_downloads, Some(Some(3)));
        let edit: EditFileRequest = serde_json::from_str(r#"{"name":"b"}"#).unwrap();
        assert_eq!(edit.max_downloads, None);
        assert_eq!(serde_json::to_string(&edit).unwrap(), r#"{"name":"b"}"#);
    }
}

#[cfg(test)]
mod wire_name_tests {
    use super::*;

    fn serde_name<T: Serialize>(value: T) -> String {
        serde_json::to_value(value).unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn each_variant_has_one_spelling_in_serde_and_storage() {
        macro_rules! check {
            ($($ty:ident),+) => {$(
                for v in $ty::ALL {
                    assert_eq!(serde_name(*v), v.as_str(), "{}", stringify!($ty));
                    assert_eq!($ty::parse(v.as_str()), Some(*v));
                }
            )+};
        }
        check!(Visibility, FileStatus, CopyState, CopyRole, RegionStatus);
        assert_eq!(CopyState::parse("Verified"), None, "exact spelling only");
    }
}
