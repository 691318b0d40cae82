//! `coalition bench seal`: the cost of sealing and opening a record per event, beside plain
//! Ed25519 signing of an event measured in the same run.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use coalition_core::body::{EventKind, parse_body};
use coalition_core::event::{Event, EventId, OrgSlug};
use coalition_core::seal::{Identity, KeyGrant, Recipient, SealContext, SealedRecord, SealedValue};
use coalition_core::time::Timestamp;

use crate::Outcome;
use crate::bench::{median, signer};

/// Most time sealing a record may take per event for 8 recipients (a new case key, its grant
/// and the record), in milliseconds.
pub const SEAL_MS_MAX: f64 = 1.0;
/// Most time opening a sealed record may take per event, in milliseconds.
pub const OPEN_MS_MAX: f64 = 0.2;

/// Measure sealing (a new data key and its grant for the recipients, then the record; or the
/// record alone under a case's existing key) and opening (the grant and the record; or the record
/// alone with a cached key), beside signing the sealed event.
#[derive(Args)]
pub struct SealBenchArgs {
    /// Recipients each grant is sealed to (one per member).
    #[arg(long, default_value_t = 8)]
    recipients: usize,
    /// Operations per measurement.
    #[arg(long, default_value_t = 500)]
    operations: usize,
    /// Measurements per figure; the median is printed (this machine's load varies).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn record(case: EventId) -> SealedRecord {
    let mut fields = BTreeMap::new();
    fields.insert("sign".to_owned(), SealedValue::Text("security_service_past".to_owned()));
    fields.insert(
        "details".to_owned(),
        SealedValue::Text("Вигадана особа: служба у 2014–2016 роках, підтверджено двома джерелами.".to_owned()),
    );
    fields.insert("sources".to_owned(), SealedValue::List(vec!["fictional source one".into(), "fictional two".into()]));
    SealedRecord { case: Some(case), fields, kind: EventKind::SignNoted }
}

/// Milliseconds per operation of `operation` run `count` times, median of `rounds`.
fn per_operation_ms(rounds: usize, count: usize, mut operation: impl FnMut(usize) -> Result<()>) -> Result<f64> {
    let mut figures = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        for index in 0..count {
            operation(index)?;
        }
        figures.push(started.elapsed().as_secs_f64() * 1000.0 / count.max(1) as f64);
    }
    Ok(median(&mut figures))
}

/// Runs the benchmark and prints each figure beside its limit.
pub fn run(args: &SealBenchArgs) -> Result<Outcome> {
    let count = args.operations.max(1);
    let recipients_count = args.recipients.clamp(1, coalition_core::seal::RECIPIENTS_MAX);
    let identities: Vec<Identity> = (0..recipients_count).map(|_| Identity::generate()).collect();
    let recipients: Vec<Recipient> = identities.iter().map(Identity::recipient).collect();
    let reader = &identities[recipients_count - 1];
    let generated = crate::bench::generate(1, 1)?;
    let ledger = generated.genesis.ledger_id();
    let org = OrgSlug::parse(crate::bench::ORG_NAMES[0])?;
    let key = signer(0)?;
    let context = SealContext { ledger: &ledger, org: &org };
    let cases: Vec<EventId> = (0..count).map(|index| EventId::of_text(format!("case {index}").as_bytes())).collect();
    let time = Timestamp::parse("2026-06-01T00:00:00Z")?;

    // Prepared once: what the opening figures open.
    let grants: Vec<KeyGrant> = cases.iter().map(|case| KeyGrant::generate(Some(*case))).collect::<Result<_, _>>()?;
    let sealed_grants: Vec<Vec<u8>> = grants.iter().map(|grant| grant.seal(&recipients)).collect::<Result<_, _>>()?;
    let ciphertexts: Vec<String> = grants
        .iter()
        .zip(&cases)
        .map(|(grant, case)| coalition_core::seal::seal_record(&record(*case), grant, context))
        .collect::<Result<_, _>>()?;
    let sealed_event = |index: usize| -> Result<Event> {
        let body = serde_json::json!({ "ciphertext": ciphertexts[index], "key": grants[index].key_id });
        Ok(Event {
            ledger,
            org: org.clone(),
            seq: 1,
            prev: None,
            time,
            deps: Vec::new(),
            body: parse_body(EventKind::Sealed, &serde_json::to_string(&body)?)?,
        })
    };
    let events: Vec<Event> = (0..count).map(sealed_event).collect::<Result<_>>()?;

    let sign_ms = per_operation_ms(args.rounds, count, |index| {
        events[index].clone().sign(&key).context("sign")?;
        Ok(())
    })?;
    let seal_new_ms = per_operation_ms(args.rounds, count, |index| {
        let grant = KeyGrant::generate(Some(cases[index]))?;
        grant.seal(&recipients)?;
        coalition_core::seal::seal_record(&record(cases[index]), &grant, context)?;
        Ok(())
    })?;
    let seal_existing_ms = per_operation_ms(args.rounds, count, |index| {
        coalition_core::seal::seal_record(&record(cases[index]), &grants[index], context)?;
        Ok(())
    })?;
    let open_ms = per_operation_ms(args.rounds, count, |index| {
        let grant = KeyGrant::open(&sealed_grants[index], reader)?;
        coalition_core::seal::open_record(&ciphertexts[index], &grant, context)?;
        Ok(())
    })?;
    // A node knows where its recipient stands in the sealing set and tries that stanza first.
    let reader_position = Some(recipients_count - 1);
    let open_positioned_ms = per_operation_ms(args.rounds, count, |index| {
        let grant = KeyGrant::open_at(&sealed_grants[index], reader, reader_position)?;
        coalition_core::seal::open_record(&ciphertexts[index], &grant, context)?;
        Ok(())
    })?;
    let open_cached_ms = per_operation_ms(args.rounds, count, |index| {
        coalition_core::seal::open_record(&ciphertexts[index], &grants[index], context)?;
        Ok(())
    })?;

    println!(
        "sealing and opening, {recipients_count} recipients, {count} operations, median of {} rounds",
        args.rounds
    );
    println!("  sign an event (Ed25519)                         {sign_ms:>8.4} ms/event");
    let verdict = |ms: f64, max: f64| if ms <= max { "within" } else { "OVER" };
    println!(
        "  seal, new case key (key + grant + record)       {seal_new_ms:>8.4} ms/event  (limit {SEAL_MS_MAX} ms: {})",
        verdict(seal_new_ms, SEAL_MS_MAX)
    );
    println!(
        "  seal, existing case key (record)                {seal_existing_ms:>8.4} ms/event  (limit {SEAL_MS_MAX} ms: {})",
        verdict(seal_existing_ms, SEAL_MS_MAX)
    );
    println!(
        "  open, grant + record, own stanza first (a node) {open_positioned_ms:>8.4} ms/event  (limit {OPEN_MS_MAX} ms: {})",
        verdict(open_positioned_ms, OPEN_MS_MAX)
    );
    println!(
        "  open, grant + record, every stanza tried        {open_ms:>8.4} ms/event  (the reader is the last of \
         {recipients_count}: one X25519 agreement per stanza; a grant made for an older sealing set)"
    );
    println!(
        "  open, record with a cached key                  {open_cached_ms:>8.4} ms/event  (limit {OPEN_MS_MAX} ms: {})",
        verdict(open_cached_ms, OPEN_MS_MAX)
    );
    let within = seal_new_ms <= SEAL_MS_MAX && open_positioned_ms <= OPEN_MS_MAX && open_cached_ms <= OPEN_MS_MAX;
    Ok(if within { Outcome::Success } else { Outcome::Findings })
}
