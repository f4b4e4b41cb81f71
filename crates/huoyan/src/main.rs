// mimalloc instead of glibc's malloc: in the intake bench glibc's allocator (malloc, free and
// their consolidation across the server's threads) took about a tenth of the CPU, and with
// mimalloc a create cost 248 µs of CPU instead of 287 µs (BENCHMARKS.md, "Case intake").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    huoyan::cli::main()
}
