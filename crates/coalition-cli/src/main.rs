//! `coalition`: the command-line tool of coalition-ledger.
//!
//! Thin by design: it parses arguments, reads and writes files, and calls the libraries, which
//! hold every rule. Exit codes: 0 success, 1 the check ran and found problems, 2 the command could
//! not do its work (bad arguments, unreadable input, a refused operation).

mod bench;
mod events;
mod files;
mod genesis;
mod keys;
mod list;
mod note;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code when a check ran and found problems.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code when the command could not do its work.
pub const EXIT_ERROR: u8 = 2;

/// The joint list of Ukrainian citizens held by Russia for political reasons, kept as a signed,
/// append-only ledger by a coalition of human-rights organisations.
///
/// Every change to the list is an event signed by a member organisation. These commands create
/// keys, write the coalition's constitution (the genesis), sign events into bundle files, and let
/// anyone verify them offline.
#[derive(Parser)]
#[command(name = "coalition", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Exit codes: 0 success, 1 problems found, 2 could not run.\n\
Start with `coalition keygen --help`, then `coalition genesis --help`.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an organisation's signing key pair.
    Keygen(keys::KeygenArgs),
    /// Create, sign and check the coalition's constitution (the genesis).
    #[command(subcommand)]
    Genesis(genesis::GenesisCommand),
    /// Sign one event of your organisation into a bundle file (the offline path).
    Sign(events::SignArgs),
    /// Verify every event of one or more bundles against the genesis.
    Verify(events::VerifyArgs),
    /// Print the joint list projected from verified bundles.
    List(list::ListArgs),
    /// Show one case: facts, status, and its history event by event.
    Show(list::ShowArgs),
    /// Work with any C2SP signed note.
    #[command(subcommand)]
    Note(note::NoteCommand),
    /// Measure performance beside the limits that bound it.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// What a command reports back to `main`.
pub enum Outcome {
    /// Everything went well.
    Success,
    /// The command ran and found problems, already reported.
    Findings,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keys::keygen(&args),
        Command::Genesis(command) => genesis::run(command),
        Command::Sign(args) => events::sign(&args),
        Command::Verify(args) => events::verify(&args),
        Command::List(args) => list::list(&args),
        Command::Show(args) => list::show(&args),
        Command::Note(command) => note::run(command),
        Command::Bench(command) => bench::run(command),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(EXIT_FINDINGS),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
