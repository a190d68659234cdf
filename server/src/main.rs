// mimalloc: the ingest path allocates per JSON value and per bound SQL argument; glibc malloc
// cost ~25% of an ingest batch in perf, mimalloc a fraction of that (README, "Measured").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    server::cli::main()
}
