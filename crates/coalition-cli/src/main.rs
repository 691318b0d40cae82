//! `coalition`: the command-line tool of coalition-ledger.
//!
//! Thin by design: it parses arguments, reads and writes files, and calls the libraries, which
//! hold every rule. Exit codes: 0 success, 1 the check ran and found problems, 2 the command could
//! not do its work (bad arguments, unreadable input, a refused operation).

/// mimalloc instead of the system allocator: replay and audit allocate and free a few small
/// objects per event (millions per run), where glibc's allocator cost 6-7% of an audit's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod audit;
mod audit_replay;
mod bench;
mod bench_audit;
mod bench_reports;
mod bench_seal;
mod edition;
mod events;
mod files;
mod genesis;
mod keys;
mod list;
mod member;
mod member_sealed;
mod node_cmd;
mod note;
mod reports_cmd;
mod serve_cmd;
mod status;
mod store_cmd;

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
    /// Sign one event of your organisation into a bundle file (the offline path), or `sign note`
    /// a public sign on a case through your node.
    Sign(member::SignCommand),
    /// Verify every event of one or more bundles against the genesis.
    Verify(events::VerifyArgs),
    /// Audit a coalition's whole history from bundles or nodes: verify, compare, recompute the
    /// list and every edition, and report with a verdict.
    Audit(audit::AuditArgs),
    /// Print the joint list projected from verified bundles.
    List(list::ListArgs),
    /// Show one case: facts, status, and its history event by event.
    Show(list::ShowArgs),
    /// Work with any C2SP signed note.
    #[command(subcommand)]
    Note(note::NoteCommand),
    /// Run a member organisation's node: durable store, member API and public page.
    Node(node_cmd::NodeArgs),
    /// Run a read-only public node (a mirror): no key, no member API, the public site and API.
    Serve(serve_cmd::ServeArgs),
    /// Run a node with a fictional demo coalition on this machine (no other service needed).
    Demo(node_cmd::DemoArgs),
    /// Replace your organisation's signing key (the node must be stopped).
    RotateKey(node_cmd::RotateKeyArgs),
    /// Write every event of a node's data directory to standard output as a bundle.
    Export(store_cmd::ExportArgs),
    /// Verify bundles and add their valid events to a node's data directory.
    Import(store_cmd::ImportArgs),
    /// Open, update and show cases through your organisation's node.
    #[command(subcommand)]
    Case(member::CaseCommand),
    /// Assert or withdraw a PACE criterion on a case through your node.
    #[command(subcommand)]
    Criterion(member::CriterionCommand),
    /// Raise or withdraw an exclusion on a case through your node.
    #[command(subcommand)]
    Exclusion(member::ExclusionCommand),
    /// Endorse listing a person, withdraw it, record a release, a new detention or a death.
    #[command(subcommand)]
    Person(member::PersonCommand),
    /// Propose admitting or removing a member organisation; approve proposals.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// Triage the inbox of reports from the public form: list, show, accept into a case, discard.
    #[command(subcommand)]
    Reports(reports_cmd::ReportsCommand),
    /// Show the work waiting on your organisation: cases, proposals, editions.
    Pending(member::PendingArgs),
    /// Have your node sign any event from its kind and JSON body (for scripts).
    Event(member::EventArgs),
    /// Show a node's feeds and replication (connected, lag, outbox, quarantine, forks).
    Status(status::StatusArgs),
    /// Propose, cosign, list and show monthly editions; verify a person's inclusion offline.
    #[command(subcommand)]
    Edition(edition::EditionCommand),
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
        Command::Sign(command) => member::sign(command),
        Command::Verify(args) => events::verify(&args),
        Command::Audit(args) => audit::audit(&args),
        Command::List(args) => list::list(&args),
        Command::Show(args) => list::show(&args),
        Command::Note(command) => note::run(command),
        Command::Bench(command) => bench::run(command),
        Command::Edition(command) => edition::run(command),
        Command::Case(command) => member::case(command),
        Command::Criterion(command) => member::criterion(command),
        Command::Exclusion(command) => member::exclusion(command),
        Command::Person(command) => member::person(command),
        Command::Member(command) => member::member(command),
        Command::Reports(command) => reports_cmd::run(command),
        Command::Pending(args) => member::pending(&args),
        Command::Event(args) => member::event(&args),
        Command::Export(args) => store_cmd::export(&args),
        Command::Node(args) => node_cmd::node(&args),
        Command::Demo(args) => node_cmd::demo(&args),
        Command::Serve(args) => serve_cmd::serve(&args),
        Command::RotateKey(args) => node_cmd::rotate_key(&args),
        Command::Import(args) => store_cmd::import(&args),
        Command::Status(args) => status::status(&args),
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
