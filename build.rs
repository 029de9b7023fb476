//! Tells pixpipe whether libjpeg-turbo was built with its SIMD code, which needs
//! `nasm`: without it the build still succeeds, on plain C, about half as fast.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_JPEG_INCLUDE");
    let simd = std::env::var_os("DEP_JPEG_INCLUDE").is_some_and(|dirs| {
        std::env::split_paths(&dirs).any(|d| {
            std::fs::read_to_string(d.join("jconfig.h"))
                .is_ok_and(|h| h.contains("#define WITH_SIMD 1"))
        })
    });
    println!(
        "cargo:rustc-env=PIXPIPE_JPEG_SIMD={}",
        if simd { "on" } else { "off" }
    );
    if !simd {
        println!(
            "cargo:warning=nasm was not found when libjpeg-turbo was built, so its SIMD code is off and JPEG work is about twice as slow; install nasm, then `cargo clean -p mozjpeg-sys` and build again"
        );
    }
}
