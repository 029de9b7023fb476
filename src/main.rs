fn main() {
    pixpipe::keep_freed_buffers();
    std::process::exit(pixpipe::run_cli());
}
