//! Memory tuning for the process.

/// Asks the C allocator to keep freed large buffers instead of returning them to the
/// system at once. Each image needs decode buffers of tens of megabytes; returning them
/// and faulting fresh pages in for the next image costs about a sixth of the run in
/// kernel time. Memory stays bounded: each worker thread reuses the same few buffers.
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}
