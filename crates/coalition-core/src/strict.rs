//! The project's one Ed25519 signature rule, `verify_strict`'s, computed with work prepared once
//! per key.
//!
//! Replaying a ledger checks a million signatures made by a dozen keys, and the signature checks
//! are most of the work. ed25519-dalek's `verify_strict` redoes, for every signature, work that
//! depends only on the key, and decodes `R` only to compare it afterwards. [`StrictVerifier`]
//! reaches the same decision on every input with less work:
//!
//! - the lookup tables of the base point `B` and of `-A` are built once, when the key is
//!   prepared, with wider windows than a per-signature table can afford;
//! - `R` is never decoded: the computed point `[S]B - [k]A` is encoded and compared with the
//!   signature's `R` bytes, which `verify_strict` does too, and the small-order test is made on
//!   the computed point;
//! - [`verify_each`] encodes a batch of computed points with one field inversion
//!   (Montgomery's trick) instead of one each. Every signature still gets its own equation and its
//!   own verdict: this is not batch verification, which checks a random combination of equations
//!   and accepts signatures the strict rule refuses (see [`crate::keys`]).
//!
//! # Why the decision is the same
//!
//! `verify_strict(A, M, (R, S))` accepts iff (1) `S < ℓ`, (2) the bytes `R` decode to a point,
//! (3) that point is not of small order, (4) `A` is not of small order, and (5) the canonical
//! encoding of `P = [S]B - [k]A`, with `k = SHA-512(R || A || M) mod ℓ`, equals the bytes `R`.
//! This module checks (1), (4) once per key, (5), and (3') `P` is not of small order.
//!
//! - If `verify_strict` accepts: by (5) the bytes `R` are the encoding of `P`, so the point they
//!   decode to is `P`, which by (3) is not of small order: (3') holds.
//! - If this module accepts: by (5) the bytes `R` are the canonical encoding of the point `P`, so
//!   they decode (2) to `P`, which by (3') is not of small order (3).
//!
//! The hash is taken over the key's bytes as given, as `verify_strict` does, even where they are
//! a non-canonical encoding (the project refuses such keys before they get here; the tests of
//! this module do not, so that they compare the two on every key `verify_strict` can load).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint, VartimeEdwardsPrecomputation};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimePrecomputedMultiscalarMul as _;
use sha2::{Digest as _, Sha512};

use crate::keys::{ED25519_KEY_BYTES, ED25519_SIGNATURE_BYTES, KeyError};

/// Most signatures whose computed points [`verify_each`] encodes together. One
/// field inversion is shared by the batch; past a few dozen the saving per signature is flat,
/// and a small batch keeps the working set in the first-level cache.
pub const SIGNATURES_PER_INVERSION_MAX: usize = 32;

/// One signature to check: the key, the signed message and the 64 signature bytes (`R || S`).
pub type KeyedSignature<'a> = (&'a StrictVerifier, &'a [u8], &'a [u8; ED25519_SIGNATURE_BYTES]);

/// The strict rule's verdict on each signature, in order: the same verdicts as
/// [`StrictVerifier::verify`] one at a time, with the encodings of the computed points (under any
/// mix of keys) sharing field inversions.
#[must_use]
pub fn verify_each(signed: &[KeyedSignature<'_>]) -> Vec<bool> {
    let mut verdicts = vec![false; signed.len()];
    let step = SIGNATURES_PER_INVERSION_MAX.min(signed.len());
    let mut points = Vec::with_capacity(step);
    let mut places = Vec::with_capacity(step);
    for (chunk_index, chunk) in signed.chunks(SIGNATURES_PER_INVERSION_MAX).enumerate() {
        points.clear();
        places.clear();
        for (place, (key, message, signature)) in chunk.iter().enumerate() {
            if let Some((point, r)) = key.computed_point(message, signature) {
                points.push(point);
                places.push((chunk_index * SIGNATURES_PER_INVERSION_MAX + place, r));
            }
        }
        let encodings = EdwardsPoint::compress_batch_alloc(&points);
        for ((point, encoding), &(place, r)) in points.iter().zip(&encodings).zip(&places) {
            verdicts[place] = encoding.to_bytes() == r && !point.is_small_order();
        }
    }
    verdicts
}

/// An Ed25519 public key prepared for the strict rule: the decisions of ed25519-dalek's
/// `verify_strict` on every message and signature, with the per-key work done once.
///
/// Cloning is cheap: the tables are shared.
#[derive(Clone)]
pub struct StrictVerifier {
    public_key: [u8; ED25519_KEY_BYTES],
    /// `None` when `A` is of small order: the rule refuses every signature under such a key.
    tables: Option<Arc<VartimeEdwardsPrecomputation>>,
}

impl StrictVerifier {
    /// Prepares a public key. Fails only where `verify_strict` cannot load the key at all (the
    /// bytes decode to no curve point); a key of small order loads, and refuses every signature.
    pub fn new(public_key: &[u8; ED25519_KEY_BYTES]) -> Result<Self, KeyError> {
        let point = CompressedEdwardsY(*public_key).decompress().ok_or(KeyError::NotACurvePoint)?;
        Ok(Self::from_point(*public_key, point))
    }

    /// Prepares a key ed25519-dalek has already decoded.
    pub(crate) fn from_verifying_key(key: &ed25519_dalek::VerifyingKey) -> Self {
        Self::from_point(key.to_bytes(), key.to_edwards())
    }

    fn from_point(public_key: [u8; ED25519_KEY_BYTES], point: EdwardsPoint) -> Self {
        let tables = (!point.is_small_order())
            .then(|| Arc::new(VartimeEdwardsPrecomputation::new([ED25519_BASEPOINT_POINT, -point])));
        Self { public_key, tables }
    }

    /// The 32 public-key bytes, as given.
    pub fn public_key(&self) -> &[u8; ED25519_KEY_BYTES] {
        &self.public_key
    }

    /// Whether the strict rule accepts `signature` of `message` under this key.
    #[must_use]
    pub fn verify(&self, message: &[u8], signature: &[u8; ED25519_SIGNATURE_BYTES]) -> bool {
        let Some((point, r)) = self.computed_point(message, signature) else { return false };
        point.compress().to_bytes() == r && !point.is_small_order()
    }

    /// `[S]B - [k]A` and the `R` bytes it must encode to, or `None` where the rule refuses before
    /// any arithmetic (`S` not below ℓ, `A` of small order).
    fn computed_point(
        &self,
        message: &[u8],
        signature: &[u8; ED25519_SIGNATURE_BYTES],
    ) -> Option<(EdwardsPoint, [u8; 32])> {
        let tables = self.tables.as_ref()?;
        let (r, s) = signature.split_at(32);
        let r: [u8; 32] = r.try_into().ok()?;
        let s: [u8; 32] = s.try_into().ok()?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))?;
        let k = Scalar::from_hash(Sha512::new().chain_update(r).chain_update(self.public_key).chain_update(message));
        Some((tables.vartime_multiscalar_mul([s, k]), r))
    }
}

impl PartialEq for StrictVerifier {
    fn eq(&self, other: &Self) -> bool {
        // The tables are a function of the key bytes.
        self.public_key == other.public_key
    }
}

impl Eq for StrictVerifier {}

impl Hash for StrictVerifier {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.public_key.hash(state);
    }
}

impl fmt::Debug for StrictVerifier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "StrictVerifier({})", hex::encode(self.public_key))
    }
}
