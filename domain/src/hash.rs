//! The hash maps and sets of the folds: std's, with foldhash's per-map random seed instead of
//! SipHash (hashing ids was a few percent of folding a batch). Keys come from authenticated
//! engines and the seed differs per map and per process, so colliding keys cannot be chosen
//! in advance.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
