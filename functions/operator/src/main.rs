//! `twinshare-operator`: the operator's moderation command (see `lib.rs` and `--help`).

use std::process::ExitCode;

use operator::{run, upload_code_hash, Command, USAGE};
use twinshare_lambda::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(args.first().map(String::as_str), Some("-h" | "--help" | "help")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args == ["upload-code-hash"] {
        // Read from stdin, not an argument: arguments end up in the shell's history.
        let mut code = String::new();
        let hashed = std::io::stdin()
            .read_line(&mut code)
            .map_err(|e| e.to_string())
            .and_then(|_| upload_code_hash(&code));
        return match hashed {
            Ok(hash) => {
                println!("{hash}");
                ExitCode::SUCCESS
            }
            Err(problem) => {
                eprintln!("{problem}");
                ExitCode::from(2)
            }
        };
    }
    let command = match Command::parse(&args) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("{problem}");
            return ExitCode::from(2);
        }
    };
    // Logs and the audit line (target "audit": who did what to which file) go to stderr as
    // JSON; stdout is the answer.
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,aws=warn")),
        )
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let service = config.service(&config.sdk().await);
    match run(&service, command).await {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
