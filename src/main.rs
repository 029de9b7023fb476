fn main() {
    std::process::exit(pixpipe::cli::main());
}
