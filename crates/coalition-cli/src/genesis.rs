//! `coalition genesis init | sign | verify`: the coalition's constitution.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use coalition_core::body::Policy;
use coalition_core::event::OrgSlug;
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::VerifierKey;
use coalition_core::time::Timestamp;

use crate::{Outcome, files, keys};

#[derive(Subcommand)]
pub enum GenesisCommand {
    /// Write a new, unsigned genesis: the coalition's members, keys and quorums.
    Init(InitArgs),
    /// Add your organisation's signature to a genesis file (every founder signs once).
    Sign {
        /// The genesis file; it is updated in place.
        file: PathBuf,
        /// Your organisation's secret key file (from `coalition keygen`).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a genesis: succeeds only when every founding member has signed. Prints the ledger id.
    Verify {
        /// The genesis file.
        file: PathBuf,
    },
}

/// Write a new, unsigned genesis.
#[derive(Args)]
#[command(
    after_help = "Example:\n  coalition genesis init --name \"Demo coalition\" --origin coalition.example \\\n    \
    --member zmina=@keys/zmina.vkey --member crimea-sos=@keys/crimea-sos.vkey \\\n    \
    --member-recipient zmina=@keys/zmina.recipient --member-recipient crimea-sos=@keys/crimea-sos.recipient \\\n    \
    --listing-quorum 2 --governance-quorum 2 --edition-quorum 2 --exclusion-quorum 2 --out genesis.note"
)]
pub struct InitArgs {
    /// The coalition's display name.
    #[arg(long)]
    name: String,
    /// The prefix of every member's key name, like a domain name (keys are named ORIGIN/SLUG).
    #[arg(long)]
    origin: String,
    /// A founding member as SLUG=VKEY, where VKEY is the verifier key or @FILE holding it. Repeat.
    #[arg(long = "member", required = true, value_name = "SLUG=VKEY")]
    members: Vec<String>,
    /// A member's display name as SLUG=NAME (defaults to the slug). Repeat.
    #[arg(long = "member-name", value_name = "SLUG=NAME")]
    member_names: Vec<String>,
    /// A member's encryption recipient as SLUG=RECIPIENT, where RECIPIENT is the age1... text or
    /// @FILE holding it (`coalition keygen` writes SLUG.recipient). Sealed records and reports are
    /// encrypted to these; a member without one cannot read them. Repeat.
    #[arg(long = "member-recipient", value_name = "SLUG=RECIPIENT")]
    member_recipients: Vec<String>,
    /// How many members must endorse ("person added") before a person is listed.
    #[arg(long)]
    listing_quorum: u32,
    /// How many members must approve a change of membership or policy.
    #[arg(long)]
    governance_quorum: u32,
    /// How many members must sign a monthly edition before it is official.
    #[arg(long)]
    edition_quorum: u32,
    /// How many members must raise an exclusion before it stands.
    #[arg(long)]
    exclusion_quorum: u32,
    /// When the ledger begins (RFC 3339 UTC, seconds, e.g. 2026-11-01T00:00:00Z); default: now.
    #[arg(long)]
    created: Option<Timestamp>,
    /// Where to write the genesis; an existing file is never overwritten.
    #[arg(long)]
    out: PathBuf,
}

/// The current time, in the protocol's form.
pub fn now() -> Result<Timestamp> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    Timestamp::from_unix_seconds(i64::try_from(seconds)?).context("the system clock is out of range")
}

fn init(args: InitArgs) -> Result<Outcome> {
    let mut members = Vec::new();
    for spec in &args.members {
        let (slug, vkey) = spec.split_once('=').with_context(|| format!("--member {spec:?}: expected SLUG=VKEY"))?;
        let slug = OrgSlug::parse(slug)?;
        let vkey_text = files::literal_or_file(vkey)?;
        let vkey = VerifierKey::parse(vkey_text.trim()).with_context(|| format!("--member {slug}: invalid key"))?;
        let name = args
            .member_names
            .iter()
            .filter_map(|spec| spec.split_once('='))
            .find(|(name_slug, _)| *name_slug == slug.as_str())
            .map_or_else(|| slug.to_string(), |(_, name)| name.trim().to_owned());
        let recipient = match args
            .member_recipients
            .iter()
            .find_map(|spec| spec.split_once('=').filter(|(recipient_slug, _)| *recipient_slug == slug.as_str()))
        {
            Some((_, text)) => {
                let text = files::literal_or_file(text)?;
                let recipient = coalition_core::seal::Recipient::parse(text.trim())
                    .with_context(|| format!("--member-recipient {slug}: invalid age recipient"))?;
                Some(recipient.to_string())
            }
            None => None,
        };
        members.push(FoundingMember { slug, name, vkey, recipient });
    }
    for spec in &args.member_recipients {
        let known =
            spec.split_once('=').is_some_and(|(slug, _)| members.iter().any(|member| member.slug.as_str() == slug));
        anyhow::ensure!(known, "--member-recipient {spec:?}: expected SLUG=RECIPIENT for a SLUG given with --member");
    }
    members.sort_by(|left, right| left.slug.cmp(&right.slug));
    let doc = GenesisDoc {
        name: args.name.trim().to_owned(),
        origin: args.origin,
        created: match args.created {
            Some(created) => created,
            None => now()?,
        },
        members,
        policy: Policy {
            listing_quorum: args.listing_quorum,
            governance_quorum: args.governance_quorum,
            edition_quorum: args.edition_quorum,
            exclusion_quorum: args.exclusion_quorum,
        },
    };
    let text = doc.to_note_text()?;
    files::create_new(&args.out, &text, false)?;
    let genesis = Genesis::parse(&text)?;
    eprintln!(
        "wrote {} for {} founding members; each founder now runs `coalition genesis sign {} --key THEIR.key`",
        args.out.display(),
        genesis.doc().members.len(),
        args.out.display()
    );
    println!("{}", genesis.ledger_id());
    Ok(Outcome::Success)
}

/// Loads a genesis file and requires every founder's signature.
pub fn load_complete(path: &std::path::Path) -> Result<Genesis> {
    let text = files::read_text(path)?;
    let genesis = Genesis::parse(&text).with_context(|| format!("{} is not a valid genesis", path.display()))?;
    genesis.require_complete().with_context(|| format!("{} is not fully signed", path.display()))?;
    Ok(genesis)
}

pub fn run(command: GenesisCommand) -> Result<Outcome> {
    match command {
        GenesisCommand::Init(args) => init(args),
        GenesisCommand::Sign { file, key } => {
            let genesis = Genesis::parse(&files::read_text(&file)?)
                .with_context(|| format!("{} is not a valid genesis", file.display()))?;
            let signer = keys::load_signer(&key)?;
            let signed = genesis.sign(&signer)?;
            files::replace_atomically(&file, &signed)?;
            let genesis = Genesis::parse(&signed)?;
            match genesis.require_complete() {
                Ok(()) => eprintln!("signed; every founding member has now signed"),
                Err(missing) => eprintln!("signed; {missing}"),
            }
            Ok(Outcome::Success)
        }
        GenesisCommand::Verify { file } => {
            let text = files::read_text(&file)?;
            let genesis =
                Genesis::parse(&text).with_context(|| format!("{} is not a valid genesis", file.display()))?;
            let doc = genesis.doc();
            println!("ledger   {}", genesis.ledger_id());
            println!("name     {}", doc.name);
            println!("origin   {}", doc.origin);
            println!("created  {}", doc.created);
            let policy = &doc.policy;
            println!(
                "quorums  listing {}, governance {}, edition {}, exclusion {}",
                policy.listing_quorum, policy.governance_quorum, policy.edition_quorum, policy.exclusion_quorum
            );
            for member in &doc.members {
                let signed = if genesis.signed_by().contains(&member.slug) { "signed " } else { "MISSING" };
                println!("{signed}  {:<24} {}", member.slug.as_str(), member.name);
            }
            match genesis.require_complete() {
                Ok(()) => Ok(Outcome::Success),
                Err(error) => {
                    eprintln!("{error}");
                    Ok(Outcome::Findings)
                }
            }
        }
    }
}
