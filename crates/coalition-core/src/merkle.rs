//! Merkle trees as RFC 6962 and RFC 9162 (§2.1) define them, with SHA-256: the tree hash, inclusion
//! proofs and consistency proofs, and their verification.
//!
//! An edition signs the root of such a tree over the joint list's entries, in list order (sorted by
//! case id), so that anyone holding an edition can check one person's entry with an inclusion proof,
//! and anyone holding two editions can check with a consistency proof that the later tree extends the
//! earlier one. The hashing is the one of Certificate Transparency and of the C2SP `tlog-*`
//! specifications, so their tooling applies:
//!
//! - a leaf is hashed as `SHA-256(0x00 || entry)` ([`leaf_hash`]),
//! - an inner node as `SHA-256(0x01 || left || right)` ([`node_hash`]),
//! - the tree of no leaves has the hash of the empty string ([`EMPTY_ROOT`]),
//! - a tree of `n > 1` leaves splits at the largest power of two smaller than `n`: the left subtree
//!   is complete, the right one holds the rest ([`root`]).
//!
//! Proofs are lists of 32-byte hashes ordered from the leaf (or old subtree) upwards, exactly as in
//! RFC 9162 §2.1.3 and §2.1.4. Verification follows the iterative algorithms of RFC 9162
//! §2.1.3.2 and §2.1.4.2, after checking that the proof has exactly the length its sizes imply.
//! Two rules of the Go reference library (`transparency-dev/merkle`) are kept: a consistency proof
//! from the empty tree (old size 0) is always refused, even towards another empty tree, and leaf
//! hashes are exactly 32 bytes (here by their type).
//!
//! A root does not commit to its tree's size: for example a proof for leaf 0 of a 4-leaf tree also
//! verifies, against the same root, as a proof in a 3-leaf tree. A verifier must therefore take the
//! size from the same signed statement as the root (an edition signs its count with its root), never
//! from the party handing out the proof.
//!
//! Limits: tree sizes and indices are `u64`, so an inclusion proof never has more than
//! [`INCLUSION_PROOF_HASHES_MAX`] (64) hashes and a consistency proof never more than
//! [`CONSISTENCY_PROOF_HASHES_MAX`] (65) hashes; any longer proof is refused as having the wrong
//! length. Building a tree, a root or a proof takes time linear in the number of leaves and memory
//! logarithmic in it (beyond the proof itself), without recursion.
//!
//! Everything here is pure: no I/O. Hashes are public data, so comparisons are not constant-time.

use sha2::{Digest as _, Sha256};

/// Length of every hash in the tree (leaf hashes, node hashes, roots, proof hashes), in bytes.
pub const HASH_BYTES: usize = 32;

/// The root of the tree of no leaves: SHA-256 of the empty string (RFC 9162 §2.1.1),
/// `e3b0c442…b855`.
pub const EMPTY_ROOT: [u8; HASH_BYTES] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Most hashes in an inclusion proof: one per level of the tallest tree a `u64` size allows.
/// A proof is checked against the exact length its index and size imply, which never exceeds this.
pub const INCLUSION_PROOF_HASHES_MAX: usize = 64;

/// Most hashes in a consistency proof: the old subtree's root plus one hash per level (for example
/// from 3 leaves to `u64::MAX` leaves). A proof is checked against the exact length its two sizes
/// imply, which never exceeds this.
pub const CONSISTENCY_PROOF_HASHES_MAX: usize = 65;

/// Why a proof could not be built or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// The leaf index is not below the tree size (which includes every index into the empty tree).
    #[error("leaf index {index} is outside a tree of {tree_size} leaves")]
    IndexOutOfRange {
        /// The index asked for, counted from 0.
        index: u64,
        /// The number of leaves in the tree.
        tree_size: u64,
    },
    /// The proof does not have the number of hashes its sizes (and index) imply.
    #[error("the proof has {found} hashes, but a proof for these sizes has exactly {expected}")]
    WrongProofLength {
        /// The number of hashes a correct proof has.
        expected: usize,
        /// The number of hashes given.
        found: usize,
    },
    /// The inclusion proof, applied to the leaf hash, leads to another root than the one given.
    #[error("the inclusion proof leads to another root than the one given")]
    RootMismatch,
    /// The consistency proof leads to another root of the old tree than the one given.
    #[error("the consistency proof leads to another old root than the one given")]
    OldRootMismatch,
    /// The consistency proof leads to another root of the new tree than the one given.
    #[error("the consistency proof leads to another new root than the one given")]
    NewRootMismatch,
    /// The two sizes are equal (so the proof is empty) but the two roots differ.
    #[error("the old and new trees both have {size} leaves but their roots differ")]
    EqualSizesDifferentRoots {
        /// The size of both trees.
        size: u64,
    },
    /// The old tree has more leaves than the new one (or than the leaves given), so it cannot be a
    /// prefix of it.
    #[error("the old tree has {old_size} leaves, more than the {new_size} of the new tree")]
    OldSizeLarger {
        /// The old tree's size.
        old_size: u64,
        /// The new tree's size.
        new_size: u64,
    },
    /// The old tree is empty: every tree extends the empty tree, so such a proof says nothing and
    /// is refused (as the Go reference library does), even when the new tree is empty too.
    #[error("a consistency proof from the empty tree (old size 0) proves nothing and is refused")]
    OldSizeZero,
}

/// The hash of one leaf: `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1), `entry` being the leaf's
/// bytes exactly.
#[must_use]
pub fn leaf_hash(entry: &[u8]) -> [u8; HASH_BYTES] {
    Sha256::new().chain_update([0x00]).chain_update(entry).finalize().into()
}

/// The hash of an inner node: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
#[must_use]
pub fn node_hash(left: &[u8; HASH_BYTES], right: &[u8; HASH_BYTES]) -> [u8; HASH_BYTES] {
    Sha256::new().chain_update([0x01]).chain_update(left).chain_update(right).finalize().into()
}

/// The root (Merkle tree hash, RFC 9162 §2.1.1) of the tree whose leaves have these hashes, in
/// order; [`EMPTY_ROOT`] for no leaves.
///
/// Computed in one pass over the leaves, keeping a stack of the roots of complete subtrees (at most
/// one per bit of the size), so in linear time, logarithmic extra memory and without recursion.
#[must_use]
pub fn root(leaf_hashes: &[[u8; HASH_BYTES]]) -> [u8; HASH_BYTES] {
    // After `count` leaves the stack holds the roots of the complete subtrees that the binary
    // writing of `count` describes, largest (leftmost) first.
    let mut stack: Vec<[u8; HASH_BYTES]> = Vec::with_capacity(usize::BITS as usize);
    for (position, leaf) in leaf_hashes.iter().enumerate() {
        stack.push(*leaf);
        // Adding a leaf carries through the trailing ones of the previous count: merge as many pairs.
        let mut count = position + 1;
        // Each merge finds two complete subtrees of equal size on top of the stack.
        while count & 1 == 0 {
            let top = stack.len() - 1;
            stack[top - 1] = node_hash(&stack[top - 1], &stack[top]);
            stack.truncate(top);
            count >>= 1;
        }
    }
    // The tree splits at the largest power of two, so it is the right fold of those subtrees.
    let Some(mut hash) = stack.pop() else {
        return EMPTY_ROOT;
    };
    while let Some(left) = stack.pop() {
        hash = node_hash(&left, &hash);
    }
    hash
}

/// The inclusion proof (audit path, RFC 9162 §2.1.3.1 `PATH(m, D[n])`) of the leaf at `index`
/// in the tree whose leaves have these hashes: the hashes of the sibling subtrees along the way
/// from the leaf to the root, lowest first.
///
/// Takes time linear in the number of leaves.
///
/// # Errors
///
/// [`MerkleError::IndexOutOfRange`] when `index` is not below the number of leaves.
pub fn inclusion_proof(leaf_hashes: &[[u8; HASH_BYTES]], index: u64) -> Result<Vec<[u8; HASH_BYTES]>, MerkleError> {
    let tree_size = size_of(leaf_hashes);
    let position = usize::try_from(index)
        .ok()
        .filter(|&position| position < leaf_hashes.len())
        .ok_or(MerkleError::IndexOutOfRange { index, tree_size })?;
    // Walk down from the root; each step records the sibling subtree, the path is the reverse.
    let mut proof = Vec::new();
    let (mut start, mut end) = (0, leaf_hashes.len());
    while end - start > 1 {
        let split = start + largest_power_of_two_below(end - start);
        if position < split {
            proof.push(root(&leaf_hashes[split..end]));
            end = split;
        } else {
            proof.push(root(&leaf_hashes[start..split]));
            start = split;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that `proof` proves the leaf with hash `leaf_hash` to be at `index` in the tree of
/// `tree_size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
///
/// - [`MerkleError::IndexOutOfRange`] when `index` is not below `tree_size` (so always for the
///   empty tree, which includes nothing);
/// - [`MerkleError::WrongProofLength`] when the proof does not have the exact length the index
///   and size imply (never more than [`INCLUSION_PROOF_HASHES_MAX`]);
/// - [`MerkleError::RootMismatch`] when the proof leads to another root.
pub fn verify_inclusion(
    leaf_hash: &[u8; HASH_BYTES],
    index: u64,
    tree_size: u64,
    proof: &[[u8; HASH_BYTES]],
    root: &[u8; HASH_BYTES],
) -> Result<(), MerkleError> {
    if index >= tree_size {
        return Err(MerkleError::IndexOutOfRange { index, tree_size });
    }
    let expected = inclusion_proof_len(index, tree_size);
    let wrong_length = MerkleError::WrongProofLength { expected, found: proof.len() };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // RFC 9162 §2.1.3.2, step by step.
    let (mut fnode, mut snode) = (index, tree_size - 1);
    let mut hash = *leaf_hash;
    for sibling in proof {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            hash = node_hash(sibling, &hash);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(wrong_length);
    }
    if hash != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// The consistency proof (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`) that the tree of the first
/// `old_size` leaves is a prefix of the tree of all the leaves given; empty when `old_size` is the
/// number of leaves.
///
/// Takes time linear in the number of leaves.
///
/// # Errors
///
/// - [`MerkleError::OldSizeZero`] when `old_size` is 0;
/// - [`MerkleError::OldSizeLarger`] when `old_size` exceeds the number of leaves.
pub fn consistency_proof(
    leaf_hashes: &[[u8; HASH_BYTES]],
    old_size: u64,
) -> Result<Vec<[u8; HASH_BYTES]>, MerkleError> {
    let new_size = size_of(leaf_hashes);
    if old_size == 0 {
        return Err(MerkleError::OldSizeZero);
    }
    let mut old = usize::try_from(old_size)
        .ok()
        .filter(|&old| old <= leaf_hashes.len())
        .ok_or(MerkleError::OldSizeLarger { old_size, new_size })?;
    // SUBPROOF(m, D[start..end], complete), unrolled: each step records one subtree root, the
    // proof is the reverse. `complete` says the current subtree is entirely in the old tree's
    // root's left spine, whose root the verifier already knows.
    let mut proof = Vec::new();
    let (mut start, mut end, mut complete) = (0, leaf_hashes.len(), true);
    loop {
        if old == end - start {
            if !complete {
                proof.push(root(&leaf_hashes[start..end]));
            }
            break;
        }
        let half = largest_power_of_two_below(end - start);
        if old <= half {
            proof.push(root(&leaf_hashes[start + half..end]));
            end = start + half;
        } else {
            proof.push(root(&leaf_hashes[start..start + half]));
            start += half;
            old -= half;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that `proof` proves the tree of `old_size` leaves with root `old_root` to be a prefix of
/// the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2). When the sizes are
/// equal the proof must be empty and the roots equal.
///
/// # Errors
///
/// - [`MerkleError::OldSizeLarger`] when `old_size > new_size`;
/// - [`MerkleError::OldSizeZero`] when `old_size` is 0 (whatever `new_size`);
/// - [`MerkleError::EqualSizesDifferentRoots`] when the sizes are equal but not the roots;
/// - [`MerkleError::WrongProofLength`] when the proof does not have the exact length the two sizes
///   imply (0 for equal sizes; never more than [`CONSISTENCY_PROOF_HASHES_MAX`]);
/// - [`MerkleError::OldRootMismatch`] or [`MerkleError::NewRootMismatch`] when the proof leads to
///   another old or new root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &[u8; HASH_BYTES],
    new_root: &[u8; HASH_BYTES],
    proof: &[[u8; HASH_BYTES]],
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::OldSizeLarger { old_size, new_size });
    }
    if old_size == 0 {
        return Err(MerkleError::OldSizeZero);
    }
    let expected = consistency_proof_len(old_size, new_size);
    let wrong_length = MerkleError::WrongProofLength { expected, found: proof.len() };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(MerkleError::EqualSizesDifferentRoots { size: old_size })
        };
    }
    // RFC 9162 §2.1.4.2, step by step. When the old size is a power of two its root is the first
    // element of the path and is not sent.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(wrong_length),
        }
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut old_hash, mut new_hash) = (*first, *first);
    for hash in rest {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            old_hash = node_hash(hash, &old_hash);
            new_hash = node_hash(hash, &new_hash);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, hash);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(wrong_length);
    }
    if old_hash != *old_root {
        return Err(MerkleError::OldRootMismatch);
    }
    if new_hash != *new_root {
        return Err(MerkleError::NewRootMismatch);
    }
    Ok(())
}

/// The number of leaves of a slice, as a tree size (`usize` is at most 64 bits on every supported
/// target, so this is lossless).
fn size_of(leaf_hashes: &[[u8; HASH_BYTES]]) -> u64 {
    u64::try_from(leaf_hashes.len()).unwrap_or(u64::MAX)
}

/// The largest power of two strictly below `n`, for `n >= 2`: where RFC 9162 splits a tree.
fn largest_power_of_two_below(n: usize) -> usize {
    debug_assert!(n >= 2, "only trees of two leaves or more split");
    1 << ((n - 1).ilog2())
}

/// The exact length of the inclusion proof of leaf `index` in a tree of `tree_size` leaves
/// (`index < tree_size`): the levels below the point where the leaf's path leaves the right
/// border, plus the left subtrees hanging off the border above it.
fn inclusion_proof_len(index: u64, tree_size: u64) -> usize {
    let inner = u64::BITS - (index ^ (tree_size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The exact length of the consistency proof from `old_size` to `new_size` leaves
/// (`0 < old_size <= new_size`): the inclusion proof of the old tree's last complete subtree,
/// plus that subtree's root unless it is the whole old tree (a power-of-two size).
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    if old_size == new_size {
        return 0;
    }
    let shift = old_size.trailing_zeros();
    let inner = u64::BITS - ((old_size - 1) ^ (new_size - 1)).leading_zeros();
    let border = (old_size - 1).checked_shr(inner).unwrap_or(0).count_ones();
    let seed = usize::from(!old_size.is_power_of_two());
    seed + (inner - shift + border) as usize
}
