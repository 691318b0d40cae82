//! Event bodies: the examples in `schemas/` against both the JSON Schemas and `parse_body`, the
//! link between kinds and schema files, and property tests showing that the schemas and the Rust
//! rules accept the same bodies.
//!
//! The schemas refer to `defs.json` by relative URI. The test resolves it offline: it loads
//! `defs.json` into a `jsonschema::Registry` under a fixed base URI and builds each kind's schema
//! with that registry and its own URI beside it, with retrieval switched off.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use coalition_core::body::{
    BODY_JSON_BYTES_MAX, Body, BodyError, CASE_GROUP_CHARS_MAX, CHARGE_NOTE_CHARS_MAX, CHARGES_MAX, CITIZENSHIPS_MAX,
    CaseOpened, Charge, ChargeCode, Criterion, EventKind, ExclusionGround, FactField, Facts, Gender, NAME_CHARS_MAX,
    PLACE_CHARS_MAX, POSTAL_ADDRESS_CHARS_MAX, Policy, PolicyError, QUORUM_MAX, REASONING_CHARS_MAX, Regime, Region,
    ReleaseCircumstances, SENSITIVE_SIGNS, SENTENCE_TEXT_CHARS_MAX, SUMMARY_CHARS_MAX, Sentence, Sign, Stage,
    VKEY_CHARS_MAX, parse_body,
};
use coalition_core::event::EventId;
use coalition_core::time::Date;
use jsonschema::{Registry, Validator};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A base URI for resolving the schemas' relative `$ref`s; never fetched (retrieval is off).
const SCHEMA_BASE_URI: &str = "https://coalition-ledger.invalid/schemas/events/";

const CASE_ID: &str = "5b0e9d3c7a41f2e86d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918a7b6c5d4";

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The `.json` files directly in `dir`, by file stem.
fn json_files(dir: &Path) -> BTreeMap<String, PathBuf> {
    fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .map(|path| (path.file_stem().expect("file stem").to_string_lossy().into_owned(), path))
        .collect()
}

fn defs() -> &'static Value {
    static DEFS: OnceLock<Value> = OnceLock::new();
    DEFS.get_or_init(|| read_json(&schemas_dir().join("events/defs.json")))
}

/// One compiled validator per event kind.
fn validators() -> &'static BTreeMap<EventKind, Validator> {
    static VALIDATORS: OnceLock<BTreeMap<EventKind, Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let registry = Registry::new()
            .add(format!("{SCHEMA_BASE_URI}defs.json"), defs().clone())
            .expect("defs.json is a schema resource")
            .prepare()
            .expect("the registry resolves");
        EventKind::ALL
            .into_iter()
            .map(|kind| {
                let schema = read_json(&schemas_dir().join(format!("events/{kind}.json")));
                let validator = jsonschema::options()
                    .offline()
                    .with_registry(&registry)
                    .with_base_uri(format!("{SCHEMA_BASE_URI}{kind}.json"))
                    .build(&schema)
                    .unwrap_or_else(|error| panic!("schema of {kind}: {error}"));
                (kind, validator)
            })
            .collect()
    })
}

fn schema_errors(kind: EventKind, body: &Value) -> Vec<String> {
    validators()[&kind].iter_errors(body).map(|error| format!("{}: {error}", error.instance_path())).collect()
}

fn schema_accepts(kind: EventKind, body: &Value) -> bool {
    validators()[&kind].is_valid(body)
}

fn parse_value(kind: EventKind, body: &Value) -> Result<Body, BodyError> {
    parse_body(kind, &serde_json::to_string(body).expect("a Value serialises"))
}

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

#[test]
fn every_valid_example_passes_the_schema_and_parse_body_and_round_trips() {
    for kind in EventKind::ALL {
        let example = read_json(&schemas_dir().join(format!("examples/{kind}.json")));
        let errors = schema_errors(kind, &example);
        assert!(errors.is_empty(), "example of {kind} fails its schema: {errors:#?}");
        let body = parse_value(kind, &example).unwrap_or_else(|error| panic!("example of {kind}: {error}"));
        assert_eq!(body.kind(), kind);
        let written = serde_json::to_value(&body).expect("a body serialises");
        assert_eq!(written, example, "example of {kind} does not round-trip");
    }
}

/// Verification's fast path: a canonical body must be exactly what serde writes back, which
/// holds when every body struct declares its fields in canonical (sorted) order. A struct out of
/// order is still correct, only slower; this test keeps replay fast.
#[test]
fn canonical_bodies_are_written_back_byte_for_byte() {
    for kind in EventKind::ALL {
        let example = read_json(&schemas_dir().join(format!("examples/{kind}.json")));
        let canonical = coalition_core::canonical::to_canonical_profile(&example).expect("canonical");
        let body = parse_body(kind, &canonical).unwrap_or_else(|error| panic!("example of {kind}: {error}"));
        let written = serde_json::to_string(&body).expect("a body serialises");
        assert_eq!(written, canonical, "fields of the body of {kind} are not declared in canonical order");
    }
}

/// One file of `schemas/examples/invalid/`.
struct InvalidExample {
    name: String,
    kind: EventKind,
    body: Value,
    /// The expected `BodyError::path`, when the file gives one.
    path: Option<String>,
    sensitive: bool,
    /// False for rules JSON Schema cannot express (sort order, agreement between fields).
    schema_rejects: bool,
}

fn invalid_examples() -> Vec<InvalidExample> {
    json_files(&schemas_dir().join("examples/invalid"))
        .into_iter()
        .map(|(name, path)| {
            let file = read_json(&path);
            let object = file.as_object().unwrap_or_else(|| panic!("{name}: not an object"));
            for field in object.keys() {
                assert!(
                    ["kind", "body", "reason", "path", "sensitive", "schema_rejects"].contains(&field.as_str()),
                    "{name}: unknown field {field}"
                );
            }
            let kind = object["kind"].as_str().and_then(EventKind::parse).unwrap_or_else(|| panic!("{name}: bad kind"));
            assert!(object["reason"].as_str().is_some_and(|reason| !reason.is_empty()), "{name}: no reason");
            InvalidExample {
                kind,
                body: object["body"].clone(),
                path: object.get("path").map(|path| path.as_str().expect("path is text").to_owned()),
                sensitive: object.get("sensitive").is_some_and(|flag| flag == &Value::Bool(true)),
                schema_rejects: object.get("schema_rejects") != Some(&Value::Bool(false)),
                name,
            }
        })
        .collect()
}

#[test]
fn every_invalid_example_is_rejected_by_parse_body_and_by_the_schema_where_it_can_say_so() {
    let examples = invalid_examples();
    assert!(examples.len() >= 40, "only {} invalid examples", examples.len());
    for example in examples {
        let InvalidExample { name, kind, body, .. } = &example;
        let error = match parse_value(*kind, body) {
            Ok(parsed) => panic!("{name}: parse_body accepted {parsed:?}"),
            Err(error) => error,
        };
        assert_eq!(error.is_sensitive(), example.sensitive, "{name}: {error}");
        if let Some(path) = &example.path {
            assert_eq!(error.path(), path, "{name}: {error}");
        }
        // A rule the schema cannot express must really be one: if the schema starts refusing the
        // example, flip the flag in the file.
        assert_eq!(!schema_accepts(*kind, body), example.schema_rejects, "{name}: schema verdict");
    }
}

#[test]
fn every_sensitive_sign_is_refused_as_sensitive_and_no_public_sign_is() {
    for sign in SENSITIVE_SIGNS {
        let body = json!({"case": CASE_ID, "sign": sign});
        let error = parse_value(EventKind::SignNoted, &body).expect_err(sign);
        assert!(matches!(error, BodyError::Sensitive { ref path, .. } if path == "sign"), "{error}");
        assert!(error.message().contains("sealed record"), "{error}");
        assert!(!schema_accepts(EventKind::SignNoted, &body));
        assert!(Sign::parse(sign).is_none());
    }
    for sign in Sign::ALL {
        assert!(parse_value(EventKind::SignNoted, &json!({"case": CASE_ID, "sign": sign})).is_ok());
    }
    // A sensitive sign wins over other faults, so people learn where it belongs.
    let body = json!({"case": CASE_ID, "sign": "defence_formations", "note": "x"});
    assert!(parse_value(EventKind::SignNoted, &body).expect_err("refused").is_sensitive());
    // An unknown sign is an ordinary shape error.
    let error = parse_value(EventKind::SignNoted, &json!({"case": CASE_ID, "sign": "hunger_strike"})).expect_err("x");
    assert!(matches!(error, BodyError::Shape { .. }), "{error}");
}

#[test]
fn errors_name_the_path_in_plain_words() {
    let body = json!({"facts": {"name_uk": "Тарас", "charges": [{"code": "ru_criminal_code", "article": "205,5"}]}});
    let error = parse_value(EventKind::CaseOpened, &body).expect_err("bad article");
    assert_eq!(error.path(), "facts.charges[0].article");
    assert_eq!(error.to_string(), format!("body.facts.charges[0].article: {}", error.message()));

    let error = parse_body(EventKind::PersonAdded, r#"{"case": 7}"#).expect_err("wrong type");
    assert_eq!(error.path(), "case");
    assert!(!error.message().contains("line 1"), "position dropped when the path says where: {error}");

    let error = parse_body(EventKind::PersonAdded, r#"{"case": "#).expect_err("truncated");
    assert_eq!(error.path(), "case");
    assert!(error.message().contains("line 1 column 9"), "a syntax error keeps its position: {error}");

    let error = parse_body(EventKind::PersonAdded, r#""a string""#).expect_err("not an object");
    assert_eq!(error.path(), "");
    assert!(error.to_string().starts_with("body: "), "{error}");

    // serde would read an array as the fields in (declaration) order; one spelling only.
    let error = parse_body(EventKind::PersonReleased, &format!(r#"["{CASE_ID}","exchange","2025-08-24"]"#));
    assert_eq!(error.expect_err("array").path(), "");
    let frontier = format!(
        r#"{{"label":"2026-11","frontier":[["{CASE_ID}","zmina",1]],"count":1,"root":"{CASE_ID}","list_hash":"{CASE_ID}","note_signature":"{NOTE_SIGNATURE}"}}"#
    );
    assert_eq!(parse_body(EventKind::EditionProposed, &frontier).expect_err("array").path(), "frontier[0]");
}

/// A well-formed edition note signature (4-byte key id and 64 bytes), as the schema examples carry.
const NOTE_SIGNATURE: &str =
    "/MWYQJbGOCLzULzoDBb0VSNb8NryjQDnyH7Dk8En+Rlyqbia+tsJTvvDcBL8EujLIU3RsDP8tddxnnb4DQym7IRfyOI=";

#[test]
fn duplicate_keys_trailing_text_and_oversized_bodies_are_refused() {
    let duplicate = format!(r#"{{"case":"{CASE_ID}","case":"{CASE_ID}"}}"#);
    assert!(parse_body(EventKind::PersonAdded, &duplicate).is_err());
    let trailing = format!(r#"{{"case":"{CASE_ID}"}} {{}}"#);
    assert!(parse_body(EventKind::PersonAdded, &trailing).is_err());
    let spaced = format!(" {{ \"case\" : \"{CASE_ID}\" }}\n");
    assert!(parse_body(EventKind::PersonAdded, &spaced).is_ok(), "insignificant whitespace is the envelope's concern");
    let huge = format!(r#"{{"case":"{CASE_ID}"{}}}"#, " ".repeat(BODY_JSON_BYTES_MAX));
    let error = parse_body(EventKind::PersonAdded, &huge).expect_err("too large");
    assert!(matches!(error, BodyError::Invalid { .. }), "{error}");
}

/// The largest facts the field limits allow, every text in four-byte characters (the longest
/// UTF-8), so the body-size limit never refuses a body that every field rule accepts.
#[test]
fn the_largest_valid_body_fits_the_body_size_limit() {
    let text = |chars: usize| "😀".repeat(chars);
    let charge = Charge {
        code: ChargeCode::RuAdministrativeCode,
        article: "1234.567.890".to_owned(),
        part: Some("99".to_owned()),
        note: Some(text(CHARGE_NOTE_CHARS_MAX)),
    };
    let facts = Facts {
        name_uk: Some(text(NAME_CHARS_MAX)),
        name_en: Some(text(NAME_CHARS_MAX)),
        name_ru: Some(text(NAME_CHARS_MAX)),
        birth_year: Some(1999),
        birth_date: Date::new(1999, 12, 31),
        gender: Some(Gender::Female),
        citizenship: Some(vec!["RU".to_owned(), "UA".to_owned(), "XA".to_owned(), "ZZ".to_owned()]),
        region: Some(Region::Zaporizhzhia),
        detention_date: Date::new(2099, 12, 31),
        detention_place: Some(text(PLACE_CHARS_MAX)),
        charges: Some(vec![charge; CHARGES_MAX]),
        stage: Some(Stage::CompulsoryTreatment),
        sentence: Some(Sentence {
            years: Some(99),
            months: Some(11),
            life: Some(false),
            regime: Some(Regime::Psychiatric),
            text_uk: Some(text(SENTENCE_TEXT_CHARS_MAX)),
            text_en: Some(text(SENTENCE_TEXT_CHARS_MAX)),
        }),
        place_of_detention: Some(text(PLACE_CHARS_MAX)),
        case_group: Some(text(CASE_GROUP_CHARS_MAX)),
        summary_uk: Some(text(SUMMARY_CHARS_MAX)),
        summary_en: Some(text(SUMMARY_CHARS_MAX)),
        can_receive_letters: Some(false),
        postal_address: Some(text(POSTAL_ADDRESS_CHARS_MAX)),
    };
    let body = Body::from(CaseOpened { facts });
    let json = serde_json::to_string(&body).expect("serialises");
    assert!(json.len() <= BODY_JSON_BYTES_MAX, "{} bytes", json.len());
    assert_eq!(parse_body(EventKind::CaseOpened, &json), Ok(body));
    assert!(schema_accepts(EventKind::CaseOpened, &serde_json::from_str(&json).expect("json")));
    // Reasoning is the other long text.
    let reasoning = json!({
        "case": CASE_ID,
        "criterion": "e",
        "reasoning_uk": text(REASONING_CHARS_MAX),
        "reasoning_en": text(REASONING_CHARS_MAX),
    });
    let json = serde_json::to_string(&reasoning).expect("serialises");
    assert!(json.len() <= BODY_JSON_BYTES_MAX, "{} bytes", json.len());
    assert!(parse_body(EventKind::CriterionAsserted, &json).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Kinds, files and the schema's copy of the Rust rules
// ---------------------------------------------------------------------------------------------

#[test]
fn every_kind_has_a_schema_and_an_example_and_every_file_is_a_kind() {
    let kinds: BTreeSet<String> = EventKind::ALL.iter().map(|kind| kind.as_str().to_owned()).collect();
    let mut schemas: BTreeSet<String> = json_files(&schemas_dir().join("events")).into_keys().collect();
    assert!(schemas.remove("defs"), "schemas/events/defs.json is missing");
    assert_eq!(schemas, kinds, "schemas/events/ and EventKind::ALL differ");
    let examples: BTreeSet<String> = json_files(&schemas_dir().join("examples")).into_keys().collect();
    assert_eq!(examples, kinds, "schemas/examples/ and EventKind::ALL differ");
    assert!(schemas_dir().join("README.md").is_file());
}

#[test]
fn event_kinds_have_one_spelling() {
    assert_eq!(EventKind::ALL.len(), 23);
    for kind in EventKind::ALL {
        assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
        assert_eq!(serde_json::to_value(kind).expect("serialises"), json!(kind.as_str()));
        assert_eq!(serde_json::from_value::<EventKind>(json!(kind.as_str())).expect("reads"), kind);
    }
    assert_eq!(EventKind::parse("Case.Opened"), None);
    assert!("case.closed".parse::<EventKind>().is_err());
}

#[test]
fn body_names_its_case_and_references() {
    let case = EventId::parse(CASE_ID).expect("id");
    for kind in EventKind::ALL {
        let body = parse_value(kind, &read_json(&schemas_dir().join(format!("examples/{kind}.json")))).expect("valid");
        let names_case = body.case().is_some();
        let about_a_case = !matches!(
            kind,
            EventKind::CaseOpened
                | EventKind::MemberProposed
                | EventKind::MemberApproved
                | EventKind::MemberRemovalProposed
                | EventKind::PolicyProposed
                | EventKind::PolicyApproved
                | EventKind::KeyRotated
                | EventKind::EditionProposed
                | EventKind::EditionCosigned
                | EventKind::Sealed
                | EventKind::SealedShredded
                | EventKind::RecipientRotated
        );
        assert_eq!(names_case, about_a_case, "{kind}");
        if let Some(named) = body.case() {
            assert!(body.referenced_events().contains(&named), "{kind}");
        }
    }
    let released =
        parse_value(EventKind::PersonReleased, &read_json(&schemas_dir().join("examples/person.released.json")));
    assert_eq!(released.expect("valid").case(), Some(case));
    let edition =
        parse_value(EventKind::EditionProposed, &read_json(&schemas_dir().join("examples/edition.proposed.json")));
    assert_eq!(edition.expect("valid").referenced_events().len(), 3);
}

fn def(name: &str) -> &'static Value {
    &defs()["$defs"][name]
}

fn enum_values(name: &str) -> Vec<String> {
    def(name)["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("$defs.{name} has no enum"))
        .iter()
        .map(|value| value.as_str().expect("text").to_owned())
        .collect()
}

fn names<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|&value| as_str(value).to_owned()).collect()
}

#[test]
fn schema_enums_and_limits_equal_the_rust_ones() {
    assert_eq!(enum_values("gender"), names(&Gender::ALL, Gender::as_str));
    assert_eq!(enum_values("region"), names(&Region::ALL, Region::as_str));
    assert_eq!(enum_values("stage"), names(&Stage::ALL, Stage::as_str));
    assert_eq!(enum_values("charge_code"), names(&ChargeCode::ALL, ChargeCode::as_str));
    assert_eq!(enum_values("regime"), names(&Regime::ALL, Regime::as_str));
    assert_eq!(enum_values("criterion"), names(&Criterion::ALL, Criterion::as_str));
    assert_eq!(enum_values("sign"), names(&Sign::ALL, Sign::as_str));
    assert_eq!(enum_values("exclusion_ground"), names(&ExclusionGround::ALL, ExclusionGround::as_str));
    assert_eq!(enum_values("release_circumstances"), names(&ReleaseCircumstances::ALL, ReleaseCircumstances::as_str));
    assert_eq!(enum_values("fact_field"), names(&FactField::ALL, FactField::as_str));

    // FactField is declared in the order `clear` must follow, and names every facts property.
    let fields = names(&FactField::ALL, FactField::as_str);
    assert!(fields.windows(2).all(|pair| pair[0] < pair[1]), "FactField order is not byte order");
    let properties: Vec<String> = def("facts")["properties"].as_object().expect("properties").keys().cloned().collect();
    assert_eq!(properties, fields);

    let max_length = |name: &str| def(name)["maxLength"].as_u64().unwrap_or_else(|| panic!("$defs.{name}.maxLength"));
    let facts = &def("facts")["properties"];
    let field_max =
        |field: &str| facts[field]["maxLength"].as_u64().unwrap_or_else(|| panic!("facts.{field}.maxLength"));
    let as_u64 = |value: usize| u64::try_from(value).expect("fits");
    assert_eq!(max_length("name"), as_u64(NAME_CHARS_MAX));
    assert_eq!(max_length("place"), as_u64(PLACE_CHARS_MAX));
    assert_eq!(max_length("summary"), as_u64(SUMMARY_CHARS_MAX));
    assert_eq!(max_length("reasoning"), as_u64(REASONING_CHARS_MAX));
    assert_eq!(max_length("vkey"), as_u64(VKEY_CHARS_MAX));
    assert_eq!(field_max("case_group"), as_u64(CASE_GROUP_CHARS_MAX));
    assert_eq!(field_max("postal_address"), as_u64(POSTAL_ADDRESS_CHARS_MAX));
    assert_eq!(def("charge")["properties"]["note"]["maxLength"], json!(CHARGE_NOTE_CHARS_MAX));
    assert_eq!(def("sentence")["properties"]["text_uk"]["maxLength"], json!(SENTENCE_TEXT_CHARS_MAX));
    assert_eq!(facts["charges"]["maxItems"], json!(CHARGES_MAX));
    assert_eq!(facts["citizenship"]["maxItems"], json!(CITIZENSHIPS_MAX));
    assert_eq!(def("policy")["properties"]["listing_quorum"]["maximum"], json!(QUORUM_MAX));
}

#[test]
fn policy_refuses_zero_and_unreachable_quorums() {
    let policy = Policy { listing_quorum: 2, governance_quorum: 5, edition_quorum: 3, exclusion_quorum: 2 };
    assert_eq!(policy.validate(8), Ok(()));
    assert_eq!(policy.validate(5), Ok(()));
    assert_eq!(
        policy.validate(4),
        Err(PolicyError::AboveMembers { quorum: "governance_quorum", value: 5, member_count: 4 })
    );
    let zero = Policy { edition_quorum: 0, ..policy };
    assert_eq!(zero.validate(8), Err(PolicyError::Zero { quorum: "edition_quorum" }));
    assert_eq!(policy.validate(0).map_err(|error| error.quorum()), Err("listing_quorum"));
}

// ---------------------------------------------------------------------------------------------
// Property tests: the schema and the Rust rules agree
// ---------------------------------------------------------------------------------------------

/// Characters for generated valid text: Latin, Cyrillic, Ukrainian letters, punctuation, and
/// a few outside the Basic Multilingual Plane.
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        4 => prop::char::range('А', 'я'),
        1 => prop::sample::select(vec!['і', 'ї', 'є', 'ґ', 'ʼ', '’', '«', '»', '—', '№', '.', ',', '"', '\\', '😀', '𝕏']),
    ]
}

/// Valid text of up to `chars_max` characters: blanks only inside, line feeds only if allowed.
fn valid_text(chars_max: usize, line_feeds: bool) -> impl Strategy<Value = String> {
    let inner = prop_oneof![
        8 => text_char(),
        2 => Just(' '),
        1 => Just('\u{a0}'),
        1 => Just(if line_feeds { '\n' } else { ' ' }),
    ];
    (text_char(), prop::collection::vec(inner, 0..chars_max.min(120) - 1), text_char(), any::<bool>()).prop_map(
        |(first, middle, last, single)| {
            if single {
                first.to_string()
            } else {
                std::iter::once(first).chain(middle).chain(std::iter::once(last)).collect()
            }
        },
    )
}

fn date() -> impl Strategy<Value = Date> {
    (1900u16..=2999, 1u8..=12, 1u8..=31)
        .prop_map(|(year, month, day)| Date::new(year, month, day).or_else(|| Date::new(year, month, 28)).expect("day"))
}

fn charge() -> impl Strategy<Value = Charge> {
    (
        prop::sample::select(ChargeCode::ALL.to_vec()),
        prop::collection::vec(1u32..=9999, 1..=3),
        prop::option::of(1u32..=99),
        prop::option::of(valid_text(CHARGE_NOTE_CHARS_MAX, false)),
    )
        .prop_map(|(code, numbers, part, note)| Charge {
            code,
            article: numbers
                .iter()
                .enumerate()
                .map(|(index, number)| if index == 0 { number.to_string() } else { (number % 999 + 1).to_string() })
                .collect::<Vec<_>>()
                .join("."),
            part: part.map(|part| part.to_string()),
            note,
        })
}

fn sentence() -> impl Strategy<Value = Sentence> {
    (
        prop::option::of(0u8..=99),
        prop::option::of(0u8..=11),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(Regime::ALL.to_vec())),
        prop::option::of(valid_text(SENTENCE_TEXT_CHARS_MAX, false)),
        prop::option::of(valid_text(SENTENCE_TEXT_CHARS_MAX, false)),
    )
        .prop_map(|(years, months, life, regime, text_uk, text_en)| {
            let life_without_term = life == Some(true);
            let mut sentence = Sentence {
                years: if life_without_term { None } else { years },
                months: if life_without_term { None } else { months },
                life,
                regime,
                text_uk,
                text_en,
            };
            if sentence == Sentence::default() {
                sentence.regime = Some(Regime::General);
            }
            sentence
        })
}

fn citizenship() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[A-Z]{2}", 1..=CITIZENSHIPS_MAX).prop_map(|codes| codes.into_iter().collect())
}

prop_compose! {
    fn facts()(
        names in (
            prop::option::of(valid_text(NAME_CHARS_MAX, false)),
            prop::option::of(valid_text(NAME_CHARS_MAX, false)),
            prop::option::of(valid_text(NAME_CHARS_MAX, false)),
        ),
        birth in (prop::option::of(BIRTH_YEARS), prop::option::of(date()), any::<bool>()),
        person in (
            prop::option::of(prop::sample::select(Gender::ALL.to_vec())),
            prop::option::of(citizenship()),
            prop::option::of(prop::sample::select(Region::ALL.to_vec())),
        ),
        detention in (
            prop::option::of(date()),
            prop::option::of(valid_text(PLACE_CHARS_MAX, false)),
            prop::option::of(prop::collection::vec(charge(), 0..=4)),
            prop::option::of(prop::sample::select(Stage::ALL.to_vec())),
            prop::option::of(sentence()),
            prop::option::of(valid_text(PLACE_CHARS_MAX, false)),
        ),
        texts in (
            prop::option::of(valid_text(CASE_GROUP_CHARS_MAX, false)),
            prop::option::of(valid_text(SUMMARY_CHARS_MAX, true)),
            prop::option::of(valid_text(SUMMARY_CHARS_MAX, true)),
            prop::option::of(any::<bool>()),
            prop::option::of(valid_text(POSTAL_ADDRESS_CHARS_MAX, false)),
        ),
    ) -> Facts {
        let (name_uk, name_en, name_ru) = names;
        let (birth_year, birth_date, year_from_date) = birth;
        // When both are given they must agree: take the year from the date half of the time.
        let birth_year = match (birth_year, birth_date) {
            (Some(_), Some(date)) if year_from_date && date.year() <= 2100 => Some(date.year()),
            (Some(_), Some(_)) => None,
            (year, _) => year,
        };
        let (gender, citizenship, region) = person;
        let (detention_date, detention_place, charges, stage, sentence, place_of_detention) = detention;
        let (case_group, summary_uk, summary_en, can_receive_letters, postal_address) = texts;
        Facts {
            name_uk, name_en, name_ru, birth_year, birth_date, gender, citizenship, region, detention_date,
            detention_place, charges, stage, sentence, place_of_detention, case_group, summary_uk, summary_en,
            can_receive_letters, postal_address,
        }
    }
}

const BIRTH_YEARS: std::ops::RangeInclusive<u16> = 1900..=2100;

/// Characters at the edges of the text rule: controls, blanks, bidirectional controls, their
/// neighbours, and ordinary letters.
const TRICKY_CHARS: [char; 40] = [
    '\u{0}',
    '\u{8}',
    '\t',
    '\n',
    '\u{b}',
    '\r',
    '\u{1f}',
    ' ',
    '!',
    '~',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{9f}',
    '\u{a0}',
    '\u{a1}',
    '\u{1680}',
    '\u{180e}',
    '\u{2000}',
    '\u{200a}',
    '\u{200b}',
    '\u{200c}',
    '\u{2028}',
    '\u{2029}',
    '\u{202a}',
    '\u{202e}',
    '\u{202f}',
    '\u{205f}',
    '\u{2060}',
    '\u{2065}',
    '\u{2066}',
    '\u{2069}',
    '\u{206a}',
    '\u{3000}',
    '\u{feff}',
    '\u{10ffff}',
    'a',
    'Я',
    '😀',
    'ʼ',
];

fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY_CHARS.to_vec()), 0..6).prop_map(String::from_iter)
}

fn assert_agree(kind: EventKind, body: &Value) {
    let rust = parse_value(kind, body);
    let schema = schema_errors(kind, body);
    assert_eq!(rust.is_ok(), schema.is_empty(), "{kind} {body}: parse_body says {rust:?}, the schema says {schema:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_valid_facts_round_trip_and_pass_both_validators(facts in facts(), name_en in valid_text(NAME_CHARS_MAX, false)) {
        let update = json!({"case": CASE_ID, "facts": serde_json::to_value(&facts).expect("serialises")});
        if facts.fields_set().is_empty() {
            prop_assert!(parse_value(EventKind::CaseUpdated, &update).is_err());
            prop_assert!(!schema_accepts(EventKind::CaseUpdated, &update));
        } else {
            let body = parse_value(EventKind::CaseUpdated, &update);
            prop_assert!(body.is_ok(), "{:?}", body);
            prop_assert_eq!(serde_json::to_value(body.expect("valid")).expect("serialises"), update.clone());
            let errors = schema_errors(EventKind::CaseUpdated, &update);
            prop_assert!(errors.is_empty(), "{:?}", errors);
        }
        let opened = Body::from(CaseOpened { facts: Facts { name_en: Some(name_en), ..facts } });
        let json = serde_json::to_string(&opened).expect("serialises");
        prop_assert_eq!(parse_body(EventKind::CaseOpened, &json), Ok(opened));
        let errors = schema_errors(EventKind::CaseOpened, &serde_json::from_str(&json).expect("json"));
        prop_assert!(errors.is_empty(), "{:?}", errors);
    }

    #[test]
    fn schema_and_rust_agree_on_text(text in tricky_text()) {
        assert_agree(EventKind::CaseUpdated, &json!({"case": CASE_ID, "facts": {"name_uk": text}}));
        assert_agree(EventKind::CaseUpdated, &json!({"case": CASE_ID, "facts": {"summary_uk": text}}));
        assert_agree(EventKind::KeyRotated, &json!({"vkey": text}));
    }

    #[test]
    fn schema_and_rust_agree_on_text_length(repeat in 195usize..=205, wide in any::<bool>()) {
        let text = (if wide { "😀" } else { "Я" }).repeat(repeat);
        assert_agree(EventKind::CaseUpdated, &json!({"case": CASE_ID, "facts": {"name_en": text}}));
    }

    #[test]
    fn schema_and_rust_agree_on_dates(year in 1890u32..=3010, month in 0u32..=13, day in 0u32..=32, wide in any::<bool>()) {
        let date = if wide { format!("{year:04}-{month:02}-{day:03}") } else { format!("{year:04}-{month:02}-{day:02}") };
        assert_agree(EventKind::PersonDied, &json!({"case": CASE_ID, "date": date}));
    }

    #[test]
    fn schema_and_rust_agree_on_articles_parts_and_labels(article in "[0-9.]{0,13}", part in "[0-9]{0,3}", label in "[0-9]{4}-[0-9]{2}|[0-9-]{0,8}") {
        let charge = json!({"code": "other", "article": article, "part": part});
        assert_agree(EventKind::CaseUpdated, &json!({"case": CASE_ID, "facts": {"charges": [charge]}}));
        let mut edition = read_json(&schemas_dir().join("examples/edition.proposed.json"));
        edition["label"] = json!(label);
        assert_agree(EventKind::EditionProposed, &edition);
    }

    #[test]
    fn schema_and_rust_agree_on_citizenship_and_sentences(
        codes in prop::collection::vec("[A-Za-z]{1,3}", 0..=5),
        years in 0u32..=101,
        months in 0u32..=13,
        life in any::<bool>(),
    ) {
        let mut sorted_unique = codes.clone();
        sorted_unique.sort();
        sorted_unique.dedup();
        // Sort order is a Rust-only rule, so hand the schema sorted lists.
        assert_agree(EventKind::CaseUpdated, &json!({"case": CASE_ID, "facts": {"citizenship": sorted_unique}}));
        let sentence = json!({"years": years, "months": months, "life": life});
        assert_agree(EventKind::CaseUpdated, &json!({"case": CASE_ID, "facts": {"sentence": sentence}}));
    }
}
