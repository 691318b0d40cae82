//! `coalition import` and `coalition export`: moving events between a node's data directory and
//! bundle files.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use coalition_core::bundle;
use coalition_node::{Node, data_dir};

use crate::{Outcome, genesis};

/// Write every event of a node's data directory to standard output as a bundle.
///
/// The node must not be running (its store is locked while it runs). Events come feed by feed
/// in seq order; the bundle verifies with `coalition verify` against the same genesis.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition export --data node-data > backup.jsonl")]
pub struct ExportArgs {
    /// The node's data directory.
    #[arg(long)]
    data: PathBuf,
}

/// Verify bundles and add their valid events to a node's data directory.
///
/// Every event is verified first; invalid ones are reported and skipped. Importing the same
/// bundle twice changes nothing. The node must not be running.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition import --data node-data --genesis genesis.note backup.jsonl")]
pub struct ImportArgs {
    /// The node's data directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// The genesis, needed when the data directory is new.
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Bundle files.
    #[arg(required = true)]
    bundles: Vec<PathBuf>,
}

pub fn export(args: &ExportArgs) -> Result<Outcome> {
    let genesis = data_dir::prepare(&args.data, None)?;
    let node = Node::open(&args.data, genesis, None).context("cannot open the node's store (is the node running?)")?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failure = None;
    let count =
        node.for_each_event(&mut |event| match out.write_all(bundle::format_line(event.note()).as_bytes()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                failure = Some(error);
                ControlFlow::Break(())
            }
        })?;
    if let Some(error) = failure {
        return Err(error).context("cannot write the bundle");
    }
    out.flush()?;
    eprintln!("exported {count} events");
    Ok(Outcome::Success)
}

pub fn import(args: &ImportArgs) -> Result<Outcome> {
    let given = args.genesis.as_deref().map(genesis::load_complete).transpose()?;
    let genesis = data_dir::prepare(&args.data, given)?;
    let node = Node::open(&args.data, genesis, None).context("cannot open the node's store (is the node running?)")?;
    let mut problems = 0usize;
    let (mut stored, mut duplicates) = (0u64, 0u64);
    for path in &args.bundles {
        let file = File::open(path).with_context(|| format!("cannot open bundle {}", path.display()))?;
        let mut notes = Vec::new();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line_number = index as u64 + 1;
            let line = line.with_context(|| format!("cannot read {} line {line_number}", path.display()))?;
            match bundle::parse_line(&line) {
                Ok(note) => notes.push((line_number, note)),
                Err(error) => {
                    problems += 1;
                    eprintln!("{}:{line_number}: {error}", path.display());
                }
            }
        }
        let report = node.import(notes)?;
        for (line_number, reason) in &report.refused {
            eprintln!("{}:{line_number}: {reason}", path.display());
        }
        for (org, seq) in &report.forks {
            eprintln!("{}: fork: {org} signed two events at seq {seq}; the proof is stored", path.display());
        }
        problems += report.refused.len() + report.forks.len();
        stored += report.stored;
        duplicates += report.duplicates;
    }
    eprintln!("imported {stored} new events ({duplicates} already held); {problems} problems");
    Ok(if problems == 0 { Outcome::Success } else { Outcome::Findings })
}
