// mimalloc: the ingest path allocates per JSON value and per bound SQL argument; glibc malloc
// cost ~25% of an ingest batch in perf, mimalloc a fraction of that (README, "Measured").
// Built with `no_thp` (Cargo.toml): no transparent huge pages for the heap. With them the
// console's resident memory after a 1M-event ingest was 457-467 MB (2 runs), without 408-451 MB
// (3 runs), at the same ingest rate (2026-12-06, scripts/ingest-ratio.sh prints it).
// And with `override`: C code's malloc and free are mimalloc's too, so SQLite's page and record
// buffers no longer go through glibc malloc (with its arena locks it was ~18% of the SQLite
// worker thread in `perf record` of examples/raw_insert).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    server::cli::main()
}
