//! The `twinshare` binary against a running local stack (infra/local/stack.py: moto, the
//! functions under `cargo lambda watch`, the site and its front), as a person runs it.
//! Ignored by a plain `cargo test`: the README's test command runs them once the stack is up,
//! with `TWINSHARE_API` (the site's address), `TWINSHARE_UPLOAD_CODE` and `TWINSHARE_STATE_DIR`
//! (where infra/local/region.py finds the stack's regions):
//!
//!     cargo test -p twinshare-cli --test local_stack -- --ignored --test-threads=1

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

const MIB: usize = 1024 * 1024;

fn api() -> String {
    std::env::var("TWINSHARE_API").expect("TWINSHARE_API: the local stack's site address (see this file's header)")
}

/// A directory of this test's own: its files and the CLI's store (`TWINSHARE_HOME`).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twinshare-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("home")).unwrap();
    dir
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_twinshare"));
    command
        .args(args)
        .env("TWINSHARE_API", api())
        .env("TWINSHARE_HOME", dir.join("home"))
        .current_dir(dir);
    command
}

/// Runs the CLI with `--json`; returns its exit code and the JSON it printed.
fn run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output: Output = command(dir, &[&["--json"], args].concat()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap_or(-1);
    let value = serde_json::from_str(stdout.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}\n{stderr}"));
    (code, value)
}

fn ok(dir: &Path, args: &[&str]) -> Value {
    let (code, value) = run(dir, args);
    assert_eq!(code, 0, "{args:?}: {value}");
    value
}

/// Bytes that do not repeat (so that a part sent twice or out of place shows).
fn file_of(dir: &Path, name: &str, len: usize, seed: u64) -> PathBuf {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

fn wait_for<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The parts storage holds of an unfinished upload, asked as its owner.
fn stored_parts(id: &str, token: &str) -> usize {
    const GET: &str = "import sys, urllib.request as u; \
        r = u.Request(sys.argv[1], headers={'authorization': 'Bearer ' + sys.argv[2]}); \
        print(u.urlopen(r, timeout=10).read().decode())";
    let output = Command::new("python3")
        .args(["-c", GET, &format!("{}/api/uploads/{id}/parts", api()), token])
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    answer["parts"].as_array().map_or(0, Vec::len)
}

/// The status an owner's GET of `url` answers.
fn owner_status(url: &str, token: &str) -> u16 {
    const STATUS: &str = "import sys, urllib.request as u, urllib.error as e\n\
        try:\n    print(u.urlopen(u.Request(sys.argv[1], headers={'authorization': 'Bearer ' + sys.argv[2]}), timeout=10).status)\n\
        except e.HTTPError as refused:\n    print(refused.code)";
    let output = Command::new("python3")
        .args(["-c", STATUS, url, token])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0)
}

/// Starts uploading `path` in the background, one part at a time at `rate` bytes a second;
/// returns the running command once its upload is remembered, with that upload's id and token.
fn slow_upload(dir: &Path, path: &str, rate: usize) -> (Child, String, String) {
    let child = command(
        dir,
        &[
            "--json",
            "upload",
            path,
            "--parallel",
            "1",
            "--limit-rate",
            &rate.to_string(),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let uploads = dir.join("home/uploads");
    let unfinished: Value = wait_for("the upload is remembered", Duration::from_secs(60), || {
        let entry = std::fs::read_dir(&uploads).ok()?.next()?.ok()?;
        serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()
    });
    let id = unfinished["id"].as_str().unwrap().to_owned();
    let token = unfinished["token"].as_str().unwrap().to_owned();
    (child, id, token)
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
#[ignore = "needs the local stack: see this file's header"]
fn small_and_multipart_files_are_shared_listed_downloaded_edited_and_deleted() {
    let dir = scratch("roundtrip");
    let small = file_of(&dir, "cli small notes.txt", 100_000, 1);
    let large = file_of(&dir, "cli large video.bin", 40 * MIB, 2);

    let shared = ok(&dir, &["upload", small.to_str().unwrap(), "--uploader", "Cli Tester"]);
    assert_eq!(shared["parts_sent"], 0);
    let small_id = shared["file"]["id"].as_str().unwrap().to_owned();
    assert!(shared["share_link"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/f/{small_id}")));
    assert!(shared["manage_link"].as_str().unwrap().contains('#'));
    let shared = ok(
        &dir,
        &["upload", large.to_str().unwrap(), "--unlisted", "--expires", "2d"],
    );
    assert_eq!(shared["parts_sent"], 5, "40 MiB in 8 MiB parts");
    let large_id = shared["file"]["id"].as_str().unwrap().to_owned();

    let listed = ok(&dir, &["list", "--search", "cli small notes"]);
    let ids: Vec<&str> = listed["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&small_id.as_str()), "{listed}");
    let unlisted = ok(&dir, &["list", "--search", "cli large video"]);
    assert!(
        !unlisted.to_string().contains(&large_id),
        "an unlisted file is not in the table"
    );

    std::fs::create_dir_all(dir.join("out")).unwrap();
    let got = ok(&dir, &["download", &format!("{}/f/{small_id}", api()), "-o", "out"]);
    assert_eq!(got["verified_by"], "SHA-256");
    assert!(same_bytes(&small, &dir.join("out/cli small notes.txt")));
    let got = ok(&dir, &["download", &large_id, "-o", "out/large.bin"]);
    assert!(got["verified_by"].as_str().unwrap().starts_with("S3 ETag"), "{got}");
    assert!(same_bytes(&large, &dir.join("out/large.bin")));

    let edited = ok(
        &dir,
        &[
            "edit",
            &small_id,
            "--name",
            "renamed by cli.txt",
            "--max-downloads",
            "5",
        ],
    );
    assert_eq!(edited["name"], "renamed by cli.txt");
    assert_eq!(edited["max_downloads"], 5);
    let (code, refused) = run(&dir, &["edit", &small_id, "--name", ""]);
    assert_eq!(
        (code, refused["error"].as_str()),
        (3, Some("invalid_request")),
        "{refused}"
    );

    for id in [&small_id, &large_id] {
        ok(&dir, &["delete", id]);
        let (code, gone) = run(&dir, &["info", id]);
        assert_eq!(code, 4, "a deleted file: {gone}");
    }
    let (code, _) = run(&dir, &["delete", &small_id]);
    assert_eq!(code, 2, "the token was forgotten with the file");
}

#[test]
#[ignore = "needs the local stack: see this file's header"]
fn a_protected_file_needs_its_password_and_stops_at_its_download_limit() {
    let dir = scratch("protected");
    let file = file_of(&dir, "cli protected.bin", 50_000, 7);
    let shared = ok(
        &dir,
        &[
            "upload",
            file.to_str().unwrap(),
            "--password",
            "open sesame",
            "--max-downloads",
            "2",
        ],
    );
    let id = shared["file"]["id"].as_str().unwrap().to_owned();
    assert_eq!(shared["file"]["protected"], true);
    for (password, code) in [(None, "password_required"), (Some("guess"), "password_wrong")] {
        let mut args = vec!["download", id.as_str(), "-o", "nope.bin"];
        args.extend(password.map(|p| ["--password", p]).into_iter().flatten());
        let (exit, refused) = run(&dir, &args);
        assert_eq!((exit, refused["error"].as_str()), (3, Some(code)), "{refused}");
    }
    for n in 1..=2 {
        let got = ok(&dir, &["download", &id, "-o", "open.bin", "--password", "open sesame"]);
        assert_eq!(got["links_asked"], 1, "download {n}");
        assert!(same_bytes(&file, &dir.join("open.bin")));
    }
    let (exit, spent) = run(&dir, &["download", &id, "-o", "third.bin", "--password", "open sesame"]);
    assert_eq!(
        (exit, spent["error"].as_str()),
        (4, Some("download_limit_reached")),
        "{spent}"
    );
    // The manage link carries its token: deleting needs nothing this machine kept.
    let manage_link = shared["manage_link"].as_str().unwrap();
    std::fs::remove_dir_all(dir.join("home")).unwrap();
    ok(&dir, &["delete", manage_link]);
}

#[test]
#[ignore = "needs the local stack: see this file's header"]
fn standard_input_is_shared_under_the_name_given() {
    let dir = scratch("stdin");
    let source = file_of(&dir, "piped.bin", 300_000, 11);
    let mut child = command(&dir, &["--json", "upload", "-", "--name-as", "cli piped report.bin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut input, &std::fs::read(&source).unwrap()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shared: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(shared["file"]["name"], "cli piped report.bin");
    assert_eq!(shared["file"]["size"], 300_000);
    let id = shared["file"]["id"].as_str().unwrap().to_owned();
    ok(&dir, &["download", &id, "-o", "fetched.bin"]);
    assert!(same_bytes(&source, &dir.join("fetched.bin")));
    let kept = std::fs::read_dir(dir.join("home/stdin")).unwrap().count();
    assert_eq!(kept, 0, "the input is no longer kept once shared");

    // Without a name, or with nothing piped in: refused before anything is announced.
    let (code, refused) = run(&dir, &["upload", "-"]);
    assert_eq!(code, 2, "{refused}");
    let (code, refused) = run(&dir, &["upload", "-", "--name-as", "nothing.txt"]);
    assert_eq!(code, 2, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("empty"), "{refused}");
    ok(&dir, &["delete", &id]);
}

#[test]
#[ignore = "needs the local stack: see this file's header"]
fn an_interrupted_upload_sends_only_the_missing_parts_when_run_again() {
    let dir = scratch("resume-upload");
    let file = file_of(&dir, "cli resumed.bin", 72 * MIB, 3); // 9 parts
    let path = file.to_str().unwrap();
    // Slowly, one part at a time, so that it is stopped half way.
    let (child, id, token) = slow_upload(&dir, path, 8 * MIB);
    let (id, token) = (id.as_str(), token.as_str());
    let uploads = dir.join("home/uploads");
    wait_for("two parts are stored", Duration::from_secs(60), || {
        (stored_parts(id, token) >= 2).then_some(())
    });
    kill(child);
    let stored = stored_parts(id, token);
    assert!((2..9).contains(&stored), "{stored} parts stored when it was stopped");

    let done = ok(&dir, &["upload", path]);
    assert_eq!(done["file"]["id"], id, "the same upload, resumed");
    assert_eq!(done["parts_already_stored"], stored);
    assert_eq!(done["parts_sent"], 9 - stored, "only the missing parts were sent");
    assert_eq!(
        std::fs::read_dir(&uploads).unwrap().count(),
        0,
        "forgotten once complete"
    );
    ok(&dir, &["download", id, "-o", "back.bin"]);
    assert!(same_bytes(&file, &dir.join("back.bin")));
    ok(&dir, &["delete", id]);
}

#[test]
#[ignore = "needs the local stack: see this file's header"]
fn an_interrupted_download_resumes_from_where_it_stopped() {
    let dir = scratch("resume-download");
    let file = file_of(&dir, "cli download resumed.bin", 40 * MIB, 4);
    let shared = ok(&dir, &["upload", file.to_str().unwrap()]);
    let id = shared["file"]["id"].as_str().unwrap().to_owned();
    let child = command(
        &dir,
        &[
            "--json",
            "download",
            &id,
            "-o",
            "got.bin",
            "--limit-rate",
            &(4 * MIB).to_string(),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let partial = dir.join("got.bin.twinshare-partial");
    wait_for("8 MiB are downloaded", Duration::from_secs(60), || {
        (std::fs::metadata(&partial).ok()?.len() >= 8 * MIB as u64).then_some(())
    });
    kill(child);
    assert!(
        !dir.join("got.bin").exists(),
        "the target is written only once whole and checked"
    );

    let done = ok(&dir, &["download", &id, "-o", "got.bin"]);
    let resumed_from = done["resumed_from"].as_u64().unwrap();
    assert!(
        resumed_from >= 8 * MIB as u64 && resumed_from < 40 * MIB as u64,
        "{done}"
    );
    assert_eq!(done["links_asked"], 0, "the address it had was still valid");
    assert!(same_bytes(&file, &dir.join("got.bin")));
    assert!(!partial.exists());
    ok(&dir, &["delete", &id]);
}

/// Takes a region of the local stack down until dropped.
struct RegionDown(&'static str);

impl RegionDown {
    fn new(region: &'static str) -> RegionDown {
        region_switch("down", region);
        RegionDown(region)
    }
}

impl Drop for RegionDown {
    fn drop(&mut self) {
        region_switch("up", self.0);
    }
}

fn region_switch(mode: &str, region: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/local/region.py");
    let status = Command::new("python3")
        .arg(script)
        .args([mode, region])
        .status()
        .unwrap();
    assert!(status.success(), "region.py {mode} {region}");
}

#[test]
#[ignore = "needs the local stack: see this file's header"]
fn with_the_primary_region_down_files_download_and_are_shared_through_the_second() {
    let dir = scratch("region-down");
    let before = file_of(&dir, "cli before outage.bin", 300_000, 5);
    let shared = ok(&dir, &["upload", before.to_str().unwrap()]);
    let id = shared["file"]["id"].as_str().unwrap().to_owned();
    // Redundant as the second region's API sees it: its table replica has the copy's state.
    let second_region = format!("{}/api/second-region", api());
    wait_for("the file is redundant in both regions", Duration::from_secs(90), || {
        // Until the record reaches the second region's table, it answers 404 there.
        let redundant = |extra: &[&str]| run(&dir, &[extra, &["info", &id]].concat()).1["status"] == "redundant";
        (redundant(&[]) && redundant(&["--api", &second_region])).then_some(())
    });

    // An upload in parts begun before the outage and stopped early: it lives in eu-west-1. The
    // second region knows it (and refuses to resume it there) before the outage starts.
    let stranded = file_of(&dir, "cli stranded.bin", 40 * MIB, 7);
    let stranded_path = stranded.to_str().unwrap();
    let (child, stranded_id, token) = slow_upload(&dir, stranded_path, MIB);
    kill(child);
    let parts_there = format!("{second_region}/api/uploads/{stranded_id}/parts");
    wait_for("the second region knows the upload", Duration::from_secs(60), || {
        (owner_status(&parts_there, &token) == 503).then_some(())
    });

    let outage = RegionDown::new("eu-west-1");
    // Run again, it cannot resume, and says how to go on; --restart sends it to us-west-2.
    let (code, refused) = run(&dir, &["upload", stranded_path]);
    assert_eq!(
        (code, refused["error"].as_str()),
        (5, Some("home_region_unavailable")),
        "{refused}"
    );
    assert!(refused["message"].as_str().unwrap().contains("--restart"), "{refused}");
    let restarted = ok(&dir, &["upload", stranded_path, "--restart"]);
    assert_eq!(restarted["file"]["home_region"], "us-west-2", "{restarted}");
    assert_ne!(
        restarted["file"]["id"].as_str(),
        Some(stranded_id.as_str()),
        "a new upload"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("home/uploads")).unwrap().count(),
        0,
        "the stranded upload is forgotten"
    );
    ok(&dir, &["delete", restarted["file"]["id"].as_str().unwrap()]);

    let got = ok(&dir, &["download", &id, "-o", "during.bin"]);
    assert_eq!(got["verified_by"], "SHA-256");
    assert!(same_bytes(&before, &dir.join("during.bin")));
    let during = file_of(&dir, "cli during outage.bin", 200_000, 6);
    let shared = ok(&dir, &["upload", during.to_str().unwrap()]);
    assert_eq!(shared["file"]["home_region"], "us-west-2", "{shared}");
    let new_id = shared["file"]["id"].as_str().unwrap().to_owned();
    ok(&dir, &["download", &new_id, "-o", "new.bin"]);
    assert!(same_bytes(&during, &dir.join("new.bin")));
    ok(&dir, &["delete", &new_id]);
    drop(outage);
    ok(&dir, &["delete", &id]);
}
