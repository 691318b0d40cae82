//! The editions over HTTP: members propose and cosign through the member API; the public API
//! serves the editions, the signed note, proofs, changes and the list as JSON and CSV, with long
//! caching where the content cannot change.

use axum::http::{Method, StatusCode};
use coalition_core::body::{Digest, EventKind};
use coalition_core::edition::verify_edition_note;
use coalition_projector::{InclusionProof, verify_inclusion};
use serde_json::json;

use crate::fixtures::{Call, REAL_NAME, app, genesis, node, replicate};

#[tokio::test]
async fn members_propose_and_cosign_and_the_public_reads_and_proves() {
    let zmina = node(Some("zmina"), REAL_NAME);
    let ccl = node(Some("ccl"), REAL_NAME);
    let case = zmina
        .submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "=Анна, \"А\"", "name_en": "Anna"}}))
        .expect("open")
        .id;
    zmina.submit(EventKind::CriterionAsserted, json!({"case": case, "criterion": "a"})).expect("criterion");
    zmina.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    replicate(&zmina, &ccl, "zmina");
    ccl.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    replicate(&ccl, &zmina, "ccl");
    let (zmina_app, ccl_app) = (app(&zmina), app(&ccl));

    let bad = Call::member(Method::POST, "/editions").json(&json!({"label": "2026-13"})).send(&zmina_app).await;
    assert_eq!((bad.status, bad.json()["error"]["path"].as_str()), (StatusCode::BAD_REQUEST, Some("label")));
    let proposed = Call::member(Method::POST, "/editions").json(&json!({"label": "2026-11"})).send(&zmina_app).await;
    assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text());
    let receipt = proposed.json();
    assert_eq!(receipt["kind"], "edition.proposed");
    assert_eq!(
        (receipt["edition"]["count"].as_u64(), receipt["edition"]["official"].as_bool()),
        (Some(1), Some(false))
    );
    let again = Call::member(Method::POST, "/editions").json(&json!({"label": "2026-11"})).send(&zmina_app).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    replicate(&zmina, &ccl, "zmina");
    let cosigned = Call::member(Method::POST, "/editions/2026-11/cosignature").send(&ccl_app).await;
    assert_eq!(cosigned.status, StatusCode::CREATED, "{}", cosigned.text());
    assert_eq!(cosigned.json()["edition"]["official"], true);
    let twice = Call::member(Method::POST, "/editions/2026-11/cosignature").send(&ccl_app).await;
    assert_eq!((twice.status, twice.code()), (StatusCode::CONFLICT, "no_effect".to_owned()));
    let raw = Call::member(Method::POST, "/events")
        .json(&json!({"kind": "edition.cosigned", "body": {"edition": receipt["id"], "root": receipt["edition"]["root"], "note_signature": "A".repeat(91) + "="}}))
        .send(&ccl_app)
        .await;
    assert_ne!(raw.status, StatusCode::CREATED, "editions are not signed from raw bodies: {}", raw.text());

    let editions = Call::get("/api/v1/editions").send(&ccl_app).await;
    assert_eq!(editions.status, StatusCode::OK);
    assert_eq!(editions.json()["editions"].as_array().map(Vec::len), Some(1));
    let shown = Call::get("/api/v1/editions/2026-11").send(&ccl_app).await.json();
    assert_eq!(shown["cosigners"], json!(["ccl", "zmina"]));
    assert_eq!(shown["official"], true);

    let note = Call::get("/api/v1/editions/2026-11/note").send(&ccl_app).await;
    assert_eq!(note.header("content-type"), Some("text/plain; charset=utf-8"));
    let verified = verify_edition_note(&genesis(REAL_NAME), &note.text()).expect("the note verifies");
    assert_eq!(verified.signers.len(), 2);

    let proof = Call::get(format!("/api/v1/editions/2026-11/proof/{case}")).send(&ccl_app).await;
    assert_eq!(proof.status, StatusCode::OK, "{}", proof.text());
    assert!(proof.header("cache-control").is_some_and(|value| value.contains("immutable")));
    let body = proof.json();
    let path: Vec<[u8; 32]> = body["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|hash| {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hash.as_str().expect("hex"), &mut bytes).expect("hex");
            bytes
        })
        .collect();
    let inclusion = InclusionProof::new(
        body["index"].as_u64().expect("index"),
        body["count"].as_u64().expect("count"),
        body["entry"].as_str().expect("entry").to_owned(),
        path,
    );
    let root = Digest::parse(body["root"].as_str().expect("root")).expect("root");
    assert_eq!(root, verified.text.root);
    assert_eq!(verify_inclusion(&inclusion, &root), Ok(()));
    let unknown = Call::get(format!("/api/v1/editions/2026-11/proof/{}", "a".repeat(64))).send(&ccl_app).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let no_edition = Call::get(format!("/api/v1/editions/2031-01/proof/{case}")).send(&ccl_app).await;
    assert_eq!(no_edition.status, StatusCode::NOT_FOUND);

    let csv = Call::get("/api/v1/editions/2026-11/list.csv").send(&ccl_app).await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    assert!(text.starts_with("case,status,"), "{text}");
    assert!(text.contains("\"'=Анна, \"\"А\"\"\""), "a formula-looking name is quoted and defused: {text}");
    let list = Call::get("/api/v1/editions/2026-11/list.json").send(&ccl_app).await.json();
    assert_eq!(list["count"], 1);
    assert_eq!(list["entries"][0]["case"], case.to_string());

    let no_previous = Call::get("/api/v1/editions/2026-11/changes").send(&ccl_app).await;
    assert_eq!(no_previous.status, StatusCode::NOT_FOUND);
    let itself = Call::get("/api/v1/editions/2026-11/changes?since=2026-11").send(&ccl_app).await.json();
    assert_eq!(itself["added"], json!([]));

    // The pages: the list of editions, one edition with its cosigners and downloads, the home
    // page's link to the current official edition; names are escaped.
    let page = Call::get("/editions?lang=en").send(&ccl_app).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("href=\"/editions/2026-11?lang=en\"") && text.contains("official"), "{text}");
    let page = Call::get("/editions/2026-11?lang=uk").send(&ccl_app).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("Підписали") && text.contains("Test organisation ccl"), "{text}");
    assert!(text.contains("/api/v1/editions/2026-11/list.csv") && text.contains("/api/v1/editions/2026-11/note"));
    assert!(text.contains("Попереднього офіційного видання немає"), "{text}");
    let home = Call::get("/?lang=en").send(&ccl_app).await.text();
    assert!(home.contains("href=\"/editions/2026-11?lang=en\""), "the home page links the official edition");
    let missing = Call::get("/editions/2031-01").send(&ccl_app).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
