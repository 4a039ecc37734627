//! Harness for the integration tests: moto servers on free ports (killed on drop), provisioned
//! by the same script as the local stack, and the functions' handlers wired to the real AWS SDK
//! exactly as their `main.rs` does. Requests go through the handlers as API Gateway would
//! route them; the bytes go to the presigned URLs over HTTP, as a browser sends them.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Once,
    time::{Duration, Instant},
};

use lambda_http::{Body, Response};
use twinshare_aws::AwsEndpoints;
use twinshare_core::ServiceSettings;
use twinshare_lambda::{
    routes::{route, Route},
    Config, LiveService,
};

pub const REGION: &str = "eu-west-1";
pub const TABLE: &str = "twinshare-files";
pub const BUCKET: &str = "twinshare-primary";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One `moto_server` process on a free loopback port.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed (infra/install.sh)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, url }
    }

    /// Takes this emulator down, as a region outage would.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A provisioned emulated AWS and the service wired to it.
pub struct Stack {
    pub metadata: Moto,
    pub primary: Moto,
    pub service: LiveService,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub http: reqwest::Client,
}

static CREDENTIALS: Once = Once::new();

pub async fn stack(settings: ServiceSettings) -> Stack {
    // The SDK's default chain reads these, as in Lambda; set once before any client exists.
    CREDENTIALS.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "twinshare-local");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "twinshare-local");
        // The functions' logs, shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("info")
            .try_init();
    });
    let metadata = Moto::start();
    let primary = Moto::start();
    let status = Command::new("python3")
        .arg(repo_root().join("infra/local/provision.py"))
        .args([
            "--region",
            REGION,
            "--table",
            TABLE,
            "--bucket",
            BUCKET,
            "--origin",
            "http://127.0.0.1:8080",
        ])
        .args(["--dynamodb-endpoint", &metadata.url, "--s3-endpoint", &primary.url])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "provisioning failed");
    let config = Config {
        primary_region: REGION.into(),
        primary_bucket: BUCKET.into(),
        table: TABLE.into(),
        endpoints: AwsEndpoints {
            s3: Some(primary.url.clone()),
            dynamodb: Some(metadata.url.clone()),
        },
        settings,
    };
    let service = config.service().await;
    let sdk = twinshare_aws::clients::sdk_config(REGION).await;
    let dynamodb = twinshare_aws::clients::dynamodb_client(&sdk, Some(&metadata.url));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Stack {
        metadata,
        primary,
        service,
        dynamodb,
        http,
    }
}

impl Stack {
    /// Sends a request to the function API Gateway would route it to.
    pub async fn api(&self, method: &str, path_and_query: &str, body: Option<&str>) -> Response<Body> {
        let request = twinshare_lambda::testing::request(method, path_and_query, body);
        match route(request.method(), request.uri().path()) {
            Ok(Route::CreateUpload | Route::CompleteUpload(_)) => upload_api::handle(&self.service, request).await,
            _ => files_api::handle(&self.service, request).await,
        }
    }

    /// Number of records in the table, to prove refused requests wrote nothing.
    pub async fn record_count(&self) -> i32 {
        self.dynamodb.scan().table_name(TABLE).send().await.unwrap().count()
    }
}

pub use twinshare_lambda::testing::json;

pub fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}
