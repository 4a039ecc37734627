//! The functions' template policies as the gateways enforce them (infra/local/iam.py), and
//! what the gateways decided: each stack has its own directory of both.

use std::{
    path::PathBuf,
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use crate::{emulators::repo_root, BUCKET, HEALTH_TABLE, REGION, REPLICA_BUCKET, REPLICA_REGION, SEARCH_TABLE, TABLE};

/// Where the gateways find the functions' policies and record what they decided.
pub struct Iam {
    pub dir: PathBuf,
}

impl Iam {
    pub(crate) fn create() -> Iam {
        static STACKS: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "twinshare-it-{}-{}",
            std::process::id(),
            STACKS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let status = Command::new("python3")
            .arg(repo_root().join("infra/local/iam.py"))
            .args(["policies", "--out"])
            .arg(dir.join("policies.json"))
            .args(["--region", REGION, "--replica-region", REPLICA_REGION, "--table", TABLE])
            .args([
                "--health-table",
                HEALTH_TABLE,
                "--search-table",
                SEARCH_TABLE,
                "--bucket",
                BUCKET,
                "--replica-bucket",
                REPLICA_BUCKET,
            ])
            .status()
            .expect("python3 runs");
        assert!(status.success(), "resolving the template's policies failed");
        Iam { dir }
    }

    pub fn policies_path(&self) -> PathBuf {
        self.dir.join("policies.json")
    }

    pub(crate) fn record(&self, emulator: &str) -> PathBuf {
        self.dir.join(format!("calls-{emulator}.jsonl"))
    }

    /// The functions' resolved policies: {function: [policy document, …]}.
    pub fn policies(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.policies_path()).unwrap()).unwrap()
    }

    /// Replaces the policies the gateways enforce (they re-read the file when it changes).
    pub fn set_policies(&self, policies: &serde_json::Value) {
        let path = self.policies_path();
        let before = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        std::fs::write(&path, serde_json::to_vec_pretty(policies).unwrap()).unwrap();
        // The gateways compare modification times: make sure the change is seen.
        if std::fs::metadata(&path).and_then(|m| m.modified()).ok() == before {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::write(&path, serde_json::to_vec_pretty(policies).unwrap()).unwrap();
        }
    }

    /// Every decision the gateways recorded: (function, action, resource, allowed).
    pub fn calls(&self) -> Vec<(String, String, String, bool)> {
        ["metadata", "primary", "replica", "second-metadata"]
            .iter()
            .filter_map(|emulator| std::fs::read_to_string(self.record(emulator)).ok())
            .flat_map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>())
            .map(|line| {
                let call: serde_json::Value = serde_json::from_str(&line).unwrap();
                let field = |name: &str| call[name].as_str().unwrap_or_default().to_owned();
                (
                    field("function"),
                    field("action"),
                    field("resource"),
                    call["allowed"] == true,
                )
            })
            .collect()
    }

    /// The refused calls, as "function action on resource".
    pub fn refused(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(_, _, _, allowed)| !allowed)
            .map(|(function, action, resource, _)| format!("{function} {action} on {resource}"))
            .collect()
    }

    /// Forgets what was recorded so far (after a test refused calls on purpose).
    pub fn forget_calls(&self) {
        for emulator in ["metadata", "primary", "replica"] {
            let _ = std::fs::remove_file(self.record(emulator));
        }
    }
}
