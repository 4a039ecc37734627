//! The second region of a two-region stack: its replica of the tables, which
//! `infra/local/global_tables.py` keeps in step with the primary's as DynamoDB global tables do,
//! and infra/replica.yaml's functions (the binaries configured for that region, each signing as
//! its own role, `files-api@us-west-2`): its API, replication of its own uploads, fed by its
//! bucket's notifications to its own queue, and its sweep.

use std::{
    collections::HashMap,
    process::{Child, Command},
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Response};
use twinshare_lambda::{Config, LiveProbe, LiveReplication, LiveService};

use crate::{
    function_sdk, queue_client, repo_root, ApiRegion, Emulator, Stack, HEALTH_TABLE, QUEUE, REGION, REPLICA_REGION,
    SEARCH_TABLE, TABLE,
};

pub struct SecondRegion {
    /// The second region's DynamoDB (moto behind its gateway): "down" takes its tables away.
    pub metadata: Emulator,
    replayer: Child,
    pub files_api: LiveService,
    pub upload_api: LiveService,
    pub replicate: LiveReplication,
    /// This region's sweep: it writes only the records homed here.
    pub sweep: LiveReplication,
    /// This region's replication queue, in the moto behind the replica bucket's gateway.
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queue_url: String,
    /// infra/replica.yaml's configuration: this region's functions, its table replica.
    config: Config,
    /// The operator's client of this region's tables.
    dynamodb: aws_sdk_dynamodb::Client,
}

impl Drop for SecondRegion {
    fn drop(&mut self) {
        let _ = self.replayer.kill();
        let _ = self.replayer.wait();
    }
}

impl SecondRegion {
    pub(crate) async fn start(
        config: &Config,
        primary_metadata: &Emulator,
        metadata: Emulator,
        storage: &Emulator,
    ) -> SecondRegion {
        // The replayer is AWS's own service: it signs as the operator (the process's own keys).
        let replayer = Command::new("python3")
            .arg(repo_root().join("infra/local/global_tables.py"))
            .args(["--table", TABLE, "--table", HEALTH_TABLE, "--table", SEARCH_TABLE])
            .args(["--every", "0.1"])
            .arg("--region")
            .arg(format!("{REGION}={}", primary_metadata.url))
            .arg("--region")
            .arg(format!("{REPLICA_REGION}={}", metadata.url))
            .spawn()
            .expect("python3 runs");
        let mut second = config.clone();
        second.settings.serving_region = Some(REPLICA_REGION.into());
        second.endpoints.dynamodb = Some(metadata.url.clone());
        let files_api = second.read_service(&function_sdk(&format!("files-api@{REPLICA_REGION}")).await);
        let upload_api = second.service(&function_sdk(&format!("upload-api@{REPLICA_REGION}")).await);
        let replicate = second.replication(&function_sdk(&format!("replicate@{REPLICA_REGION}")).await);
        let sweep = second.replication(&function_sdk(&format!("sweep@{REPLICA_REGION}")).await);
        let sdk = twinshare_aws::clients::sdk_config(REPLICA_REGION).await;
        let dynamodb = twinshare_aws::clients::dynamodb_client(&sdk, Some(&metadata.url));
        let (sqs, queue_url) = queue_client(REPLICA_REGION, storage, QUEUE).await;
        SecondRegion {
            metadata,
            replayer,
            files_api,
            upload_api,
            replicate,
            sweep,
            sqs,
            queue_url,
            config: second,
            dynamodb,
        }
    }

    /// This region's probe, signing as its own role (`probe@us-west-2`).
    pub async fn probe(&self, within: Duration) -> LiveProbe {
        self.config
            .probe(&function_sdk(&format!("probe@{REPLICA_REGION}")).await, within)
    }
}

/// Every item of a table, by its key attributes (`id`, `name` or `gram` + `age_key`).
async fn items(client: &aws_sdk_dynamodb::Client, table: &str) -> HashMap<String, HashMap<String, AttributeValue>> {
    let mut all = HashMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("the operator may scan every table");
        for item in page.items() {
            let key = ["id", "name", "gram", "age_key"]
                .iter()
                .filter_map(|k| item.get(*k).map(|v| format!("{k}={v:?}")))
                .collect::<Vec<_>>()
                .join(" ");
            all.insert(key, item.clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return all;
        }
    }
}

impl Stack {
    pub fn second(&self) -> &SecondRegion {
        self.second_region
            .as_ref()
            .expect("a stack made by stack_in_two_regions")
    }

    /// Sends a request without a body to the second region's API, with the owner's token when
    /// it is a call on an upload created through this stack.
    pub async fn second_region_api(&self, method: &str, path_and_query: &str) -> Response<Body> {
        let token = self.token_for(path_and_query);
        self.api_in(ApiRegion::Second, token.as_deref(), method, path_and_query, None)
            .await
    }

    /// The items the two regions' tables disagree on, as "table: key" (none once converged).
    pub async fn tables_differing(&self) -> Vec<String> {
        let mut differing = Vec::new();
        for table in [TABLE, HEALTH_TABLE, SEARCH_TABLE] {
            let here = items(&self.dynamodb, table).await;
            let there = items(&self.second().dynamodb, table).await;
            for key in here.keys().chain(there.keys()) {
                if here.get(key) != there.get(key) && !differing.contains(&format!("{table}: {key}")) {
                    differing.push(format!("{table}: {key}"));
                }
            }
        }
        differing
    }

    /// Takes the primary region's tables and bucket down together ("down"), or brings them back
    /// ("ok").
    pub async fn set_primary_region(&self, mode: &str) {
        self.metadata.set_fault(mode).await;
        self.primary.set_fault(mode).await;
    }

    /// Waits until both regions' tables hold the same items; fails after 60 s naming the rest
    /// (the replayer falls seconds behind when several two-region stacks share a busy machine).
    pub async fn wait_until_tables_agree(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let differing = self.tables_differing().await;
            if differing.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the regions' tables still differ on {differing:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the second region's API answers `path` with `status` (replication between
    /// the tables is asynchronous), and returns that answer; fails after 30 s.
    pub async fn in_second_region(&self, path: &str, status: u16) -> Response<Body> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response = self.second_region_api("GET", path).await;
            if response.status() == status {
                return response;
            }
            assert!(
                Instant::now() < deadline,
                "the second region still answers {path} with {}: {}",
                response.status(),
                String::from_utf8_lossy(response.body().as_ref())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
