//! What the CLI keeps between runs, in `$TWINSHARE_HOME` (default
//! `$XDG_STATE_HOME/twinshare`, else `~/.local/state/twinshare`):
//!
//! - `tokens/<id>.json`: the manage token of each file shared from this machine, so that
//!   `edit` and `delete` need no `--token`;
//! - `uploads/<key>.json`: each upload in parts that has not completed, under a key made of the
//!   site, the file's absolute path, size and modification time: running the same upload again
//!   resumes it.
//!
//! - `stdin/<sha256>`: standard input being shared (see [`crate::spool`]), until it is.
//!
//! One small file per entry, each written whole (a temporary file, then a rename), so that two
//! runs at once cannot corrupt each other's entries.

use std::{
    fs,
    path::{Path, PathBuf},
};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use twinshare_api::MultipartPlan;

use crate::error::{local, CliError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedFile {
    pub api: String,
    pub id: String,
    pub name: String,
    pub token: String,
}

/// An upload in parts that has not completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unfinished {
    pub api: String,
    pub id: String,
    pub token: String,
    pub path: PathBuf,
    pub size: u64,
    pub plan: MultipartPlan,
}

pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store under `TWINSHARE_HOME`, `XDG_STATE_HOME` or the home directory.
    pub fn open() -> Result<Store, CliError> {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let root = env("TWINSHARE_HOME")
            .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("twinshare")))
            .or_else(|| env("HOME").map(|d| d.join(".local/state/twinshare")))
            .ok_or_else(|| {
                CliError::Usage("no place to keep manage tokens: set TWINSHARE_HOME to a directory".into())
            })?;
        Ok(Store { root })
    }

    pub fn remember_owned(&self, owned: &OwnedFile) -> Result<(), CliError> {
        self.write(
            &self.root.join("tokens").join(format!("{}.json", safe(&owned.id))),
            owned,
        )
    }

    pub fn owned(&self, id: &str) -> Option<OwnedFile> {
        read(&self.root.join("tokens").join(format!("{}.json", safe(id))))
    }

    pub fn forget_owned(&self, id: &str) {
        let _ = fs::remove_file(self.root.join("tokens").join(format!("{}.json", safe(id))));
    }

    pub fn unfinished(&self, key: &str) -> Option<Unfinished> {
        read(&self.unfinished_path(key))
    }

    pub fn remember_unfinished(&self, key: &str, upload: &Unfinished) -> Result<(), CliError> {
        self.write(&self.unfinished_path(key), upload)
    }

    pub fn forget_unfinished(&self, key: &str) {
        let _ = fs::remove_file(self.unfinished_path(key));
    }

    /// Where standard input is kept while it is shared (created if need be).
    pub fn spool_dir(&self) -> Result<PathBuf, CliError> {
        let dir = self.root.join("stdin");
        fs::create_dir_all(&dir).map_err(local(format!("cannot create {}", dir.display())))?;
        Ok(dir)
    }

    fn unfinished_path(&self, key: &str) -> PathBuf {
        self.root.join("uploads").join(format!("{key}.json"))
    }

    fn write(&self, path: &Path, value: &impl Serialize) -> Result<(), CliError> {
        let dir = path.parent().expect("entries live in a directory");
        fs::create_dir_all(dir).map_err(local(format!("cannot create {}", dir.display())))?;
        let text = serde_json::to_vec_pretty(value).expect("entries serialise");
        write_atomically(path, &text)
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&temporary, bytes).map_err(local(format!("cannot write {}", temporary.display())))?;
    fs::rename(&temporary, path).map_err(local(format!("cannot write {}", path.display())))
}

fn read<T: DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Ids are the API's hex ids; anything else is kept out of the path.
fn safe(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
}

/// The key of an upload of `path` (absolute) to `api`: the same file, unchanged, has the same key.
pub fn upload_key(api: &str, path: &Path, size: u64, modified_ns: u128) -> String {
    let mut hash = Sha256::new();
    for part in [api.as_bytes(), path.as_os_str().as_encoded_bytes()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(size.to_be_bytes());
    hash.update(modified_ns.to_be_bytes());
    hash.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let root = std::env::temp_dir().join(format!("twinshare-store-test-{}", std::process::id()));
        Store { root }
    }

    #[test]
    fn tokens_and_unfinished_uploads_are_kept_and_forgotten() {
        let store = store();
        let owned = OwnedFile {
            api: "http://x".into(),
            id: "abc123".into(),
            name: "a.txt".into(),
            token: "secret".into(),
        };
        store.remember_owned(&owned).unwrap();
        assert_eq!(store.owned("abc123"), Some(owned));
        store.forget_owned("abc123");
        assert_eq!(store.owned("abc123"), None);
        assert_eq!(store.owned("../../etc/passwd"), None);

        let key = upload_key("http://x", Path::new("/tmp/f"), 10, 1);
        let upload = Unfinished {
            api: "http://x".into(),
            id: "id".into(),
            token: "t".into(),
            path: "/tmp/f".into(),
            size: 10,
            plan: MultipartPlan {
                part_size: 5,
                part_count: 2,
            },
        };
        store.remember_unfinished(&key, &upload).unwrap();
        assert_eq!(store.unfinished(&key), Some(upload));
        store.forget_unfinished(&key);
        assert_eq!(store.unfinished(&key), None);
        let _ = fs::remove_dir_all(store.root);
    }

    #[test]
    fn a_changed_file_has_another_key() {
        let key = upload_key("http://x", Path::new("/tmp/f"), 10, 1);
        assert_eq!(key, upload_key("http://x", Path::new("/tmp/f"), 10, 1));
        assert_ne!(key, upload_key("http://x", Path::new("/tmp/f"), 10, 2));
        assert_ne!(key, upload_key("http://x", Path::new("/tmp/f"), 11, 1));
        assert_ne!(key, upload_key("http://y", Path::new("/tmp/f"), 10, 1));
    }
}
