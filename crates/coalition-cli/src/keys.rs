//! `coalition keygen`, and loading an organisation's key file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use coalition_core::event::OrgSlug;
use coalition_core::keys::{KeyName, SignerKey};

use crate::Outcome;
use crate::files;

/// Create an organisation's signing key pair and encryption identity.
///
/// Writes DIR/SLUG.key (the secret signing key, readable only by you: keep it safe and never
/// share it), DIR/SLUG.vkey (the public verifier key, which goes into the genesis), DIR/SLUG.age
/// (the secret age identity that opens sealed records and reports; keep it off the node's data
/// directory) and DIR/SLUG.recipient (the public age recipient, which goes into the genesis
/// with --member-recipient). Refuses to overwrite a key.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition keygen --org zmina --origin coalition.example --out keys/")]
pub struct KeygenArgs {
    /// Your organisation's short name (lowercase letters, digits and '-'), e.g. zmina.
    #[arg(long)]
    org: String,
    /// The coalition's origin: the prefix of every key name, like a domain name.
    #[arg(long, default_value = "coalition.example")]
    origin: String,
    /// Folder to write the key files into (created if missing).
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
    let identity_path = args.out.join(format!("{slug}.age"));
    let recipient_path = args.out.join(format!("{slug}.recipient"));
    for path in [&public_path, &identity_path, &recipient_path] {
        if path.exists() {
            anyhow::bail!("{} already exists; refusing to overwrite it", path.display());
        }
    }
    files::create_new(&secret_path, &format!("{}\n", key.to_secret_text()), true)?;
    let vkey = key.verifier_key().to_string();
    files::create_new(&public_path, &format!("{vkey}\n"), false)?;
    let identity = coalition_core::seal::Identity::generate();
    files::create_new(&identity_path, &format!("{}\n", identity.to_secret_text()), true)?;
    files::create_new(&recipient_path, &format!("{}\n", identity.recipient()), false)?;
    eprintln!(
        "wrote {} and {} (secret), {} and {}",
        secret_path.display(),
        identity_path.display(),
        public_path.display(),
        recipient_path.display()
    );
    println!("{vkey}");
    Ok(Outcome::Success)
}

/// Reads an age identity file (`AGE-SECRET-KEY-1…`; `#` comment lines are ignored).
pub fn load_identity(path: &Path) -> Result<coalition_core::seal::Identity> {
    let text = files::read_text(path)?;
    coalition_core::seal::Identity::parse(&text)
        .with_context(|| format!("{} is not an age identity file (AGE-SECRET-KEY-1...)", path.display()))
}

/// Loads a secret key file written by `coalition keygen`.
pub fn load_signer(path: &Path) -> Result<SignerKey> {
    let text = files::read_text(path)?;
    SignerKey::parse(text.trim_end()).with_context(|| format!("{} is not a coalition secret key", path.display()))
}
