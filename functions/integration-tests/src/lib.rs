//! Harness for the integration tests: moto servers on free ports (killed on drop), provisioned
//! by the same script as the local stack, and the functions' handlers wired to the real AWS SDK
//! exactly as their `main.rs` does. Requests go through the handlers as API Gateway would
//! route them; the bytes go to the presigned URLs over HTTP, as a browser sends them; queue
//! messages reach `replicate` as Lambda's SQS integration hands them over.

use std::{
    collections::HashMap,
    process::Command,
    sync::{Mutex, Once},
    time::Duration,
};

use lambda_http::{Body, Response};
use twinshare_api::{limits, CopyRole, CreateUploadResponse, FileView};
use twinshare_aws::{
    clients::{Credentials, RegionsSdk},
    AwsEndpoints, CopyMode,
};
use twinshare_core::ServiceSettings;
use twinshare_lambda::{
    routes::{route, Function, FALLBACK_FUNCTION},
    Config, LiveProbe, LiveReplication, LiveService,
};

mod accounting;
mod downloads;
mod emulators;
mod iam;
mod listing;
mod queues;
mod second_region;
mod uploads;
pub use accounting::SweepAt;
pub use downloads::Downloaded;
pub(crate) use queues::queue_client;
pub use queues::sqs_event;
pub use second_region::SecondRegion;

pub use emulators::{repo_root, Emulator, Moto};
pub use iam::Iam;
pub use listing::{arg, listed_file, listed_upload};
pub use twinshare_lambda::testing::json;

pub const REGION: &str = "eu-west-1";
pub const TABLE: &str = "twinshare-files";
pub const HEALTH_TABLE: &str = "twinshare-health";
pub const SEARCH_TABLE: &str = "twinshare-search";
pub const BUCKET: &str = "twinshare-primary";
pub const REPLICA_REGION: &str = "us-west-2";
pub const REPLICA_BUCKET: &str = "twinshare-replica";
pub const QUEUE: &str = "twinshare-replication";
/// The provisioner's and the tests' own key: the gateways let it do anything.
const OPERATOR_KEY: &str = "twinshare-local";

/// A provisioned emulated AWS and each function's use cases wired to it, each signing as its
/// own identity: every call a function makes is held to its own policy in template.yaml, and a
/// refused call fails the test that made it (checked when the stack is dropped).
pub struct Stack {
    pub metadata: Emulator,
    /// The second region's table replica and read API, in a stack made by
    /// [`stack_in_two_regions`].
    pub second_region: Option<SecondRegion>,
    /// The primary region: its S3 and the replication queue (moto notifies only its own queues,
    /// so the queue lives in the moto behind the primary's gateway).
    pub primary: Emulator,
    pub replica: Emulator,
    pub upload_api: LiveService,
    pub files_api: LiveService,
    pub replicate: LiveReplication,
    pub sweep: LiveReplication,
    /// The adapters with the operator's unrestricted identity: for the port contracts, which
    /// exercise every port operation (no one function may do them all).
    pub operator: LiveService,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub primary_s3: aws_sdk_s3::Client,
    pub replica_s3: aws_sdk_s3::Client,
    pub http: reqwest::Client,
    /// What the functions were configured with, to build more of them (e.g. the probe).
    pub config: Config,
    /// The functions' resolved policies (iam.py), which the gateways re-read when it changes,
    /// and the gateways' records of every decision.
    pub iam: Iam,
    /// The manage token of each upload created through [`Stack::api`], by file id: `api` sends
    /// it with the owner's calls, as the site does.
    tokens: Mutex<HashMap<String, String>>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let refused = self.iam.refused();
        let _ = std::fs::remove_dir_all(&self.iam.dir);
        if std::thread::panicking() {
            if !refused.is_empty() {
                eprintln!("calls refused by their function's policy:\n{}", refused.join("\n"));
            }
        } else {
            assert!(
                refused.is_empty(),
                "calls refused by the calling function's policy in template.yaml:\n{}",
                refused.join("\n")
            );
        }
    }
}

fn provision(metadata: &Emulator, primary: &Emulator, replica: &Emulator, second_metadata: Option<&Emulator>) {
    let mut command = Command::new("python3");
    command.arg(repo_root().join("infra/local/provision.py"));
    if let Some(second) = second_metadata {
        // Both regions' tables, with the streams the replayer reads, and the second region's
        // replication queue, which its bucket notifies (moto notifies only its own queues).
        command.args([
            "--streams",
            "--second-region",
            REPLICA_REGION,
            "--second-dynamodb-endpoint",
            &second.url,
            "--replica-sqs-endpoint",
            &replica.moto.url,
        ]);
    }
    let status = command
        .args([
            "--region",
            REGION,
            "--table",
            TABLE,
            "--search-table",
            SEARCH_TABLE,
            "--bucket",
            BUCKET,
            "--origin",
            "http://127.0.0.1:8080",
        ])
        .args(["--dynamodb-endpoint", &metadata.url, "--s3-endpoint", &primary.url])
        .args([
            "--queue",
            QUEUE,
            "--replica-region",
            REPLICA_REGION,
            "--replica-bucket",
            REPLICA_BUCKET,
        ])
        .args([
            "--replica-s3-endpoint",
            &replica.url,
            "--sqs-endpoint",
            &primary.moto.url,
        ])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "provisioning failed");
}

static CREDENTIALS: Once = Once::new();

/// The identity a function signs with locally (iam.py's `access_key`).
fn identity(function: &str) -> Credentials {
    Credentials::new(
        format!("twinshare-fn-{function}"),
        "local",
        None,
        None,
        "twinshare-tests",
    )
}

/// How long files-api's table calls may take in the tests: moto reads a whole table for each
/// Query (hundreds of milliseconds at a thousand files, where DynamoDB takes a few), so the
/// deployed 300 ms would fail reads that are only slow on the emulator. The give-up itself is
/// tested with [`stack_reading_within`] and the deployed figure.
const EMULATOR_READ_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn stack(settings: ServiceSettings) -> Stack {
    build_stack(settings, EMULATOR_READ_TIMEOUT, false).await
}

/// As [`stack`], with files-api's table calls giving up after `read_timeout` per attempt.
pub async fn stack_reading_within(settings: ServiceSettings, read_timeout: Duration) -> Stack {
    build_stack(settings, read_timeout, false).await
}

/// As [`stack`], with the second region's replica of the tables (kept in step by
/// `infra/local/global_tables.py`, as DynamoDB global tables) and its read API
/// ([`Stack::second_region`]).
pub async fn stack_in_two_regions(settings: ServiceSettings) -> Stack {
    build_stack(settings, EMULATOR_READ_TIMEOUT, true).await
}

async fn build_stack(settings: ServiceSettings, read_timeout: Duration, two_regions: bool) -> Stack {
    // The SDK's default chain reads these: the operator's identity, for the tests' own clients.
    CREDENTIALS.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", OPERATOR_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", OPERATOR_KEY);
        // The functions' logs, shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("info")
            .try_init();
    });
    let iam = Iam::create();
    let policies = iam.policies_path();
    let metadata = Emulator::start(&policies, &iam.record("metadata"));
    let primary = Emulator::start(&policies, &iam.record("primary"));
    let replica = Emulator::start(&policies, &iam.record("replica"));
    let second_metadata = two_regions.then(|| Emulator::start(&policies, &iam.record("second-metadata")));
    provision(&metadata, &primary, &replica, second_metadata.as_ref());
    let config = Config {
        primary_region: REGION.into(),
        primary_bucket: BUCKET.into(),
        replica_region: REPLICA_REGION.into(),
        replica_bucket: REPLICA_BUCKET.into(),
        table: TABLE.into(),
        health_table: HEALTH_TABLE.into(),
        search_table: SEARCH_TABLE.into(),
        endpoints: AwsEndpoints {
            primary_s3: Some(primary.url.clone()),
            replica_s3: Some(replica.url.clone()),
            dynamodb: Some(metadata.url.clone()),
        },
        settings,
        copy_mode: CopyMode::Stream,
        sweep_grace: Duration::ZERO,
        metadata_read_timeout: read_timeout,
    };
    let upload_api = config.service(&function_sdk("upload-api").await);
    let files_api = config.read_service(&function_sdk("files-api").await);
    let replicate = config.replication(&function_sdk("replicate").await);
    let sweep = config.replication(&function_sdk("sweep").await);
    let operator = config.service(&RegionsSdk::load(REGION, REPLICA_REGION).await);
    let second_region = match second_metadata {
        Some(second) => Some(SecondRegion::start(&config, &metadata, second, &replica).await),
        None => None,
    };
    let sdk = twinshare_aws::clients::sdk_config(REGION).await;
    let dynamodb = twinshare_aws::clients::dynamodb_client(&sdk, Some(&metadata.url));
    let (sqs, queue_url) = queue_client(REGION, &primary, QUEUE).await;
    let primary_s3 = twinshare_aws::clients::s3_client(&sdk, Some(&primary.url));
    let replica_sdk = twinshare_aws::clients::sdk_config(REPLICA_REGION).await;
    let replica_s3 = twinshare_aws::clients::s3_client(&replica_sdk, Some(&replica.url));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Stack {
        metadata,
        second_region,
        primary,
        replica,
        upload_api,
        files_api,
        replicate,
        sweep,
        operator,
        dynamodb,
        sqs,
        queue_url,
        primary_s3,
        replica_s3,
        http,
        config,
        iam,
        tokens: Mutex::default(),
    }
}

/// Which region's functions answer a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRegion {
    Primary,
    /// infra/replica.yaml's, in a stack made by [`stack_in_two_regions`].
    Second,
}

/// A function's SDK configuration in both regions, signing as that function.
pub(crate) async fn function_sdk(function: &str) -> RegionsSdk {
    RegionsSdk::load_as(REGION, REPLICA_REGION, identity(function)).await
}

impl Stack {
    /// The table adapter with minutes to answer, for seeding and benchmarks: moto copies a
    /// whole table for each transaction and reads one for each Query (seconds at thousands of
    /// items), which the functions' timeouts are not made for.
    pub fn patient_metadata(&self) -> twinshare_aws::DynamoMetadata {
        let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_secs(300))
            .operation_timeout(Duration::from_secs(300))
            .build();
        let client =
            aws_sdk_dynamodb::Client::from_conf(self.dynamodb.config().to_builder().timeout_config(timeouts).build());
        twinshare_aws::DynamoMetadata::new(client, TABLE, HEALTH_TABLE, SEARCH_TABLE)
    }

    /// Sends a request to the function API Gateway would route it to, with the owner's token
    /// when it is a call on an upload created through here. In a stack with a second region,
    /// an upload or owner call the primary region answers with a 5xx is sent again to the
    /// second region's, as the site does (README "Losing a whole region").
    pub async fn api(&self, method: &str, path_and_query: &str, body: Option<&str>) -> Response<Body> {
        let token = self.token_for(path_and_query);
        let response = self.api_as(token.as_deref(), method, path_and_query, body).await;
        let writes = route(
            &method.parse().unwrap(),
            path_and_query.split('?').next().unwrap_or_default(),
        )
        .is_ok_and(|found| found.function() == Function::UploadApi);
        if self.second_region.is_some() && writes && response.status().is_server_error() {
            return self
                .api_in(ApiRegion::Second, token.as_deref(), method, path_and_query, body)
                .await;
        }
        response
    }

    /// The manage token of the file a path names, if it was created through [`Stack::api`].
    pub fn token_for(&self, path: &str) -> Option<String> {
        let id = path.split('/').find(|part| part.len() == 32)?;
        self.tokens.lock().unwrap().get(id).cloned()
    }

    /// Sends a request with the given manage token (or none), to the primary region's function
    /// API Gateway would route it to.
    pub async fn api_as(
        &self,
        token: Option<&str>,
        method: &str,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Response<Body> {
        self.api_in(ApiRegion::Primary, token, method, path_and_query, body)
            .await
    }

    /// Sends a request with the given manage token (or none), to the function API Gateway
    /// would route it to in `region`.
    pub async fn api_in(
        &self,
        region: ApiRegion,
        token: Option<&str>,
        method: &str,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Response<Body> {
        let (upload_api, files_api) = match region {
            ApiRegion::Primary => (&self.upload_api, &self.files_api),
            ApiRegion::Second => (&self.second().upload_api, &self.second().files_api),
        };
        let request = twinshare_lambda::testing::request(method, path_and_query, body);
        let request = twinshare_lambda::testing::with_token(request, token);
        let function = route(request.method(), request.uri().path())
            .map(|found| found.function())
            .unwrap_or(FALLBACK_FUNCTION);
        // Boxed: a handler's future is large in a debug build, and a test awaiting many of them
        // inline would overflow the test thread's stack.
        let response = match function {
            Function::UploadApi => Box::pin(upload_api::handle(upload_api, request)).await,
            Function::FilesApi => Box::pin(files_api::handle(files_api, request)).await,
        };
        if method == "POST" && path_and_query == "/api/uploads" && response.status() == 201 {
            let created: CreateUploadResponse = json(&response);
            self.tokens
                .lock()
                .unwrap()
                .insert(created.file.id, created.manage_token);
        }
        response
    }

    /// The region probe, signing as the probe function.
    pub async fn probe(&self, within: Duration) -> LiveProbe {
        self.config.probe(&function_sdk("probe").await, within)
    }

    /// Announces an upload and returns the API's answer.
    pub async fn announce(
        &self,
        name: &str,
        bytes: &[u8],
        uploader: Option<&str>,
        visibility: &str,
    ) -> CreateUploadResponse {
        // Files sent in parts carry a SHA-256 per part instead of one for the whole.
        let sha256 = (bytes.len() as u64 <= limits::MULTIPART_THRESHOLD).then(|| sha256_base64(bytes));
        let body = serde_json::json!({
            "name": name, "size": bytes.len(), "content_type": "text/plain",
            "sha256": sha256, "uploader": uploader, "visibility": visibility,
        });
        self.expect(201, "POST", "/api/uploads", Some(&body.to_string())).await
    }

    /// Calls the API, asserts the status (showing the answer if it differs) and reads the body.
    pub async fn expect<T: serde::de::DeserializeOwned>(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> T {
        let response = self.api(method, path, body).await;
        assert_eq!(
            response.status(),
            status,
            "{method} {path}: {}",
            String::from_utf8_lossy(response.body().as_ref())
        );
        json(&response)
    }

    /// Announce, PUT and complete: a file shared as the site does it.
    pub async fn share(&self, name: &str, bytes: &[u8], uploader: Option<&str>, visibility: &str) -> FileView {
        let created = self.announce(name, bytes, uploader, visibility).await;
        self.put(&created, bytes).await;
        let response = self
            .api("POST", &format!("/api/uploads/{}/complete", created.file.id), None)
            .await;
        assert_eq!(response.status(), 200);
        json(&response)
    }

    pub async fn file(&self, id: &str) -> FileView {
        json(&self.api("GET", &format!("/api/files/{id}"), None).await)
    }

    /// The object's bytes in a bucket, read with the SDK; `None` if it is not there.
    pub async fn object(&self, role: CopyRole, id: &str) -> Option<Vec<u8>> {
        let (client, bucket) = match role {
            CopyRole::Primary => (&self.primary_s3, BUCKET),
            CopyRole::Replica => (&self.replica_s3, REPLICA_BUCKET),
        };
        let object = client
            .get_object()
            .bucket(bucket)
            .key(format!("files/{id}"))
            .send()
            .await
            .ok()?;
        Some(object.body.collect().await.unwrap().into_bytes().to_vec())
    }

    pub async fn delete_object(&self, role: CopyRole, id: &str) {
        let (client, bucket) = match role {
            CopyRole::Primary => (&self.primary_s3, BUCKET),
            CopyRole::Replica => (&self.replica_s3, REPLICA_BUCKET),
        };
        client
            .delete_object()
            .bucket(bucket)
            .key(format!("files/{id}"))
            .send()
            .await
            .unwrap();
    }

    /// Restarts the replica region's S3 on the same port, empty (its bucket re-created).
    pub fn restart_replica_empty(&mut self) {
        let port = self.replica.port();
        self.replica.stop();
        self.replica = Emulator::start_on(port, &self.iam.policies_path(), &self.iam.record("replica"));
        provision(&self.metadata, &self.primary, &self.replica, None);
    }

    /// Number of records in the table, to prove refused requests wrote nothing.
    pub async fn record_count(&self) -> i32 {
        self.dynamodb.scan().table_name(TABLE).send().await.unwrap().count()
    }
}

/// Bytes that do not repeat (xorshift from `seed`), so that a part in the wrong place would show.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}
