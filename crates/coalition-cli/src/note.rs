//! `coalition note`: verify any C2SP signed note.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use coalition_core::keys::VerifierKey;
use coalition_core::note::parse_note;

use crate::{Outcome, files};

#[derive(Subcommand)]
pub enum NoteCommand {
    /// Verify a C2SP signed note against verifier keys.
    ///
    /// Succeeds when at least one given key signed the note validly and no given key's signature
    /// fails. Signatures by keys not given are listed and ignored. Works with notes from any
    /// signed-note implementation.
    Verify {
        /// Verifier key (name+keyid+base64) or @FILE holding one; repeat for several.
        #[arg(long = "vkey", required = true)]
        vkeys: Vec<String>,
        /// The signed note file.
        file: PathBuf,
    },
}

pub fn run(command: NoteCommand) -> Result<Outcome> {
    let NoteCommand::Verify { vkeys, file } = command;
    let keys = vkeys
        .iter()
        .map(|value| {
            let text = files::literal_or_file(value)?;
            VerifierKey::parse(text.trim()).with_context(|| format!("invalid verifier key {value:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let text = files::read_text(&file)?;
    let note = parse_note(&text).with_context(|| format!("{} is not a signed note", file.display()))?;
    let mut verified = 0;
    let mut failed = 0;
    for signature in note.signatures() {
        let key = keys.iter().find(|key| key.name().as_str() == signature.name() && key.key_id() == signature.key_id());
        match key {
            None => println!("unknown key: {} {}", signature.name(), signature.key_id()),
            Some(key) => {
                let valid =
                    signature.ed25519_signature().is_some_and(|bytes| key.verify(note.text().as_bytes(), bytes));
                if valid {
                    verified += 1;
                    println!("verified:    {key}");
                } else {
                    failed += 1;
                    println!("BAD SIGNATURE by {key}");
                }
            }
        }
    }
    if verified > 0 && failed == 0 {
        Ok(Outcome::Success)
    } else {
        if verified == 0 && failed == 0 {
            println!("no signature by any of the given keys");
        }
        Ok(Outcome::Findings)
    }
}
