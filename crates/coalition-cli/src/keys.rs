//! `coalition keygen`, and loading an organisation's key file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use coalition_core::event::OrgSlug;
use coalition_core::keys::{KeyName, SignerKey};

use crate::Outcome;
use crate::files;

/// Create an organisation's signing key pair.
///
/// Writes DIR/SLUG.key (the secret key, readable only by you: keep it safe and never share it) and
/// DIR/SLUG.vkey (the public verifier key, which goes into the genesis). Refuses to overwrite a key.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition keygen --org zmina --origin coalition.example --out keys/")]
pub struct KeygenArgs {
    /// Your organisation's short name (lowercase letters, digits and '-'), e.g. zmina.
    #[arg(long)]
    org: String,
    /// The coalition's origin: the prefix of every key name, like a domain name.
    #[arg(long, default_value = "coalition.example")]
    origin: String,
    /// Folder to write the two key files into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn keygen(args: &KeygenArgs) -> Result<Outcome> {
    let slug = OrgSlug::parse(&args.org)?;
    let name = KeyName::parse(&format!("{}/{}", args.origin, slug)).context("invalid --origin")?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| anyhow::anyhow!("no secure random source: {error}"))?;
    let key = SignerKey::from_seed(name, seed);
    seed.fill(0);
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let secret_path = args.out.join(format!("{slug}.key"));
    let public_path = args.out.join(format!("{slug}.vkey"));
    if public_path.exists() {
        anyhow::bail!("{} already exists; refusing to overwrite it", public_path.display());
    }
    files::create_new(&secret_path, &format!("{}\n", key.to_secret_text()), true)?;
    let vkey = key.verifier_key().to_string();
    files::create_new(&public_path, &format!("{vkey}\n"), false)?;
    eprintln!("wrote {} (secret) and {}", secret_path.display(), public_path.display());
    println!("{vkey}");
    Ok(Outcome::Success)
}

/// Loads a secret key file written by `coalition keygen`.
/// Reads an age identity file (`AGE-SECRET-KEY-1…`; `#` comment lines are ignored).
pub fn load_identity(path: &Path) -> Result<coalition_core::seal::Identity> {
    let text = files::read_text(path)?;
    coalition_core::seal::Identity::parse(&text)
        .with_context(|| format!("{} is not an age identity file (AGE-SECRET-KEY-1...)", path.display()))
}

pub fn load_signer(path: &Path) -> Result<SignerKey> {
    let text = files::read_text(path)?;
    SignerKey::parse(text.trim_end()).with_context(|| format!("{} is not a coalition secret key", path.display()))
}
