//! `twinshare upload -`: standard input, written whole to a file in the store before it is
//! shared. The upload needs the size and the SHA-256 before its first byte leaves, and sends a
//! large file in parts that it may have to read again (a retry, a resume).
//!
//! The file is named by the SHA-256 of its content (`stdin/<hex>` under the store), so piping
//! the same input again after an interrupted upload finds the same file, with the same path,
//! size and modification time, and so the same upload to resume. It is removed once shared.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::{
    error::{local, CliError},
    store::Store,
};

/// The path that stands for standard input.
pub const STDIN: &str = "-";

pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Reads standard input to its end into the store; returns the file to share.
pub async fn spool_stdin(store: &Store) -> Result<PathBuf, CliError> {
    spool(tokio::io::stdin(), &store.spool_dir()?).await
}

async fn spool(mut input: impl AsyncRead + Unpin, dir: &Path) -> Result<PathBuf, CliError> {
    let incoming = dir.join(format!("incoming-{}", std::process::id()));
    let mut file = tokio::fs::File::create(&incoming)
        .await
        .map_err(local(format!("cannot write {}", incoming.display())))?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0; 1024 * 1024];
    let mut size = 0u64;
    loop {
        let read = input
            .read(&mut buffer)
            .await
            .map_err(local("cannot read standard input"))?;
        if read == 0 {
            break;
        }
        hash.update(&buffer[..read]);
        file.write_all(&buffer[..read])
            .await
            .map_err(local(format!("cannot write {}", incoming.display())))?;
        size += read as u64;
    }
    file.flush()
        .await
        .map_err(local(format!("cannot write {}", incoming.display())))?;
    drop(file);
    if size == 0 {
        let _ = std::fs::remove_file(&incoming);
        return Err(CliError::Usage(
            "standard input was empty; pipe the content to share into `twinshare upload -`".into(),
        ));
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let kept = dir.join(hex);
    if kept.is_file() {
        // The same input, kept by an upload that did not finish: share that file, unchanged.
        let _ = std::fs::remove_file(&incoming);
    } else {
        std::fs::rename(&incoming, &kept).map_err(local(format!("cannot write {}", kept.display())))?;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("twinshare-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn the_same_input_is_kept_once_under_its_hash_and_empty_input_is_refused() {
        let dir = scratch("hash");
        let content = b"piped bytes".repeat(200_000);
        let first = spool(&content[..], &dir).await.unwrap();
        assert_eq!(std::fs::read(&first).unwrap(), content);
        let modified = std::fs::metadata(&first).unwrap().modified().unwrap();
        let again = spool(&content[..], &dir).await.unwrap();
        assert_eq!(again, first, "the same input, the same file: its upload resumes");
        assert_eq!(std::fs::metadata(&again).unwrap().modified().unwrap(), modified);
        let other = spool(&b"other bytes"[..], &dir).await.unwrap();
        assert_ne!(other, first);
        assert!(matches!(spool(&b""[..], &dir).await, Err(CliError::Usage(_))));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "no incoming file is left");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
