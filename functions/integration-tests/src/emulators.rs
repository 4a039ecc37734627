//! The emulator processes the integration tests start: moto servers on free ports, each behind
//! the local stack's gateway; killed on drop.

use std::{
    fs::{File, OpenOptions},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One `moto_server` process on a loopback port.
pub struct Moto {
    child: Child,
    pub url: String,
}

/// Held while a free port is chosen and a server started on it, by every test process of the
/// machine: otherwise two tests running at once can be handed the same free port, and the
/// loser's server fails to bind while its test talks to the winner's (seen in CI as a failed
/// provisioning, then "connection refused" once the other test ended). Released on drop.
struct PortLock {
    /// Open while held: closing it releases the lock.
    _file: File,
}

impl PortLock {
    fn take() -> PortLock {
        let path = std::env::temp_dir().join("twinshare-test-ports.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .expect("the port lock file opens");
        file.lock().expect("the port lock is taken");
        PortLock { _file: file }
    }
}

impl Moto {
    pub fn start() -> Moto {
        let _held = PortLock::take();
        Self::start_unlocked(free_port())
    }

    /// Starts (or restarts, after `stop`) an empty moto on `port`.
    pub fn start_on(port: u16) -> Moto {
        let _held = PortLock::take();
        Self::start_unlocked(port)
    }

    fn start_unlocked(port: u16) -> Moto {
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed (infra/install.sh)");
        wait_for_port(port, &mut child);
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("url ends in a port")
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

/// One emulated service as the local stack runs it: moto behind `infra/local/gateway.py`,
/// which holds each function's calls to its own policy from template.yaml (recording every
/// decision) and makes moto answer as S3 does where they differ.
pub struct Emulator {
    pub moto: Moto,
    gateway: Child,
    pub url: String,
}

impl Emulator {
    /// `policies`: the functions' resolved policies; `record`: where decisions are appended.
    pub fn start(policies: &Path, record: &Path) -> Emulator {
        let _held = PortLock::take();
        // Moto first: its port is taken before the gateway's is chosen.
        let moto = Moto::start_unlocked(free_port());
        Self::start_gateway(free_port(), moto, policies, record)
    }

    /// Starts (or restarts, after `stop`) the emulator with its gateway on `port`.
    pub fn start_on(port: u16, policies: &Path, record: &Path) -> Emulator {
        let _held = PortLock::take();
        let moto = Moto::start_unlocked(free_port());
        Self::start_gateway(port, moto, policies, record)
    }

    fn start_gateway(port: u16, moto: Moto, policies: &Path, record: &Path) -> Emulator {
        let mut gateway = Command::new("python3")
            .arg(repo_root().join("infra/local/gateway.py"))
            .args(["--listen", &port.to_string(), "--upstream", &moto.port().to_string()])
            .arg("--policies")
            .arg(policies)
            .arg("--record")
            .arg(record)
            .spawn()
            .expect("python3 runs");
        wait_for_port(port, &mut gateway);
        Emulator {
            moto,
            gateway,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn port(&self) -> u16 {
        port_of(&self.url)
    }

    /// Sets the service's fault: "down" (connections dropped), "hang" (no answer) or "ok".
    pub async fn set_fault(&self, mode: &str) {
        let answer = reqwest::Client::new()
            .put(format!("{}/__twinshare/fault", self.url))
            .body(mode.to_owned())
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "setting fault {mode}: {}",
            answer.status()
        );
    }

    /// Takes this emulated service down.
    pub fn stop(&mut self) {
        let _ = self.gateway.kill();
        let _ = self.gateway.wait();
        self.moto.stop();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub(crate) fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("url ends in a port")
}

/// Waits until `server` listens on `port`; fails at once if it exits first (it could not bind).
pub(crate) fn wait_for_port(port: u16, server: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.try_wait() {
            panic!("the server for port {port} exited ({status}) before listening");
        }
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
