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
    /// Check quotes made inside an enclave (`/dev/sgx`, `/dev/attestation`).
    /// The platform is simulated: a quote proves nothing about hardware.
    Attest {
        #[command(subcommand)]
        command: AttestCommand,
    },
    /// The key broker: releases secrets to enclaves that attest (RA-TLS) and
    /// match a policy (`Occlum.json`'s `kms` fetches them).
    Kms {
        #[command(subcommand)]
        command: KmsCommand,
    },
    /// The server `occlum start` runs (internal).
    #[command(name = "__serve", hide = true)]
    Serve,
}

#[derive(Subcommand)]
enum AttestCommand {
    /// Verify a DCAP quote: the PCK chain up to the root, the quoting
    /// enclave's report and signatures; print the enclave's identity as
    /// JSON. Exit status 0 if it verifies and matches what is given, else 1.
    Verify {
        /// The quote file.
        quote: std::path::PathBuf,
        /// The root CA certificate(s) to trust, PEM (default: this user's
        /// simulated platform's, see `occlum attest root`).
        #[arg(long, value_name = "FILE")]
        root: Option<std::path::PathBuf>,
        /// The MRENCLAVE the quote must have (`occlum print mrenclave`).
        #[arg(long, value_name = "HEX")]
        mrenclave: Option<String>,
        /// The MRSIGNER the quote must have (`occlum print mrsigner`).
        #[arg(long, value_name = "HEX")]
        mrsigner: Option<String>,
        /// The report data the quote must carry (up to 64 bytes; the rest zero).
        #[arg(long, value_name = "HEX")]
        report_data: Option<String>,
    },
    /// Print the root CA certificate of this user's simulated SGX platform
    /// (PEM), for verifiers on other machines (`verify --root`).
    Root,
}

#[derive(Subcommand)]
enum KmsCommand {
    /// Serve secrets until killed; prints the address and the SHA-256 of
    /// the TLS key (`kms.address`, `kms.server_key_sha256` in Occlum.json).
    Serve {
        /// Which enclaves get the secrets (JSON: mrenclave, mrsigner,
        /// isv_prod_id, min_isv_svn, allow_debug); read at every connection.
        #[arg(long, value_name = "FILE")]
        policy: std::path::PathBuf,
        /// A secret: its name and the file holding it (repeatable).
        #[arg(long = "secret", value_name = "NAME=FILE")]
        secrets: Vec<String>,
        /// The TLS key (ECDSA P-256, PEM); made if missing.
        #[arg(long, value_name = "FILE")]
        tls_key: std::path::PathBuf,
        /// Where to listen.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4433")]
        listen: String,
        /// The root CA certificate(s) quotes must chain to, PEM (default:
        /// this user's simulated platform's).
        #[arg(long, value_name = "FILE")]
        root: Option<std::path::PathBuf>,
    },
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
        Command::Attest { command } => match command {
            AttestCommand::Verify {
                quote,
                root,
                mrenclave,
                mrsigner,
                report_data,
            } => (
                "attest verify",
                cmd::attest::verify(
                    &quote,
                    root.as_deref(),
                    &cmd::attest::Expected {
                        mrenclave: mrenclave.as_deref(),
                        mrsigner: mrsigner.as_deref(),
                        report_data: report_data.as_deref(),
                    },
                ),
            ),
            AttestCommand::Root => ("attest root", cmd::attest::root()),
        },
        Command::Kms {
            command:
                KmsCommand::Serve {
                    policy,
                    secrets,
                    tls_key,
                    listen,
                    root,
                },
        } => (
            "kms serve",
            cmd::kms::serve(&cmd::kms::Serve {
                listen: &listen,
                policy: &policy,
                secrets: &secrets,
                tls_key: &tls_key,
                root: root.as_deref(),
            }),
        ),
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
