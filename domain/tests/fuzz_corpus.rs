//! The fuzz corpus (`fuzz/corpus/wire_parser/`: the seeds and every input `scripts/fuzz.sh`
//! found worth keeping) as regression inputs: each is parsed and folded without a panic.
#[test]
fn every_kept_fuzz_input_parses_and_folds_without_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/wire_parser");
    let mut n = 0;
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            parsed += domain::fuzzing::parse_and_fold(text);
        }
        n += 1;
    }
    assert!(n >= 3, "the corpus is there ({n} files in {})", dir.display());
    assert!(parsed >= 14, "the seeds' valid events parse ({parsed})");
}
