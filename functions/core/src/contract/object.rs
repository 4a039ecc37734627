//! The contract of [`ObjectStore`]: presigned requests, multipart uploads, listings, heads and deletes.

use std::{future::Future, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};

use crate::{
    ports::{GetSpec, ListedObject, ObjectStore, PartSpec, Presigned, PutSpec},
    FileId, ObjectKey,
};

fn sha256_of(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

/// The whole contract of [`ObjectStore`]. `send` plays the browser: it sends the bytes to a
/// presigned request and says whether storage accepted them.
pub async fn object_store<S, F, Fut>(store: &S, send: F)
where
    S: ObjectStore,
    F: Fn(Presigned, Vec<u8>) -> Fut,
    Fut: Future<Output = bool>,
{
    let ttl = Duration::from_secs(60);
    let within = Duration::from_secs(5);

    // Nothing there yet.
    let key = FileId::random().object_key();
    assert_eq!(store.head(&key).await.unwrap(), None);
    assert_eq!(store.check(&key, within).await.unwrap(), None);

    // One PUT, bound to its length, type and SHA-256.
    let bytes = b"twinshare contract".to_vec();
    let spec = PutSpec {
        size: bytes.len() as u64,
        content_type: "text/plain".into(),
        sha256: sha256_of(&bytes),
    };
    let put = store.presign_put(&key, &spec, ttl).await.unwrap();
    assert_eq!(put.method, "PUT");
    assert!(put.url.contains(key.as_str()), "{}", put.url);
    assert_eq!(put.headers.get("x-amz-checksum-sha256"), Some(&spec.sha256));
    assert_eq!(put.headers.get("content-length"), Some(&spec.size.to_string()));
    let mut other = bytes.clone();
    other[0] ^= 1;
    assert!(
        !send(put.clone(), other).await,
        "bytes other than the signed SHA-256 were stored"
    );
    assert_eq!(store.head(&key).await.unwrap(), None);
    assert!(send(put, bytes.clone()).await, "the signed PUT was refused");
    let info = store
        .check(&key, within)
        .await
        .unwrap()
        .expect("the object after its PUT");
    assert_eq!(info.size, bytes.len() as u64);
    let listed = every_listed(store).await;
    let entry = listed
        .iter()
        .find(|o| o.key.as_ref() == Some(&key))
        .expect("the object is listed");
    assert_eq!(entry.raw_key, key.as_str());
    assert_eq!(entry.size, bytes.len() as u64);
    // S3 reports the stored SHA-256 (HeadObject with ChecksumMode); moto 5.2.1 reports none, so
    // completion compares checksums only when storage reports one.
    if let Some(stored) = &info.sha256 {
        assert_eq!(stored, &spec.sha256);
    }

    let get = GetSpec {
        content_disposition: "attachment; filename=\"a.txt\"".into(),
        content_type: "text/plain".into(),
    };
    let signed_get = store.presign_get(&key, &get, ttl).await.unwrap();
    assert_eq!(signed_get.method, "GET");
    assert!(signed_get.url.contains(key.as_str()));

    store.delete(&key).await.unwrap();
    assert_eq!(store.head(&key).await.unwrap(), None);
    store.delete(&key).await.expect("deleting what is gone is not an error");
    assert!(!every_listed(store).await.iter().any(|o| o.key.as_ref() == Some(&key)));

    // Many at once: the ones named go (one that is not there is no failure), the rest stay.
    let mut keys = Vec::new();
    for body in [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()] {
        let key = FileId::random().object_key();
        let spec = PutSpec {
            size: body.len() as u64,
            content_type: "text/plain".into(),
            sha256: sha256_of(&body),
        };
        let signed = store.presign_put(&key, &spec, ttl).await.unwrap();
        assert!(send(signed, body).await);
        keys.push(key);
    }
    let doomed = [keys[0].clone(), keys[1].clone(), FileId::random().object_key()];
    assert_eq!(store.delete_many(&doomed).await.unwrap(), Vec::<ObjectKey>::new());
    assert_eq!(store.head(&keys[0]).await.unwrap(), None);
    assert_eq!(store.head(&keys[1]).await.unwrap(), None);
    assert!(store.head(&keys[2]).await.unwrap().is_some(), "a key not named stays");
    assert_eq!(store.delete_many(&[]).await.unwrap(), Vec::<ObjectKey>::new());
    store.delete(&keys[2]).await.unwrap();

    // In parts: every part but the last at least 5 MiB, as S3 requires.
    let key = FileId::random().object_key();
    let upload_id = store.start_multipart(&key, "application/octet-stream").await.unwrap();
    let parts = [vec![7u8; 5 * 1024 * 1024], b"end".to_vec()];
    assert_eq!(store.list_parts(&key, &upload_id).await.unwrap(), Some(Vec::new()));
    for (index, part) in parts.iter().enumerate().rev() {
        let spec = PartSpec {
            number: index as u32 + 1,
            size: part.len() as u64,
            sha256: sha256_of(part),
        };
        let signed = store.presign_part(&key, &upload_id, &spec, ttl).await.unwrap();
        assert_eq!(signed.headers.get("x-amz-checksum-sha256"), Some(&spec.sha256));
        assert!(send(signed, part.clone()).await, "part {} was refused", spec.number);
    }
    let stored = store
        .list_parts(&key, &upload_id)
        .await
        .unwrap()
        .expect("the open upload");
    let numbers_and_sizes: Vec<(u32, u64)> = stored.iter().map(|p| (p.number, p.size)).collect();
    assert_eq!(numbers_and_sizes, vec![(1, parts[0].len() as u64), (2, 3)]);
    store.complete_multipart(&key, &upload_id, &stored).await.unwrap();
    let info = store.head(&key).await.unwrap().expect("the assembled object");
    assert_eq!(info.size, parts[0].len() as u64 + 3);
    assert_eq!(
        store.list_parts(&key, &upload_id).await.unwrap(),
        None,
        "a completed upload is gone"
    );
    store.delete(&key).await.unwrap();

    // Aborted: its parts are gone, and aborting again is not an error.
    let key = FileId::random().object_key();
    let upload_id = store.start_multipart(&key, "text/plain").await.unwrap();
    let spec = PartSpec {
        number: 1,
        size: 3,
        sha256: sha256_of(b"abc"),
    };
    let signed = store.presign_part(&key, &upload_id, &spec, ttl).await.unwrap();
    assert!(send(signed, b"abc".to_vec()).await);
    store.abort_multipart(&key, &upload_id).await.unwrap();
    assert_eq!(store.list_parts(&key, &upload_id).await.unwrap(), None);
    store.abort_multipart(&key, &upload_id).await.unwrap();
    assert_eq!(store.head(&key).await.unwrap(), None);

    store.canary(within).await.expect("the canary round trip");
}

/// Every object listed, page after page; each key once, in order.
async fn every_listed<S: ObjectStore>(store: &S) -> Vec<ListedObject> {
    let mut all: Vec<ListedObject> = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store.list(after).await.unwrap();
        assert!(page.len() <= 1_000);
        all.extend(page);
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert!(
        all.windows(2).all(|w| w[0].raw_key < w[1].raw_key),
        "in key order, each once"
    );
    assert!(all.iter().all(|o| o.raw_key.starts_with("files/")));
    all
}
