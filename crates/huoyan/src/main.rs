fn main() -> std::process::ExitCode {
    huoyan::cli::main()
}
