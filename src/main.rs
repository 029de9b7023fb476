fn main() {
    pixpipe::memory::keep_freed_buffers();
    std::process::exit(pixpipe::cli::main());
}
