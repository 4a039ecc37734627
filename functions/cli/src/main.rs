//! `twinshare`: the command line of a twinshare site. Each subcommand's work lives in its own
//! module (upload, download, files); this file reads the command line and prints the outcome.

mod api;
mod download;
mod error;
mod files;
mod spool;
mod store;
mod transfer;
mod upload;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use twinshare_api::{CreateUploadRequest, Visibility};

use crate::{
    api::Api,
    error::CliError,
    files::{parse_expiry, parse_limit, DownloadLimit, Expiry, FileRef},
    store::Store,
    transfer::RateLimit,
};

/// Share files through a twinshare site, and download, list, edit and delete them.
///
/// Exit status: 0 done; 1 a local file could not be read or written; 2 the command was asked
/// wrongly; 3 the site refused (its message says what to fix); 4 no such file (or no longer);
/// 5 the site or its storage did not answer (run the same command again: uploads and downloads
/// resume); 6 the downloaded bytes did not match the file.
#[derive(Parser)]
#[command(name = "twinshare", version, about, long_about)]
struct Cli {
    /// The site's address, e.g. https://share.example.com (a command given a link uses the link's site).
    #[arg(long, env = "TWINSHARE_API", global = true)]
    api: Option<String>,
    /// Print the outcome as JSON (one object per file), for scripts; no progress bar.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Share files; prints each one's link and manage link. Run it again to resume.
    Upload(UploadArgs),
    /// Download a file by its link or id, checked against its SHA-256 or S3's ETag.
    Download(DownloadArgs),
    /// List the public files, newest first, or those whose name contains a text.
    List(ListArgs),
    /// Show one file: size, status, copies, expiry, downloads left.
    Info { file: String },
    /// Change a file you shared: name, visibility, expiry, download limit, password.
    Edit(EditArgs),
    /// Delete a file you shared, from both regions.
    Delete {
        file: String,
        /// The file's manage token (the part after `#` of its manage link), if this machine
        /// did not share it.
        #[arg(long, env = "TWINSHARE_TOKEN")]
        token: Option<String>,
    },
}

#[derive(Args)]
struct UploadArgs {
    /// The files to share; `-` shares standard input (alone, named with --name-as).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The name to share a single file under (default: its own).
    #[arg(long)]
    name_as: Option<String>,
    /// Who shares it, shown beside the file; default: anonymous.
    #[arg(long)]
    uploader: Option<String>,
    /// Reachable only by its link, not listed in the public table.
    #[arg(long)]
    unlisted: bool,
    /// How long it is shared: 30m, 12h, 7d, or `never` (if the site allows); default: the site's.
    #[arg(long, value_parser = parse_expiry)]
    expires: Option<Expiry>,
    /// Successful downloads allowed; default: unlimited.
    #[arg(long)]
    max_downloads: Option<u32>,
    /// Downloads then need this password.
    #[arg(long, env = "TWINSHARE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The site's upload code, when it asks for one.
    #[arg(long, env = "TWINSHARE_UPLOAD_CODE", hide_env_values = true)]
    upload_code: Option<String>,
    /// Parts of a large file sent at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    parallel: u16,
    /// At most this many bytes a second (e.g. 500000).
    #[arg(long)]
    limit_rate: Option<u64>,
    /// Start again from the first byte, forgetting an unfinished upload of the file (one
    /// stranded in a region that does not answer): it goes to whichever region takes uploads.
    #[arg(long)]
    restart: bool,
}

#[derive(Args)]
struct DownloadArgs {
    /// A share link (https://…/f/ID), a manage link, or an id.
    file: String,
    /// Where to save it: a file, or a directory (default: this one, under the file's name).
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(long, env = "TWINSHARE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// At most this many bytes a second.
    #[arg(long)]
    limit_rate: Option<u64>,
}

#[derive(Args)]
struct ListArgs {
    /// Only files whose name contains this.
    #[arg(long, short)]
    search: Option<String>,
    #[arg(long)]
    uploader: Option<String>,
    /// age, name or size.
    #[arg(long, default_value = "age")]
    sort: String,
    /// asc or desc (default: newest or largest first, names from A).
    #[arg(long)]
    order: Option<String>,
    /// Files to show; the pages are followed until there are this many.
    #[arg(long, default_value_t = 25)]
    limit: u32,
}

#[derive(Args)]
struct EditArgs {
    file: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long, conflicts_with = "unlisted")]
    listed: bool,
    #[arg(long)]
    unlisted: bool,
    /// A new expiry from now: 30m, 12h, 7d, or `never`.
    #[arg(long, value_parser = parse_expiry)]
    expires: Option<Expiry>,
    /// A limit of successful downloads (downloads made count), or `none`.
    #[arg(long, value_parser = parse_limit)]
    max_downloads: Option<DownloadLimit>,
    /// Set or change the password.
    #[arg(long, conflicts_with = "no_password")]
    password: Option<String>,
    /// Remove the password.
    #[arg(long)]
    no_password: bool,
    #[arg(long, env = "TWINSHARE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if json {
                let body =
                    serde_json::json!({ "error": err.code().unwrap_or("cli_error"), "message": err.to_string() });
                println!("{body}");
            }
            eprintln!("twinshare: {err}");
            err.exit_code()
        }
    }
}

/// Prints `value` as JSON, or `human` for a person.
fn print<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string(value).expect("outcomes serialise"));
    } else {
        println!("{}", human());
    }
}

/// The API to use: the site of the link the command was given (a link names its site), else
/// `--api` or `TWINSHARE_API`.
fn api_for(cli_api: Option<&str>, link: Option<&FileRef>, upload_code: Option<String>) -> Result<Api, CliError> {
    match link.and_then(|l| l.origin.as_deref()).or(cli_api) {
        Some(base) => Api::new(base, upload_code),
        None => Err(CliError::Usage(
            "which site? Give --api https://share.example.com or set TWINSHARE_API".into(),
        )),
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let json = cli.json;
    let quiet = json;
    match cli.command {
        Command::Upload(args) => {
            if args.name_as.is_some() && args.files.len() > 1 {
                return Err(CliError::Usage(
                    "--name-as names one file; give one file with it".into(),
                ));
            }
            if args.files.iter().any(|p| spool::is_stdin(p)) && (args.files.len() > 1 || args.name_as.is_none()) {
                return Err(CliError::Usage(
                    "`-` (standard input) is shared alone, named with --name-as".into(),
                ));
            }
            upload::check_paths(&args.files)?;
            let api = api_for(cli.api.as_deref(), None, args.upload_code.clone())?;
            let store = Store::open()?;
            let (expires_in_secs, never_expires) = Expiry::request(args.expires);
            let request = CreateUploadRequest {
                name: args.name_as.clone().unwrap_or_default(),
                uploader: args.uploader.clone(),
                visibility: if args.unlisted {
                    Visibility::Unlisted
                } else {
                    Visibility::Listed
                },
                expires_in_secs,
                never_expires,
                max_downloads: args.max_downloads,
                password: args.password.clone(),
                ..CreateUploadRequest::default()
            };
            let rate = RateLimit::new(args.limit_rate);
            for path in &args.files {
                let options = upload::UploadOptions {
                    request: request.clone(),
                    parallel: usize::from(args.parallel),
                    rate: rate.clone(),
                    quiet,
                    restart: args.restart,
                };
                let spooled = match spool::is_stdin(path) {
                    true => Some(spool::spool_stdin(&store).await?),
                    false => None,
                };
                let done = upload::upload(&api, &store, spooled.as_deref().unwrap_or(path), options).await?;
                // Kept when the upload fails (above): the same input piped again resumes it.
                if let Some(spooled) = spooled {
                    let _ = std::fs::remove_file(spooled);
                }
                print(json, &done, || files::describe_upload(&done));
            }
            Ok(())
        }
        Command::Download(args) => {
            let link = FileRef::parse(&args.file)?;
            let api = api_for(cli.api.as_deref(), Some(&link), None)?;
            let options = download::DownloadOptions {
                output: args.output,
                password: args.password,
                rate: RateLimit::new(args.limit_rate),
                quiet,
            };
            let done = download::download(&api, &link.id, options).await?;
            print(json, &done, || files::describe_download(&done));
            Ok(())
        }
        Command::List(args) => {
            let api = api_for(cli.api.as_deref(), None, None)?;
            let found = files::list(&api, &args.search, &args.uploader, &args.sort, &args.order, args.limit).await?;
            print(json, &found, || files::table(&found));
            Ok(())
        }
        Command::Info { file } => {
            let link = FileRef::parse(&file)?;
            let api = api_for(cli.api.as_deref(), Some(&link), None)?;
            let found = api.file(&link.id).await?;
            print(json, &found, || files::describe(&found, &api));
            Ok(())
        }
        Command::Edit(args) => {
            let link = FileRef::parse(&args.file)?;
            let api = api_for(cli.api.as_deref(), Some(&link), None)?;
            let store = Store::open()?;
            let token = files::token(&store, &link, args.token.as_deref())?;
            let visibility = match (args.listed, args.unlisted) {
                (true, _) => Some(Visibility::Listed),
                (_, true) => Some(Visibility::Unlisted),
                _ => None,
            };
            let (expires_in_secs, never_expires) = Expiry::request(args.expires);
            let edit = twinshare_api::EditFileRequest {
                name: args.name,
                visibility,
                expires_in_secs,
                never_expires,
                max_downloads: args.max_downloads.map(|limit| limit.0),
                password: match (args.password, args.no_password) {
                    (Some(p), _) => Some(Some(p)),
                    (None, true) => Some(None),
                    (None, false) => None,
                },
            };
            if edit == twinshare_api::EditFileRequest::default() {
                return Err(CliError::Usage(
                    "nothing to change: give --name, --unlisted, --expires, … (see --help)".into(),
                ));
            }
            let edited = api.edit(&link.id, &token, &edit).await?;
            print(json, &edited, || files::describe(&edited, &api));
            Ok(())
        }
        Command::Delete { file, token } => {
            let link = FileRef::parse(&file)?;
            let api = api_for(cli.api.as_deref(), Some(&link), None)?;
            let store = Store::open()?;
            let token = files::token(&store, &link, token.as_deref())?;
            api.delete(&link.id, &token).await?;
            store.forget_owned(&link.id);
            print(json, &serde_json::json!({ "deleted": link.id }), || {
                format!("deleted {} from both regions", link.id)
            });
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_reads_each_option() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "twinshare",
            "edit",
            "abc",
            "--max-downloads",
            "none",
            "--expires",
            "never",
        ])
        .unwrap();
        let Command::Edit(edit) = cli.command else {
            panic!("an edit")
        };
        assert_eq!(edit.max_downloads, Some(DownloadLimit(None)));
        assert_eq!(edit.expires, Some(Expiry::Never));
        let cli = Cli::try_parse_from(["twinshare", "--json", "upload", "a", "b", "--parallel", "8"]).unwrap();
        let Command::Upload(upload) = cli.command else {
            panic!("an upload")
        };
        assert_eq!((upload.files.len(), upload.parallel, cli.json), (2, 8, true));
        assert!(Cli::try_parse_from(["twinshare", "upload", "a", "--parallel", "0"]).is_err());
        assert!(Cli::try_parse_from(["twinshare", "edit", "a", "--listed", "--unlisted"]).is_err());
    }
}
