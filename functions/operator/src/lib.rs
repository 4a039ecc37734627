//! The operator's command, generic over the ports: parses the arguments, runs the moderation
//! use case (`twinshare_core::service::moderation`) and says what happened in plain lines.

use std::fmt::Write;

use twinshare_core::{
    ports::{Clock, MetadataStore, ObjectStore},
    record::FileRecord,
    service::moderation::{Held, Inspection},
    ApiError, Service,
};

pub const USAGE: &str = "\
usage: twinshare-operator <command>
  recent [N]        the N newest uploads (default 20), every state, removed ones too
  show <id>         one file: its record and what each region's bucket holds of it
  take-down <id> [--block]
                    remove the file from both regions; its links answer 410 file_removed;
                    with --block, its content cannot be uploaded again
  block <id>        block a file's content (its whole-file SHA-256) from being uploaded again
  block-address <ip>
                    refuse every new upload from this address (403 uploader_blocked); its
                    shared files stay (take them down one by one)
  upload-code-hash  reads an upload code on stdin and prints its Argon2 hash, to store in
                    SSM (UploadMode=code; README, \"Who may upload\"); needs no AWS access

Reads the same environment as the functions (PRIMARY_REGION, PRIMARY_BUCKET, REPLICA_REGION,
REPLICA_BUCKET, TABLE_NAME, HEALTH_TABLE_NAME, SEARCH_TABLE_NAME) and signs with your own AWS credentials.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Recent(usize),
    Show(String),
    TakeDown { id: String, block: bool },
    Block(String),
    BlockAddress(std::net::IpAddr),
}

impl Command {
    /// The command the arguments (without the program's name) ask for, or what is wrong.
    pub fn parse(args: &[String]) -> Result<Command, String> {
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["recent"] => Ok(Command::Recent(20)),
            ["recent", n] => n
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .map(Command::Recent)
                .ok_or_else(|| format!("recent: {n:?} is not a positive number")),
            ["show", id] => Ok(Command::Show((*id).to_owned())),
            ["take-down", id] => Ok(Command::TakeDown {
                id: (*id).to_owned(),
                block: false,
            }),
            ["take-down", id, "--block"] | ["take-down", "--block", id] => Ok(Command::TakeDown {
                id: (*id).to_owned(),
                block: true,
            }),
            ["block", id] => Ok(Command::Block((*id).to_owned())),
            ["block-address", address] => address
                .parse()
                .map(Command::BlockAddress)
                .map_err(|_| format!("block-address: {address:?} is not an IPv4 or IPv6 address")),
            _ => Err(USAGE.to_owned()),
        }
    }
}

/// Shortest upload code accepted: it is shared with a team and guessed online only, slowly
/// (Argon2 per try), but a short one is still a weak lock.
pub const MIN_UPLOAD_CODE_CHARS: usize = 8;

/// The hash to store for `code` (one line, as typed), or what is wrong with the code.
pub fn upload_code_hash(code: &str) -> Result<String, String> {
    let code = code.trim_end_matches(['\r', '\n']);
    if code.chars().count() < MIN_UPLOAD_CODE_CHARS {
        return Err(format!(
            "an upload code has at least {MIN_UPLOAD_CODE_CHARS} characters"
        ));
    }
    twinshare_core::password::hash(code).map_err(|e| e.to_string())
}

/// Runs the command; what to print.
pub async fn run<S: ObjectStore, M: MetadataStore, C: Clock>(
    service: &Service<S, M, C>,
    command: Command,
) -> Result<String, ApiError> {
    Ok(match command {
        Command::Recent(limit) => {
            let records = service.recent_uploads(limit).await?;
            let mut out = String::new();
            for record in &records {
                let _ = writeln!(out, "{}", summary(record));
            }
            if records.is_empty() {
                out.push_str("no uploads\n");
            }
            out
        }
        Command::Show(id) => inspection(&service.inspect(&id).await?),
        Command::TakeDown { id, block } => {
            let done = service.take_down(&id).await?;
            let mut out = inspection(&done);
            let left = done.held.iter().any(|(_, _, held)| held != &Held::Nothing);
            out.push_str(if left {
                "taken down; what a region still holds is deleted by the sweep once it answers\n"
            } else {
                "taken down; no bytes left in either region\n"
            });
            if block {
                out.push_str(&blocked(service.block_content(&id).await));
            }
            out
        }
        Command::Block(id) => blocked(service.block_content(&id).await),
        Command::BlockAddress(address) => {
            service.block_client(&address.to_string()).await?;
            format!("uploads from {address} are refused from now on (403 uploader_blocked)\n")
        }
    })
}

/// What blocking said; a file that cannot be blocked is said, not an error: the take-down stands.
fn blocked(outcome: Result<String, ApiError>) -> String {
    match outcome {
        Ok(sha256) => format!("content blocked: no upload with SHA-256 {sha256} is accepted any more\n"),
        Err(err) => format!("not blocked: {err}\n"),
    }
}

fn state(record: &FileRecord) -> String {
    match record.removal {
        Some(removal) => format!("removed ({})", removal.reason.as_str()),
        None => record.state.as_str().to_owned(),
    }
}

/// `ms` since the epoch as UTC `YYYY-MM-DD hh:mm:ss` (days to a civil date: H. Hinnant's
/// algorithm).
fn utc(ms: i64) -> String {
    let (days, secs) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000) / 1000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// One line: id, upload time (UTC), state, size, visibility, name and uploader.
fn summary(record: &FileRecord) -> String {
    format!(
        "{}  {}  {:<22}  {:>12} B  {:<8}  {}{}",
        record.id,
        utc(record.created_at_ms),
        state(record),
        record.size,
        record.visibility.as_str(),
        record.name,
        record
            .uploader
            .as_ref()
            .map(|u| format!("  (by {u})"))
            .unwrap_or_default()
    )
}

fn inspection(inspection: &Inspection) -> String {
    let record = &inspection.record;
    let mut out = format!("{}\n", summary(record));
    let _ = writeln!(
        out,
        "  content type {}, sha256 {}",
        record.content_type,
        record.sha256.as_deref().unwrap_or("(sent in parts)")
    );
    for (role, region, held) in &inspection.held {
        let held = match held {
            Held::Bytes(size) => format!("{size} bytes"),
            Held::Nothing => "nothing".to_owned(),
            Held::Unreachable(why) => format!("no answer ({why})"),
        };
        let _ = writeln!(out, "  {} copy in {region}: {held}", role.as_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use twinshare_core::fakes::service;

    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc(1_796_095_526_228), "2026-12-01 03:25:26");
    }

    #[test]
    fn arguments_name_one_command_or_get_the_usage() {
        assert_eq!(Command::parse(&args(&["recent"])), Ok(Command::Recent(20)));
        assert_eq!(Command::parse(&args(&["recent", "5"])), Ok(Command::Recent(5)));
        assert!(Command::parse(&args(&["recent", "0"]))
            .unwrap_err()
            .contains("positive"));
        assert_eq!(
            Command::parse(&args(&["take-down", "abc"])),
            Ok(Command::TakeDown {
                id: "abc".into(),
                block: false
            })
        );
        assert_eq!(
            Command::parse(&args(&["take-down", "abc", "--block"])),
            Ok(Command::TakeDown {
                id: "abc".into(),
                block: true
            })
        );
        assert_eq!(
            Command::parse(&args(&["block", "abc"])),
            Ok(Command::Block("abc".into()))
        );
        assert_eq!(
            Command::parse(&args(&["block-address", "2001:db8::7"])),
            Ok(Command::BlockAddress("2001:db8::7".parse().unwrap()))
        );
        assert!(Command::parse(&args(&["block-address", "198.51.100"])).is_err());
        assert_eq!(Command::parse(&args(&[])), Err(USAGE.to_owned()));
        assert_eq!(Command::parse(&args(&["delete", "abc"])), Err(USAGE.to_owned()));
    }

    #[tokio::test]
    async fn an_empty_table_has_no_uploads_and_an_unknown_id_is_not_found() {
        let svc = service();
        assert_eq!(run(&svc, Command::Recent(3)).await.unwrap(), "no uploads\n");
        let id = "0".repeat(32);
        assert_eq!(
            run(
                &svc,
                Command::TakeDown {
                    id: id.clone(),
                    block: true
                }
            )
            .await,
            Err(ApiError::FileNotFound(id))
        );
    }
}
