//! `coalition edition`: monthly editions. `propose` and `cosign` ask your node to sign (the node
//! computes the list at the frontier, and refuses to cosign a list it cannot reproduce); `list`,
//! `show`, `note` and `proof` read a node's public API; `verify-proof` checks one person's entry
//! offline against the edition's signed note and the genesis.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use coalition_core::canonical::check_canonical;
use coalition_core::edition::{EditionNoteError, verify_edition_note};
use coalition_core::event::EventId;
use coalition_core::merkle::{self, HASH_BYTES};
use coalition_server::AdminToken;
use coalition_server::client::{ClientError, MemberClient, PublicClient};
use coalition_server::editions::{ChangesBody, EditionBody, EditionReceipt, PROOF_FORMAT, ProofBody};
use serde_json::{Value, json};

use crate::member::{NODE_DEFAULT, NODE_ENV, TOKEN_FILE_ENV};
use crate::{Outcome, files, genesis};

/// Largest proof file read, in bytes (an entry, 64 path hashes and the rest, with room to spare).
pub const PROOF_FILE_BYTES_MAX: u64 = 256 * 1024;

#[derive(Subcommand)]
pub enum EditionCommand {
    /// Propose this month's edition: your node takes its current frontier (the head of every
    /// feed it holds), computes the list there, its count, Merkle root and list hash, signs the
    /// edition note and the `edition.proposed` event.
    ///
    /// Example: coalition edition propose --label 2026-11 --token-file token.txt
    Propose {
        /// The month, YYYY-MM.
        #[arg(long)]
        label: String,
        #[command(flatten)]
        connection: Connection,
    },
    /// Cosign an edition: your node recomputes the list at the edition's frontier from its own
    /// store and signs only if it finds the same count, root and list hash. It refuses (exit 2)
    /// when it lacks events of the frontier or computes another list.
    Cosign {
        /// The edition's month (or its id when several share a label).
        #[arg(long)]
        label: String,
        #[command(flatten)]
        connection: Connection,
    },
    /// List the editions a node knows, with their cosigners and whether they are official.
    List(PublicArgs),
    /// Show one edition: frontier, count, root, cosigners.
    Show {
        /// The edition's month (or id).
        #[arg(long)]
        label: String,
        #[command(flatten)]
        public: PublicArgs,
    },
    /// Print an edition's signed note (C2SP signed note with every cosignature) for
    /// `verify-proof` or any signed-note tool.
    Note {
        /// The edition's month (or id).
        #[arg(long)]
        label: String,
        #[command(flatten)]
        public: PublicArgs,
    },
    /// What changed between two editions: people added, released, died, and taken off the list.
    ///
    /// Example: coalition edition changes --label 2026-11 --since 2026-10
    Changes {
        /// The newer edition's month (or id).
        #[arg(long)]
        label: String,
        /// The older edition's month (or id) [default: the official edition before --label].
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        public: PublicArgs,
    },
    /// Print the inclusion proof of one case in an edition (JSON), for `verify-proof`.
    Proof {
        /// The edition's month (or id).
        #[arg(long)]
        label: String,
        /// The case id.
        #[arg(long)]
        case: String,
        #[command(flatten)]
        public: PublicArgs,
    },
    /// Check offline that one person's entry is in an official edition: the note's signatures
    /// against the genesis member keys, the edition quorum, and the audit path to the root.
    ///
    /// Which keys count: the founders' keys in the genesis and the genesis's edition quorum. An
    /// edition signed after key rotations, admissions or a quorum change is checked against the
    /// feeds with `coalition audit`. Exit codes: 0 valid, 1 invalid (the message says what), 2
    /// could not check (a file is missing or unreadable).
    ///
    /// Example: coalition edition verify-proof --genesis genesis.note --edition 2026-11.note
    /// --proof proof.json
    VerifyProof {
        /// The coalition's signed genesis.
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
        /// The edition's signed note (`coalition edition note`, or GET /api/v1/editions/{label}/note).
        #[arg(long, value_name = "NOTE")]
        edition: PathBuf,
        /// The proof (`coalition edition proof`, or GET /api/v1/editions/{label}/proof/{case}).
        #[arg(long, value_name = "FILE")]
        proof: PathBuf,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How to reach your node's member API.
#[derive(Args, Debug)]
#[command(next_help_heading = "Connecting to your node")]
pub struct Connection {
    /// Your organisation's node [default: $COALITION_NODE, else http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    node: Option<String>,
    /// The file holding the member API token (the one the node was started with)
    /// [default: $COALITION_TOKEN_FILE].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the node's JSON answer instead of sentences.
    #[arg(long)]
    json: bool,
}

/// Which node to read and how to print.
#[derive(Args, Debug)]
pub struct PublicArgs {
    /// A node of the coalition [default: $COALITION_NODE, else http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    node: Option<String>,
    /// Print JSON instead of sentences.
    #[arg(long)]
    json: bool,
}

fn node_url(flag: Option<&String>) -> String {
    flag.cloned()
        .or_else(|| std::env::var(NODE_ENV).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| NODE_DEFAULT.to_owned())
}

fn member_client(connection: &Connection) -> Result<MemberClient> {
    let token_file = connection
        .token_file
        .clone()
        .or_else(|| std::env::var_os(TOKEN_FILE_ENV).filter(|value| !value.is_empty()).map(PathBuf::from))
        .context("no token file given: use --token-file FILE (or set COALITION_TOKEN_FILE)")?;
    let token = AdminToken::from_file(&token_file).map_err(|error| anyhow!("{error} (--token-file)"))?;
    MemberClient::new(&node_url(connection.node.as_ref()), token).map_err(|error| anyhow!("{error} (--node)"))
}

fn public_client(args: &PublicArgs) -> Result<PublicClient> {
    PublicClient::new(&node_url(args.node.as_ref())).map_err(|error| anyhow!("{error} (--node)"))
}

/// The node's words for a refusal, or the client's error.
fn explain(error: ClientError) -> anyhow::Error {
    match (error.status(), error.server_message()) {
        (Some(401), _) => anyhow!("the node refused the token: check --token-file"),
        (Some(_), Some(message)) => anyhow!("the node refused: {message}"),
        _ => anyhow!("{error}"),
    }
}

fn describe(edition: &EditionBody) -> String {
    let cosigners = edition.cosigners.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let state = if edition.official { "official" } else { "not official yet" };
    format!(
        "edition {} ({state}, {} of {} signatures: {cosigners})\n  id        {}\n  count     {}\n  root      {}\n  list hash {}\n  frontier  {}",
        edition.label,
        edition.cosigners.len(),
        edition.quorum,
        edition.id,
        edition.count,
        edition.root,
        edition.list_hash,
        edition.frontier.iter().map(|head| format!("{}@{}", head.org, head.seq)).collect::<Vec<_>>().join(" "),
    )
}

fn print_receipt(receipt: &EditionReceipt, json: bool, verb: &str) -> Result<Outcome> {
    if json {
        println!("{}", serde_json::to_string_pretty(receipt)?);
    } else {
        eprintln!("{verb} (event {}, seq {})", receipt.id, receipt.seq);
        eprintln!("{}", describe(&receipt.edition));
        println!("{}", receipt.edition.id);
    }
    Ok(Outcome::Success)
}

pub fn run(command: EditionCommand) -> Result<Outcome> {
    match command {
        EditionCommand::Propose { label, connection } => {
            let receipt = member_client(&connection)?.propose_edition(&label).map_err(explain)?;
            print_receipt(&receipt, connection.json, "proposed")
        }
        EditionCommand::Cosign { label, connection } => {
            let receipt = member_client(&connection)?.cosign_edition(&label).map_err(explain)?;
            print_receipt(&receipt, connection.json, "cosigned: your node computed the same list")
        }
        EditionCommand::List(args) => {
            let editions = public_client(&args)?.editions().map_err(explain)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&editions)?);
            } else if editions.editions.is_empty() {
                eprintln!("no edition yet: `coalition edition propose --label YYYY-MM` proposes one");
            } else {
                for edition in &editions.editions {
                    println!("{}", describe(edition));
                }
            }
            Ok(Outcome::Success)
        }
        EditionCommand::Show { label, public } => {
            let edition = public_client(&public)?.edition(&label).map_err(explain)?;
            if public.json {
                println!("{}", serde_json::to_string_pretty(&edition)?);
            } else {
                println!("{}", describe(&edition));
            }
            Ok(Outcome::Success)
        }
        EditionCommand::Note { label, public } => {
            print!("{}", public_client(&public)?.edition_note(&label).map_err(explain)?);
            Ok(Outcome::Success)
        }
        EditionCommand::Changes { label, since, public } => {
            let changes = public_client(&public)?.edition_changes(&label, since.as_deref()).map_err(explain)?;
            if public.json {
                println!("{}", serde_json::to_string_pretty(&changes)?);
            } else {
                print!("{}", describe_changes(&changes));
            }
            Ok(Outcome::Success)
        }
        EditionCommand::Proof { label, case, public } => {
            let case = EventId::parse(&case).map_err(|_| anyhow!("--case must be a case id (64 hex digits)"))?;
            let proof = public_client(&public)?.edition_proof(&label, &case).map_err(explain)?;
            println!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(Outcome::Success)
        }
        EditionCommand::VerifyProof { genesis, edition, proof, json } => verify_proof(&genesis, &edition, &proof, json),
    }
}

/// The changes between two editions, one section per kind of change.
fn describe_changes(changes: &ChangesBody) -> String {
    let mut text = format!("From edition {} to edition {}:\n", changes.since, changes.label);
    for (title, entries) in [
        ("added to the list", &changes.added),
        ("released", &changes.released),
        ("died", &changes.died),
        ("taken off the list", &changes.delisted),
    ] {
        text.push_str(&format!("  {title}: {}\n", entries.len()));
        for entry in entries {
            let name = entry.name_uk.as_deref().or(entry.name_en.as_deref()).unwrap_or("(no name recorded)");
            text.push_str(&format!("    {name}  {}\n", entry.case));
        }
    }
    text
}

/// What `verify-proof` found wrong, in words.
struct Invalid(String);

fn read_limited(path: &Path, what: &str) -> Result<String> {
    let size = std::fs::metadata(path).with_context(|| format!("cannot read the {what} {}", path.display()))?.len();
    if size > PROOF_FILE_BYTES_MAX {
        return Err(anyhow!("the {what} {} is {size} bytes, more than {PROOF_FILE_BYTES_MAX}", path.display()));
    }
    files::read_text(path)
}

fn verify_proof(genesis_path: &Path, note_path: &Path, proof_path: &Path, json: bool) -> Result<Outcome> {
    let genesis = genesis::load_complete(genesis_path)?;
    let note = read_limited(note_path, "edition note")?;
    let proof_text = read_limited(proof_path, "proof")?;
    let proof: ProofBody = serde_json::from_str(&proof_text)
        .with_context(|| format!("{} is not an edition proof ({PROOF_FORMAT})", proof_path.display()))?;
    let verdict = check(&genesis, &note, &proof);
    match verdict {
        Ok(summary) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "valid: case {} is entry {} of {} in edition {}, signed by {} (quorum {})",
                    proof.case,
                    proof.index + 1,
                    proof.count,
                    proof.label,
                    summary["signers"]
                        .as_array()
                        .map(|list| { list.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ") })
                        .unwrap_or_default(),
                    genesis.doc().policy.edition_quorum,
                );
            }
            Ok(Outcome::Success)
        }
        Err(Invalid(reason)) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&json!({"valid": false, "reason": reason}))?);
            } else {
                println!("INVALID: {reason}");
            }
            Ok(Outcome::Findings)
        }
    }
}

fn note_problem(error: &EditionNoteError) -> String {
    match error {
        EditionNoteError::QuorumShort { .. } => format!("quorum not reached: {error}"),
        EditionNoteError::BadSignature { .. } => format!("bad signature: {error}"),
        _ => format!("the edition note is not valid: {error}"),
    }
}

fn check(genesis: &coalition_core::genesis::Genesis, note: &str, proof: &ProofBody) -> Result<Value, Invalid> {
    if proof.format != PROOF_FORMAT {
        return Err(Invalid(format!("the proof's format is {:?}, expected {PROOF_FORMAT:?}", proof.format)));
    }
    let verified = verify_edition_note(genesis, note).map_err(|error| Invalid(note_problem(&error)))?;
    let text = &verified.text;
    if proof.label != text.label || proof.root != text.root || proof.count != text.count {
        return Err(Invalid(format!(
            "the proof is for edition {} (root {}, {} entries) but the note signs edition {} (root {}, {} entries)",
            proof.label, proof.root, proof.count, text.label, text.root, text.count
        )));
    }
    check_canonical(proof.entry.as_bytes())
        .map_err(|error| Invalid(format!("the entry is not canonical JSON, so it was altered: {error}")))?;
    let entry: Value =
        serde_json::from_str(&proof.entry).map_err(|error| Invalid(format!("the entry is not JSON: {error}")))?;
    if entry["case"].as_str() != Some(proof.case.to_string().as_str()) {
        return Err(Invalid(format!("the entry is not about case {}: the entry was altered", proof.case)));
    }
    let mut path = Vec::with_capacity(proof.path.len());
    for (index, hash) in proof.path.iter().enumerate() {
        let mut bytes = [0u8; HASH_BYTES];
        hex::decode_to_slice(hash, &mut bytes)
            .map_err(|_| Invalid(format!("path[{index}] is not 64 hex digits: the path was altered")))?;
        path.push(bytes);
    }
    let leaf = merkle::leaf_hash(proof.entry.as_bytes());
    merkle::verify_inclusion(&leaf, proof.index, text.count, &path, text.root.as_bytes()).map_err(|error| {
        Invalid(format!(
            "the audit path does not lead from this entry to the root the edition signs ({error}): the entry or the \
             path was altered"
        ))
    })?;
    Ok(json!({
        "valid": true,
        "label": text.label,
        "case": proof.case,
        "index": proof.index,
        "count": text.count,
        "root": text.root,
        "signers": verified.signers,
        "quorum": genesis.doc().policy.edition_quorum,
        "unknown_signers": verified.unknown_signers,
        "entry": entry,
    }))
}
