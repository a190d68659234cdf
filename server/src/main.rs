// mimalloc: the ingest path allocates per JSON value and per bound SQL argument; glibc malloc
// cost ~25% of an ingest batch in perf, mimalloc a fraction of that (README, "Measured").
// Built with `no_thp` (Cargo.toml): no transparent huge pages for the heap. With them the
// console's resident memory after a 1M-event ingest was 457-467 MB (2 runs), without 408-451 MB
// (3 runs), at the same ingest rate (2026-12-06, scripts/ingest-ratio.sh prints it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    server::cli::main()
}
