//! The prepared strict verifier against ed25519-dalek's `verify_strict` itself: the same decision
//! on the CCTV edge-case vectors and on generated hostile signatures (small-order and torsioned
//! `R` and `A`, `S` not below ℓ, flipped bits), one at a time and in batches that mix keys and
//! cross the inversion-sharing boundary.

use coalition_core::keys::SignerKey;
use coalition_core::strict::{KeyedSignature, SIGNATURES_PER_INVERSION_MAX, StrictVerifier, verify_each};
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use sha2::{Digest as _, Sha512};

use crate::keys::{bytes32, cctv_vectors};

/// `verify_strict`'s decision, or `None` where it cannot load the key at all.
fn reference(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Option<bool> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).ok()?;
    Some(key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok())
}

/// One generated case: a key, a message and a signature.
#[derive(Debug, Clone)]
struct Case {
    public_key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
}

/// How a generated signature departs from an honest one.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    None,
    /// `S + ℓ`: the same value mod ℓ, not canonical.
    SPlusOrder,
    /// The top bit of `S` set.
    SHighBit,
    /// One bit of the signature flipped.
    SignatureBit(usize),
    /// One bit of the message flipped.
    MessageBit(usize),
}

/// The group order ℓ, little-endian.
const ORDER_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_order(s: [u8; 32]) -> [u8; 32] {
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    for index in 0..32 {
        let total = u16::from(s[index]) + u16::from(ORDER_BYTES[index]) + carry;
        sum[index] = total as u8;
        carry = total >> 8;
    }
    sum
}

/// Builds a signature the way a signer would, from a secret scalar and nonce, then lets the key
/// and `R` carry a small-order component (or be one) and applies `tamper`. Honest, untampered
/// cases are valid; in torsioned ones the cofactorless equation holds exactly when the
/// components cancel, which happens for some of them.
#[allow(clippy::too_many_arguments)]
fn build_case(
    secret: [u8; 32],
    nonce: [u8; 32],
    key_torsion: usize,
    key_small_order: bool,
    r_torsion: usize,
    r_small_order: bool,
    message: Vec<u8>,
    tamper: Tamper,
) -> Case {
    // A small-order key or R has no prime-order part, so the signer's share of it is zero: the
    // equation then holds whenever the small-order parts cancel, and only the small-order checks
    // are left to refuse the signature.
    let secret = if key_small_order { Scalar::ZERO } else { Scalar::from_bytes_mod_order(secret) };
    let nonce = if r_small_order { Scalar::ZERO } else { Scalar::from_bytes_mod_order(nonce) };
    let key_point: EdwardsPoint = ED25519_BASEPOINT_POINT * secret + EIGHT_TORSION[key_torsion];
    let r_point: EdwardsPoint = ED25519_BASEPOINT_POINT * nonce + EIGHT_TORSION[r_torsion];
    let public_key = key_point.compress().to_bytes();
    let r = r_point.compress().to_bytes();
    let mut message = message;
    let k = Scalar::from_hash(Sha512::new().chain_update(r).chain_update(public_key).chain_update(&message));
    let s = nonce + k * secret;
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r);
    signature[32..].copy_from_slice(s.as_bytes());
    match tamper {
        Tamper::None => {}
        Tamper::SPlusOrder => {
            let s_bytes: [u8; 32] = signature[32..].try_into().expect("32 bytes");
            signature[32..].copy_from_slice(&add_order(s_bytes));
        }
        Tamper::SHighBit => signature[63] |= 0x80,
        Tamper::SignatureBit(bit) => signature[bit / 8 % 64] ^= 1 << (bit % 8),
        Tamper::MessageBit(bit) => {
            if message.is_empty() {
                message.push(0);
            }
            let length = message.len();
            message[bit / 8 % length] ^= 1 << (bit % 8);
        }
    }
    Case { public_key, message, signature }
}

fn tamper_strategy() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        4 => Just(Tamper::None),
        1 => Just(Tamper::SPlusOrder),
        1 => Just(Tamper::SHighBit),
        2 => (0usize..512).prop_map(Tamper::SignatureBit),
        1 => (0usize..4096).prop_map(Tamper::MessageBit),
    ]
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        // Mostly clean keys and R, so that many cases are valid.
        prop_oneof![3 => Just(0usize), 1 => 0usize..8],
        prop::bool::weighted(0.05),
        prop_oneof![3 => Just(0usize), 1 => 0usize..8],
        prop::bool::weighted(0.05),
        prop::collection::vec(any::<u8>(), 0..300),
        tamper_strategy(),
    )
        .prop_map(|(secret, nonce, key_torsion, key_small, r_torsion, r_small, message, tamper)| {
            build_case(secret, nonce, key_torsion, key_small, r_torsion, r_small, message, tamper)
        })
}

/// The prepared verifier's decision, one at a time, or `None` where it refuses the key.
fn prepared(case: &Case) -> Option<bool> {
    let verifier = StrictVerifier::new(&case.public_key).ok()?;
    Some(verifier.verify(&case.message, &case.signature))
}

/// The decisions of [`verify_each`] over all the cases whose key loads, in one call.
fn batched(cases: &[Case]) -> Vec<Option<bool>> {
    let verifiers: Vec<Option<StrictVerifier>> =
        cases.iter().map(|case| StrictVerifier::new(&case.public_key).ok()).collect();
    let checks: Vec<KeyedSignature<'_>> = cases
        .iter()
        .zip(&verifiers)
        .filter_map(|(case, verifier)| Some((verifier.as_ref()?, case.message.as_slice(), &case.signature)))
        .collect();
    let mut verdicts = verify_each(&checks).into_iter();
    verifiers.iter().map(|verifier| verifier.as_ref().map(|_| verdicts.next().unwrap_or(false))).collect()
}

#[test]
fn the_prepared_verifier_decides_every_cctv_vector_as_verify_strict_does() {
    let vectors = cctv_vectors();
    let cases: Vec<Case> = vectors
        .iter()
        .map(|vector| {
            let mut signature = [0u8; 64];
            hex::decode_to_slice(&vector.sig, &mut signature).expect("64 hex bytes");
            Case { public_key: bytes32(&vector.key), message: vector.msg.clone().into_bytes(), signature }
        })
        .collect();
    let expected: Vec<Option<bool>> =
        cases.iter().map(|case| reference(&case.public_key, &case.message, &case.signature)).collect();
    let one_at_a_time: Vec<Option<bool>> = cases.iter().map(prepared).collect();
    for (how, decisions) in [("one at a time", one_at_a_time), ("in batches", batched(&cases))] {
        let differing: Vec<u32> = vectors
            .iter()
            .zip(expected.iter().zip(&decisions))
            .filter(|(_, (reference, prepared))| reference != prepared)
            .map(|(vector, _)| vector.number)
            .collect();
        assert!(differing.is_empty(), "{how}, the prepared verifier differs from verify_strict on {differing:?}");
    }
    // Non-vacuous: every CCTV key loads, and signatures are both accepted and refused.
    assert!(expected.contains(&Some(true)) && expected.contains(&Some(false)));
}

#[test]
fn a_key_that_is_no_curve_point_is_refused_as_verify_strict_refuses_it() {
    let not_a_point = (2u8..=255)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("about half of all y have no x");
    assert!(StrictVerifier::new(&not_a_point).is_err());
    let on_the_curve = ED25519_BASEPOINT_POINT.compress().to_bytes();
    assert!(StrictVerifier::new(&on_the_curve).is_ok());
}

#[test]
fn generated_cases_cover_acceptance_of_cancelling_torsion_and_refusal_of_the_rest() {
    // A key with a small-order component T and R carrying -[k]T cancel in the cofactorless
    // equation, so verify_strict accepts; the same R with a different component does not.
    let mut accepted_torsioned = 0;
    let mut refused_torsioned = 0;
    for seed in 0u8..64 {
        let case = build_case([seed; 32], [seed.wrapping_add(1); 32], 1, false, 0, false, vec![seed], Tamper::None);
        // With T of order 8 and R torsion-free, the equation holds iff [k]T = 0.
        match reference(&case.public_key, &case.message, &case.signature) {
            Some(true) => accepted_torsioned += 1,
            Some(false) => refused_torsioned += 1,
            None => panic!("a torsioned key still loads"),
        }
        assert_eq!(prepared(&case), reference(&case.public_key, &case.message, &case.signature), "seed {seed}");
    }
    assert!(
        accepted_torsioned > 0 && refused_torsioned > 0,
        "{accepted_torsioned} accepted, {refused_torsioned} refused"
    );
    let honest = build_case([9; 32], [10; 32], 0, false, 0, false, b"event".to_vec(), Tamper::None);
    assert_eq!(prepared(&honest), Some(true));
    let torsioned_r = build_case([9; 32], [10; 32], 0, false, 3, false, b"event".to_vec(), Tamper::None);
    assert_eq!(prepared(&torsioned_r), Some(false));
    assert_eq!(reference(&torsioned_r.public_key, &torsioned_r.message, &torsioned_r.signature), Some(false));
}

#[test]
fn the_project_keys_verify_their_own_signatures_one_at_a_time_and_in_batches() {
    let name = coalition_core::keys::KeyName::parse("coalition.example/zmina").expect("name");
    let signer = SignerKey::from_seed(name, [42; 32]);
    let verifier = signer.verifier_key();
    let messages: Vec<Vec<u8>> = (0..(2 * SIGNATURES_PER_INVERSION_MAX + 3)).map(|n| vec![n as u8; n]).collect();
    let signatures: Vec<[u8; 64]> = messages.iter().map(|message| signer.sign(message)).collect();
    let mut checks: Vec<KeyedSignature<'_>> = messages
        .iter()
        .zip(&signatures)
        .map(|(message, signature)| (verifier.strict(), message.as_slice(), signature))
        .collect();
    assert!(verify_each(&checks).iter().all(|&verdict| verdict));
    // A signature moved to another message fails, and only that one.
    checks[SIGNATURES_PER_INVERSION_MAX + 1].2 = &signatures[0];
    let verdicts = verify_each(&checks);
    let refused: Vec<usize> =
        verdicts.iter().enumerate().filter(|(_, verdict)| !**verdict).map(|(place, _)| place).collect();
    assert_eq!(refused, vec![SIGNATURES_PER_INVERSION_MAX + 1]);
    assert!(verify_each(&[]).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_prepared_verifier_decides_as_verify_strict_on_hostile_signatures(case in case_strategy()) {
        prop_assert_eq!(prepared(&case), reference(&case.public_key, &case.message, &case.signature));
    }

    #[test]
    fn a_batch_decides_each_signature_as_verify_strict_does(
        cases in prop::collection::vec(case_strategy(), 0..(2 * SIGNATURES_PER_INVERSION_MAX + 5)),
    ) {
        let expected: Vec<Option<bool>> =
            cases.iter().map(|case| reference(&case.public_key, &case.message, &case.signature)).collect();
        prop_assert_eq!(batched(&cases), expected);
    }
}
