//! Merkle trees: every transparency-dev/merkle vector file, the RFC 6962 test tree (roots and
//! proofs), a naive recursive reference for every size up to 70, one test per error, the limits,
//! and property tests (proofs verify, any flipped bit is caught).

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use coalition_core::merkle::{
    CONSISTENCY_PROOF_HASHES_MAX, EMPTY_ROOT, HASH_BYTES, INCLUSION_PROOF_HASHES_MAX, MerkleError, consistency_proof,
    inclusion_proof, leaf_hash, node_hash, root, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

type Hash = [u8; HASH_BYTES];

// ---------------------------------------------------------------------------------------------
// A naive reference: RFC 9162 §2.1 written out recursively, word for word.

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]).
fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]).
fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n == 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut path = naive_path(m, &leaves[..k]);
        path.push(naive_root(&leaves[k..]));
        path
    } else {
        let mut path = naive_path(m - k, &leaves[k..]);
        path.push(naive_root(&leaves[..k]));
        path
    }
}

/// SUBPROOF(m, D[n], b).
fn naive_subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete { Vec::new() } else { vec![naive_root(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut proof = naive_subproof(m, &leaves[..k], complete);
        proof.push(naive_root(&leaves[k..]));
        proof
    } else {
        let mut proof = naive_subproof(m - k, &leaves[k..], false);
        proof.push(naive_root(&leaves[..k]));
        proof
    }
}

/// Leaves that are all different: entry `i` is `"leaf " || i`.
fn distinct_leaves(count: usize) -> Vec<Hash> {
    (0..count).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect()
}

fn flipped(hash: &Hash, bit: usize) -> Hash {
    let mut hash = *hash;
    hash[bit / 8] ^= 1 << (bit % 8);
    hash
}

fn hex32(text: &str) -> Hash {
    let mut hash = [0; HASH_BYTES];
    hex::decode_to_slice(text, &mut hash).expect("32 bytes of hex");
    hash
}

// ---------------------------------------------------------------------------------------------
// Hashing and known answers.

/// The leaves of the RFC 6962 test tree of Certificate Transparency's test data (hex).
const CT_LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Roots of the first 1..=8 leaves of that tree.
const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn ct_leaf_hashes() -> Vec<Hash> {
    CT_LEAVES.iter().map(|leaf| leaf_hash(&hex::decode(leaf).expect("hex leaf"))).collect()
}

#[test]
fn hashes_are_domain_separated_sha256() {
    assert_eq!(EMPTY_ROOT, <Hash>::from(Sha256::digest(b"")));
    assert_eq!(EMPTY_ROOT, hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_eq!(leaf_hash(b"abc"), <Hash>::from(Sha256::digest(b"\x00abc")));
    let (left, right) = ([1; HASH_BYTES], [2; HASH_BYTES]);
    let mut node = vec![1];
    node.extend_from_slice(&left);
    node.extend_from_slice(&right);
    assert_eq!(node_hash(&left, &right), <Hash>::from(Sha256::digest(&node)));
    assert_ne!(node_hash(&left, &right), node_hash(&right, &left));
}

#[test]
fn roots_of_the_rfc6962_test_tree() {
    let leaves = ct_leaf_hashes();
    assert_eq!(root(&[]), EMPTY_ROOT);
    for (size, expected) in (1..=8).zip(CT_ROOTS) {
        assert_eq!(hex::encode(root(&leaves[..size])), expected, "size {size}");
    }
}

#[test]
fn roots_and_proofs_equal_the_naive_recursive_definition_up_to_70_leaves() {
    let all = distinct_leaves(70);
    for size in 0..=70 {
        let leaves = &all[..size];
        let tree_root = root(leaves);
        assert_eq!(tree_root, naive_root(leaves), "root of {size}");
        for index in 0..size {
            let proof = inclusion_proof(leaves, index as u64).expect("index in range");
            assert_eq!(proof, naive_path(index, leaves), "PATH({index}, D[{size}])");
            assert_eq!(verify_inclusion(&leaves[index], index as u64, size as u64, &proof, &tree_root), Ok(()));
        }
        for old_size in 1..=size {
            let proof = consistency_proof(leaves, old_size as u64).expect("0 < old size <= size");
            assert_eq!(proof, naive_subproof(old_size, leaves, true), "PROOF({old_size}, D[{size}])");
            let old_root = root(&leaves[..old_size]);
            assert_eq!(verify_consistency(old_size as u64, size as u64, &old_root, &tree_root, &proof), Ok(()));
        }
    }
}

/// The happy-path vectors are proofs in the RFC 6962 test tree: the proofs built here are the
/// same, hash for hash.
#[test]
fn built_proofs_equal_the_happy_path_vectors() {
    let leaves = ct_leaf_hashes();
    for dir in ["0", "1", "2", "3", "4"] {
        let vector: InclusionVector = read_vector(&data_dir().join("inclusion").join(dir).join("happy-path.json"));
        assert!(!vector.want_err);
        let size = usize::try_from(vector.tree_size).expect("small");
        let index = usize::try_from(vector.leaf_idx).expect("small");
        assert_eq!(decode_hash(vector.leaf_hash.as_deref()), Some(leaves[index]), "inclusion/{dir}");
        assert_eq!(decode_hash(vector.root.as_deref()), Some(root(&leaves[..size])), "inclusion/{dir}");
        assert_eq!(
            Some(inclusion_proof(&leaves[..size], vector.leaf_idx).expect("in range")),
            decode_proof(vector.proof.as_deref()),
            "inclusion/{dir}"
        );

        let vector: ConsistencyVector = read_vector(&data_dir().join("consistency").join(dir).join("happy-path.json"));
        assert!(!vector.want_err);
        let size = usize::try_from(vector.size2).expect("small");
        let old_size = usize::try_from(vector.size1).expect("small");
        assert_eq!(decode_hash(vector.root1.as_deref()), Some(root(&leaves[..old_size])), "consistency/{dir}");
        assert_eq!(decode_hash(vector.root2.as_deref()), Some(root(&leaves[..size])), "consistency/{dir}");
        assert_eq!(
            Some(consistency_proof(&leaves[..size], vector.size1).expect("in range")),
            decode_proof(vector.proof.as_deref()),
            "consistency/{dir}"
        );
    }
}

#[test]
fn a_large_tree_needs_no_recursion() {
    let leaves = distinct_leaves(100_003);
    let tree_root = root(&leaves);
    for index in [0, 1, 65_535, 65_536, 99_999, 100_002] {
        let proof = inclusion_proof(&leaves, index).expect("in range");
        assert!(proof.len() <= 17, "a tree of 100 003 leaves is 17 levels high");
        assert_eq!(verify_inclusion(&leaves[index as usize], index, 100_003, &proof, &tree_root), Ok(()));
    }
    let proof = consistency_proof(&leaves, 77_777).expect("in range");
    assert_eq!(verify_consistency(77_777, 100_003, &root(&leaves[..77_777]), &tree_root, &proof), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// transparency-dev/merkle vectors (tests/data/merkle, see its SOURCES.md).

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionVector {
    leaf_idx: u64,
    tree_size: u64,
    root: Option<String>,
    leaf_hash: Option<String>,
    proof: Option<Vec<Option<String>>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyVector {
    size1: u64,
    size2: u64,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<Option<String>>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/merkle")
}

fn read_vector<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text = fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every `.json` file under `dir`, at any depth, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A hash from the vectors' standard base64 (null and "" are the empty value); `None` when it is
/// not 32 bytes.
fn decode_hash(text: Option<&str>) -> Option<Hash> {
    decode_bytes(text).try_into().ok()
}

fn decode_bytes(text: Option<&str>) -> Vec<u8> {
    STANDARD.decode(text.unwrap_or("")).expect("vector hashes are standard base64")
}

fn decode_proof(proof: Option<&[Option<String>]>) -> Option<Vec<Hash>> {
    proof.unwrap_or_default().iter().map(|hash| decode_hash(hash.as_deref())).collect()
}

/// A root or proof hash as the API takes it. Some vectors give values that are not 32 bytes (the
/// empty string, "don't care 1", ...), which the API's types cannot express. The Go library hashes
/// or compares such a value as it is, so it never equals a computed hash, while two equal values
/// equal each other: a 32-byte stand-in (SHA-256 of a label and the value) keeps both properties.
/// Returns whether a stand-in was needed.
fn hash_or_stand_in(text: Option<&str>) -> (Hash, bool) {
    let bytes = decode_bytes(text);
    match <Hash>::try_from(bytes.as_slice()) {
        Ok(hash) => (hash, false),
        Err(_) => (
            Sha256::new()
                .chain_update(b"stand-in for a value that is not 32 bytes: ")
                .chain_update(&bytes)
                .finalize()
                .into(),
            true,
        ),
    }
}

fn proof_or_stand_ins(proof: Option<&[Option<String>]>) -> (Vec<Hash>, bool) {
    let hashes: Vec<(Hash, bool)> =
        proof.unwrap_or_default().iter().map(|hash| hash_or_stand_in(hash.as_deref())).collect();
    let stand_in = hashes.iter().any(|(_, stand_in)| *stand_in);
    (hashes.into_iter().map(|(hash, _)| hash).collect(), stand_in)
}

/// The verdict on one vector: `Ok(result)` from the API, or `Err(())` when the leaf hash is not
/// 32 bytes, which the Go library refuses before anything else (and the API cannot express).
type Verdict = Result<Result<(), MerkleError>, ()>;

/// What one vector gave: the verdict, whether a stand-in replaced some value, and `wantErr`.
struct Outcome {
    verdict: Verdict,
    stand_in: bool,
    want_err: bool,
}

/// What a directory of vectors gave.
#[derive(Debug, PartialEq, Eq)]
struct Tally {
    files: usize,
    accepted: usize,
    refused_by_the_api: usize,
    leaf_hash_not_32_bytes: usize,
    with_stand_ins: usize,
}

fn name(path: &Path) -> String {
    path.strip_prefix(data_dir()).expect("under the data directory").display().to_string()
}

/// Runs `check` on every file under `kind`, asserts that each verdict agrees with `wantErr`, and
/// counts the outcomes.
fn run_vectors(kind: &str, check: impl Fn(&Path) -> Outcome) -> Tally {
    let files = json_files(&data_dir().join(kind));
    let mut tally =
        Tally { files: files.len(), accepted: 0, refused_by_the_api: 0, leaf_hash_not_32_bytes: 0, with_stand_ins: 0 };
    let mut disagreements = Vec::new();
    for path in &files {
        let outcome = check(path);
        match outcome.verdict {
            Ok(Ok(())) => tally.accepted += 1,
            Ok(Err(_)) => tally.refused_by_the_api += 1,
            Err(()) => tally.leaf_hash_not_32_bytes += 1,
        }
        tally.with_stand_ins += usize::from(outcome.stand_in);
        if matches!(outcome.verdict, Ok(Ok(()))) == outcome.want_err {
            disagreements.push(format!("{}: wantErr {}, got {:?}", name(path), outcome.want_err, outcome.verdict));
        }
    }
    assert_eq!(disagreements, Vec::<String>::new());
    tally
}

fn check_inclusion(path: &Path) -> Outcome {
    let vector: InclusionVector = read_vector(path);
    assert!(!vector.desc.is_empty());
    let (root, root_stand_in) = hash_or_stand_in(vector.root.as_deref());
    let (proof, proof_stand_in) = proof_or_stand_ins(vector.proof.as_deref());
    let verdict = decode_hash(vector.leaf_hash.as_deref())
        .map(|leaf| verify_inclusion(&leaf, vector.leaf_idx, vector.tree_size, &proof, &root))
        .ok_or(());
    Outcome { verdict, stand_in: root_stand_in || proof_stand_in, want_err: vector.want_err }
}

fn check_consistency(path: &Path) -> Outcome {
    let vector: ConsistencyVector = read_vector(path);
    assert!(!vector.desc.is_empty());
    let (root1, root1_stand_in) = hash_or_stand_in(vector.root1.as_deref());
    let (root2, root2_stand_in) = hash_or_stand_in(vector.root2.as_deref());
    let (proof, proof_stand_in) = proof_or_stand_ins(vector.proof.as_deref());
    let verdict = Ok(verify_consistency(vector.size1, vector.size2, &root1, &root2, &proof));
    Outcome { verdict, stand_in: root1_stand_in || root2_stand_in || proof_stand_in, want_err: vector.want_err }
}

#[test]
fn every_inclusion_vector_gets_the_expected_verdict() {
    let tally = run_vectors("inclusion", check_inclusion);
    assert_eq!(
        tally,
        Tally { files: 98, accepted: 6, refused_by_the_api: 81, leaf_hash_not_32_bytes: 11, with_stand_ins: 16 }
    );
}

#[test]
fn every_consistency_vector_gets_the_expected_verdict() {
    let tally = run_vectors("consistency", check_consistency);
    assert_eq!(
        tally,
        Tally { files: 98, accepted: 6, refused_by_the_api: 92, leaf_hash_not_32_bytes: 0, with_stand_ins: 27 }
    );
}

/// The four files where following only the RFC text would disagree with the Go library.
#[test]
fn the_go_library_rules_decide_four_vectors() {
    let dir = data_dir();
    // Root and leaf hash are both empty: the RFC text would accept a one-leaf tree whose root is
    // its leaf hash, the Go library refuses the leaf hash's length first.
    let outcome = check_inclusion(&dir.join("inclusion/single-entry/empty-root-and-leaf.json"));
    assert_eq!((outcome.verdict, outcome.want_err), (Err(()), true));
    let (empty, _) = hash_or_stand_in(Some(""));
    assert_eq!(verify_inclusion(&empty, 0, 1, &[], &empty), Ok(()));
    for file in [
        "size1-is-zero-and-does-not-equal-size2.json",
        "size1-is-zero-and-size2-is-not-zero.json",
        "sizes-are-equal-zero-and-proof-is-empty.json",
    ] {
        let outcome = check_consistency(&dir.join("consistency/additional").join(file));
        assert_eq!((outcome.verdict, outcome.want_err), (Ok(Err(MerkleError::OldSizeZero)), true), "{file}");
    }
}

// ---------------------------------------------------------------------------------------------
// One test per error.

#[test]
fn inclusion_errors() {
    let leaves = distinct_leaves(5);
    let tree_root = root(&leaves);
    let proof = inclusion_proof(&leaves, 1).expect("in range");
    assert_eq!(inclusion_proof(&leaves, 5), Err(MerkleError::IndexOutOfRange { index: 5, tree_size: 5 }));
    assert_eq!(inclusion_proof(&[], 0), Err(MerkleError::IndexOutOfRange { index: 0, tree_size: 0 }));
    assert_eq!(inclusion_proof(&leaves, u64::MAX), Err(MerkleError::IndexOutOfRange { index: u64::MAX, tree_size: 5 }));
    assert_eq!(
        verify_inclusion(&leaves[1], 5, 5, &proof, &tree_root),
        Err(MerkleError::IndexOutOfRange { index: 5, tree_size: 5 })
    );
    assert_eq!(
        verify_inclusion(&EMPTY_ROOT, 0, 0, &[], &EMPTY_ROOT),
        Err(MerkleError::IndexOutOfRange { index: 0, tree_size: 0 })
    );
    assert_eq!(
        verify_inclusion(&leaves[1], 1, 5, &proof[..2], &tree_root),
        Err(MerkleError::WrongProofLength { expected: 3, found: 2 })
    );
    let mut longer = proof.clone();
    longer.push(tree_root);
    assert_eq!(
        verify_inclusion(&leaves[1], 1, 5, &longer, &tree_root),
        Err(MerkleError::WrongProofLength { expected: 3, found: 4 })
    );
    assert_eq!(verify_inclusion(&leaves[2], 1, 5, &proof, &tree_root), Err(MerkleError::RootMismatch));
    assert_eq!(verify_inclusion(&leaves[1], 1, 5, &proof, &leaves[0]), Err(MerkleError::RootMismatch));
    assert_eq!(verify_inclusion(&leaves[1], 1, 5, &proof, &tree_root), Ok(()));
}

#[test]
fn consistency_errors() {
    let leaves = distinct_leaves(7);
    let (old_root, new_root) = (root(&leaves[..3]), root(&leaves));
    let proof = consistency_proof(&leaves, 3).expect("in range");
    assert_eq!(consistency_proof(&leaves, 0), Err(MerkleError::OldSizeZero));
    assert_eq!(consistency_proof(&[], 0), Err(MerkleError::OldSizeZero));
    assert_eq!(consistency_proof(&leaves, 8), Err(MerkleError::OldSizeLarger { old_size: 8, new_size: 7 }));
    assert_eq!(consistency_proof(&leaves, 7), Ok(Vec::new()));
    assert_eq!(
        verify_consistency(8, 7, &old_root, &new_root, &proof),
        Err(MerkleError::OldSizeLarger { old_size: 8, new_size: 7 })
    );
    assert_eq!(verify_consistency(0, 7, &EMPTY_ROOT, &new_root, &[]), Err(MerkleError::OldSizeZero));
    assert_eq!(verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]), Err(MerkleError::OldSizeZero));
    assert_eq!(verify_consistency(7, 7, &new_root, &new_root, &[]), Ok(()));
    assert_eq!(
        verify_consistency(7, 7, &old_root, &new_root, &[]),
        Err(MerkleError::EqualSizesDifferentRoots { size: 7 })
    );
    assert_eq!(
        verify_consistency(7, 7, &new_root, &new_root, &[new_root]),
        Err(MerkleError::WrongProofLength { expected: 0, found: 1 })
    );
    assert_eq!(
        verify_consistency(3, 7, &old_root, &new_root, &[]),
        Err(MerkleError::WrongProofLength { expected: 4, found: 0 })
    );
    assert_eq!(
        verify_consistency(3, 7, &old_root, &new_root, &proof[1..]),
        Err(MerkleError::WrongProofLength { expected: 4, found: 3 })
    );
    assert_eq!(verify_consistency(3, 7, &new_root, &new_root, &proof), Err(MerkleError::OldRootMismatch));
    assert_eq!(verify_consistency(3, 7, &old_root, &old_root, &proof), Err(MerkleError::NewRootMismatch));
    assert_eq!(verify_consistency(3, 7, &old_root, &new_root, &proof), Ok(()));
}

#[test]
fn errors_read_as_plain_words() {
    assert_eq!(
        MerkleError::IndexOutOfRange { index: 5, tree_size: 5 }.to_string(),
        "leaf index 5 is outside a tree of 5 leaves"
    );
    assert_eq!(
        MerkleError::WrongProofLength { expected: 3, found: 2 }.to_string(),
        "the proof has 2 hashes, but a proof for these sizes has exactly 3"
    );
}

// ---------------------------------------------------------------------------------------------
// Limits.

/// The longest proofs: 64 hashes to include leaf 0 of the tallest tree, 65 for consistency from
/// 3 leaves to the largest tree. Those lengths reach the hashing (and fail on the root); one hash
/// fewer or more is refused on length.
#[test]
fn the_longest_proofs() {
    let leaf = leaf_hash(b"leaf");
    let inclusion = vec![[7; HASH_BYTES]; INCLUSION_PROOF_HASHES_MAX];
    assert_eq!(INCLUSION_PROOF_HASHES_MAX, 64);
    assert_eq!(verify_inclusion(&leaf, 0, u64::MAX, &inclusion, &EMPTY_ROOT), Err(MerkleError::RootMismatch));
    assert_eq!(
        verify_inclusion(&leaf, 0, u64::MAX, &inclusion[1..], &EMPTY_ROOT),
        Err(MerkleError::WrongProofLength { expected: 64, found: 63 })
    );

    let consistency = vec![[7; HASH_BYTES]; CONSISTENCY_PROOF_HASHES_MAX];
    assert_eq!(CONSISTENCY_PROOF_HASHES_MAX, 65);
    assert_eq!(
        verify_consistency(3, u64::MAX, &EMPTY_ROOT, &EMPTY_ROOT, &consistency),
        Err(MerkleError::OldRootMismatch)
    );
    let mut longer = consistency.clone();
    longer.push([7; HASH_BYTES]);
    assert_eq!(
        verify_consistency(3, u64::MAX, &EMPTY_ROOT, &EMPTY_ROOT, &longer),
        Err(MerkleError::WrongProofLength { expected: 65, found: 66 })
    );
}

/// A root does not commit to its tree's size: the proofs of a 4-leaf tree also verify as proofs
/// in a 3-leaf tree with the same root. A verifier must take the size from the same signed
/// statement as the root (an edition signs both).
#[test]
fn a_root_alone_does_not_fix_the_tree_size() {
    let leaves = distinct_leaves(4);
    let tree_root = root(&leaves);
    let proof = inclusion_proof(&leaves, 0).expect("in range");
    assert_eq!(verify_inclusion(&leaves[0], 0, 4, &proof, &tree_root), Ok(()));
    assert_eq!(verify_inclusion(&leaves[0], 0, 3, &proof, &tree_root), Ok(()));

    let proof = consistency_proof(&leaves, 2).expect("in range");
    let old_root = root(&leaves[..2]);
    assert_eq!(verify_consistency(2, 4, &old_root, &tree_root, &proof), Ok(()));
    assert_eq!(verify_consistency(2, 3, &old_root, &tree_root, &proof), Ok(()));
}

/// The exact length a proof must have, read from the error on a proof longer than any limit.
fn expected_length(result: Result<(), MerkleError>) -> usize {
    match result {
        Err(MerkleError::WrongProofLength { expected, .. }) => expected,
        other => panic!("expected a length error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// A tree of 0..200 distinct leaves (entry `i` is a random prefix followed by `i`).
fn tree(sizes: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Hash>> {
    (any::<[u8; 8]>(), sizes).prop_map(|(salt, size)| {
        (0..size as u64)
            .map(|i| {
                let mut entry = salt.to_vec();
                entry.extend_from_slice(&i.to_be_bytes());
                leaf_hash(&entry)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_inclusion_proof_verifies(leaves in tree(0..200)) {
        let tree_root = root(&leaves);
        let size = leaves.len() as u64;
        for (index, leaf) in (0..size).zip(&leaves) {
            let proof = inclusion_proof(&leaves, index).expect("in range");
            prop_assert!(proof.len() <= INCLUSION_PROOF_HASHES_MAX);
            prop_assert_eq!(verify_inclusion(leaf, index, size, &proof, &tree_root), Ok(()));
        }
        prop_assert_eq!(inclusion_proof(&leaves, size), Err(MerkleError::IndexOutOfRange { index: size, tree_size: size }));
    }

    /// From every size to the whole tree, and from every size to one random size. (Every pair of
    /// sizes up to 70 is checked against the naive definition above; every pair up to 200 for
    /// each random tree would cost cubic time.)
    #[test]
    fn every_consistency_proof_between_any_two_sizes_verifies(leaves in tree(0..200), pick in any::<prop::sample::Index>()) {
        let roots: Vec<Hash> = (0..=leaves.len()).map(|size| root(&leaves[..size])).collect();
        let middle = if leaves.is_empty() { 0 } else { 1 + pick.index(leaves.len()) };
        for new_size in [middle, leaves.len()] {
            for old_size in 1..=new_size {
                let proof = consistency_proof(&leaves[..new_size], old_size as u64).expect("in range");
                prop_assert!(proof.len() <= CONSISTENCY_PROOF_HASHES_MAX);
                prop_assert_eq!(
                    verify_consistency(old_size as u64, new_size as u64, &roots[old_size], &roots[new_size], &proof),
                    Ok(()),
                    "{} -> {}", old_size, new_size
                );
            }
        }
        prop_assert_eq!(consistency_proof(&leaves, 0), Err(MerkleError::OldSizeZero));
    }

    #[test]
    fn any_flipped_bit_breaks_an_inclusion_proof(leaves in tree(1..200), pick in any::<prop::sample::Index>()) {
        let index = pick.index(leaves.len());
        let (size, position) = (leaves.len() as u64, index as u64);
        let tree_root = root(&leaves);
        let leaf = leaves[index];
        let proof = inclusion_proof(&leaves, position).expect("in range");
        prop_assert_eq!(verify_inclusion(&leaf, position, size, &proof, &tree_root), Ok(()));
        for bit in 0..HASH_BYTES * 8 {
            prop_assert!(verify_inclusion(&flipped(&leaf, bit), position, size, &proof, &tree_root).is_err());
            prop_assert!(verify_inclusion(&leaf, position, size, &proof, &flipped(&tree_root, bit)).is_err());
            for element in 0..proof.len() {
                let mut changed = proof.clone();
                changed[element] = flipped(&changed[element], bit);
                prop_assert!(verify_inclusion(&leaf, position, size, &changed, &tree_root).is_err());
            }
        }
        for bit in 0..u64::BITS {
            let changed = position ^ (1 << bit);
            prop_assert!(verify_inclusion(&leaf, changed, size, &proof, &tree_root).is_err(), "index {}", changed);
        }
    }

    #[test]
    fn any_flipped_bit_breaks_a_consistency_proof(
        leaves in tree(1..200),
        old_pick in any::<prop::sample::Index>(),
        new_pick in any::<prop::sample::Index>(),
    ) {
        let new_size = 1 + new_pick.index(leaves.len());
        let old_size = 1 + old_pick.index(new_size);
        let (old_root, new_root) = (root(&leaves[..old_size]), root(&leaves[..new_size]));
        let proof = consistency_proof(&leaves[..new_size], old_size as u64).expect("in range");
        let verify = |old_root: &Hash, new_root: &Hash, proof: &[Hash]| {
            verify_consistency(old_size as u64, new_size as u64, old_root, new_root, proof)
        };
        prop_assert_eq!(verify(&old_root, &new_root, &proof), Ok(()));
        for bit in 0..HASH_BYTES * 8 {
            prop_assert!(verify(&flipped(&old_root, bit), &new_root, &proof).is_err());
            prop_assert!(verify(&old_root, &flipped(&new_root, bit), &proof).is_err());
            for element in 0..proof.len() {
                let mut changed = proof.clone();
                changed[element] = flipped(&changed[element], bit);
                prop_assert!(verify(&old_root, &new_root, &changed).is_err());
            }
        }
    }

    /// Whatever the sizes, the exact length a proof must have stays within the named limits.
    #[test]
    fn proof_lengths_stay_within_the_limits(a in any::<u64>(), b in any::<u64>(), shift in 0..64u32) {
        let (small, large) = (a.min(b) >> shift, a.max(b));
        let leaf = leaf_hash(b"");
        let too_long = [[0; HASH_BYTES]; CONSISTENCY_PROOF_HASHES_MAX + 1];
        if small < large {
            let length = expected_length(verify_inclusion(&leaf, small, large, &too_long, &EMPTY_ROOT));
            prop_assert!(length <= INCLUSION_PROOF_HASHES_MAX);
        }
        if small > 0 && small < large {
            let length = expected_length(verify_consistency(small, large, &EMPTY_ROOT, &EMPTY_ROOT, &too_long));
            prop_assert!(length <= CONSISTENCY_PROOF_HASHES_MAX);
        }
    }
}
