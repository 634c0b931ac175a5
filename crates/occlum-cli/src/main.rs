//! `occlum`: create, build and run LibOS instances.

#![forbid(unsafe_code)]

mod bom;
mod cmd;
mod enclave;
mod instance;
mod libdeps;
mod progress;
mod service;
mod workers;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run unmodified Linux programs inside the Occlum-compatible LibOS.
#[derive(Parser)]
#[command(name = "occlum", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new instance directory with a default Occlum.json and image/.
    New {
        /// The directory to create.
        dir: std::path::PathBuf,
        /// Re-initialize an existing instance (overwrites its Occlum.json).
        #[arg(long)]
        force: bool,
    },
    /// Make the current directory an instance.
    Init {
        /// Re-initialize an existing instance (overwrites its Occlum.json).
        #[arg(long)]
        force: bool,
    },
    /// Validate Occlum.json and build the image into build/.
    Build {
        /// Rebuild everything, even unchanged files.
        #[arg(short, long)]
        force: bool,
        /// Sign the enclave with this key (Ed25519 or RSA-3072, PEM); by
        /// default a key of the instance, made on first use.
        #[arg(long, value_name = "KEY.pem")]
        sign_key: Option<std::path::PathBuf>,
        /// Encrypt the writable file system with this key (from
        /// `occlum gen-image-key`) instead of the sealing key.
        #[arg(long, value_name = "FILE")]
        image_key: Option<std::path::PathBuf>,
    },
    /// Print the built enclave's MRENCLAVE or MRSIGNER.
    Print {
        /// What to print.
        #[arg(value_enum)]
        field: cmd::print::Field,
    },
    /// Write a new random key for `occlum build --image-key`.
    GenImageKey {
        /// The file to write.
        path: std::path::PathBuf,
    },
    /// Copy host programs (with their shared libraries), files and
    /// directories into image/, or what an Occlum copy_bom file describes.
    Add {
        /// Programs, files or directories on the host.
        #[arg(
            required_unless_present = "bom",
            conflicts_with = "bom",
            value_name = "PATH"
        )]
        paths: Vec<std::path::PathBuf>,
        /// Put the paths into this directory of the image instead of at their host paths.
        #[arg(long, value_name = "DIR", conflicts_with = "bom")]
        to: Option<std::path::PathBuf>,
        /// Copy what this copy_bom YAML file describes.
        #[arg(long, value_name = "FILE")]
        bom: Option<std::path::PathBuf>,
        /// Print what would be copied, and copy nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run a program of the built image inside the LibOS.
    /// Everything after PATH goes to the program unchanged, `--help` and
    /// `--` included.
    #[command(disable_help_flag = true)]
    Run {
        /// Path of the program inside the image (under an entry point), then
        /// its arguments.
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "PATH [ARGS]...")]
        command: Vec<String>,
    },
    /// Start the instance's enclave as a server in the background, for
    /// `occlum exec`.
    Start,
    /// Run a program in the started enclave with this terminal; exit with
    /// its status (Ctrl-C and other signals are passed on).
    Exec {
        /// Path of the program inside the image (under an entry point), then
        /// its arguments (`--` first if the path starts with `-`).
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "PATH [ARGS]...")]
        command: Vec<String>,
    },
    /// Stop the started enclave: SIGTERM to every process, SIGKILL to what
    /// is left after the grace time, files synced.
    Stop {
        /// Seconds between SIGTERM and SIGKILL.
        #[arg(short = 't', long = "time", default_value_t = 10, value_name = "SECS")]
        time: u64,
    },
    /// Whether the enclave runs (exit status 0) or not (1), and its processes.
    Status,
    /// Mount the instance's root file system (image and encrypted layer) at
    /// DIR on the host, read-write, until `umount DIR`.
    Mount {
        /// The key the instance was built with (`occlum build --image-key`),
        /// checked against it.
        #[arg(long, value_name = "FILE")]
        image_key: Option<std::path::PathBuf>,
        /// The (empty) directory to mount it on.
        dir: std::path::PathBuf,
    },
    /// Pack the built instance into NAME.tar.gz (default: the instance
    /// directory's name), to run with `bin/occlum run` elsewhere.
    Package {
        /// The package file to write.
        #[arg(value_name = "NAME.tar.gz")]
        name: Option<std::path::PathBuf>,
    },
    /// The server `occlum start` runs (internal).
    #[command(name = "__serve", hide = true)]
    Serve,
}

fn init_logging() {
    let level = std::env::var("OCCLUM_LOG_LEVEL").unwrap_or_else(|_| "error".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Command::New { dir, force } => ("new", cmd::new::new(&dir, force).map(|_| 0)),
        Command::Init { force } => ("init", cmd::new::init(force).map(|_| 0)),
        Command::Build {
            force,
            sign_key,
            image_key,
        } => (
            "build",
            cmd::build::build(force, sign_key.as_deref(), image_key.as_deref()).map(|_| 0),
        ),
        Command::Print { field } => ("print", cmd::print::print(field).map(|_| 0)),
        Command::GenImageKey { path } => {
            ("gen-image-key", cmd::keys::gen_image_key(&path).map(|_| 0))
        }
        Command::Add {
            paths,
            to,
            bom,
            dry_run,
        } => {
            let request = match &bom {
                Some(file) => cmd::add::Request::Bom(file),
                None => cmd::add::Request::Paths {
                    paths: &paths,
                    to: to.as_deref(),
                },
            };
            ("add", cmd::add::add(request, dry_run).map(|_| 0))
        }
        Command::Run { command } => match command.split_first() {
            Some((flag, _)) if flag == "--help" || flag == "-h" => {
                println!("Run a program of the built image inside the LibOS\n\nUsage: occlum run <PATH> [ARGS]...");
                return ExitCode::SUCCESS;
            }
            Some((path, args)) => ("run", cmd::run::run(path, args)),
            None => ("run", Err(anyhow::anyhow!("missing the program's path"))),
        },
        Command::Start => ("start", cmd::server::start()),
        Command::Exec { command } => {
            let command = match command.split_first() {
                Some((dd, rest)) if dd == "--" => rest.to_vec(),
                _ => command,
            };
            match command.split_first() {
                Some((path, args)) => ("exec", cmd::server::exec_client(path, args)),
                None => ("exec", Err(anyhow::anyhow!("missing the program's path"))),
            }
        }
        Command::Stop { time } => ("stop", cmd::server::stop(time)),
        Command::Status => ("status", cmd::server::status()),
        Command::Mount { image_key, dir } => {
            ("mount", cmd::mount::mount(&dir, image_key.as_deref()))
        }
        Command::Package { name } => ("package", cmd::package::package(name.as_deref())),
        Command::Serve => ("server", cmd::server::serve()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("occlum {name}: {e:#}");
            let code = e
                .downcast_ref::<cmd::run::RunFailure>()
                .map_or(1, |f| f.exit_code);
            ExitCode::from(code)
        }
    }
}
