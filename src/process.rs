//! This process among others: its host's name, and whether a process of this host
//! still runs. Both the embedded ledger's claims and the folder writer's temporary
//! files name their owner by host and process id, so that what a killed process
//! left is known for that at once, without waiting for a lease or an age to pass.

/// The name of this host, as `gethostname` gives it (`localhost` when it gives none).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length, and gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match rc {
        0 if end > 0 => String::from_utf8_lossy(&buf[..end]).into_owned(),
        _ => "localhost".into(),
    }
}

/// Whether a process `pid` of this host exists. A process of another user counts
/// (the signal is refused, not unknown); a pid the system gave again to another
/// program counts too, so callers keep a second rule (a lease, an age) for that.
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_not() {
        assert!(alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid), "a reaped child is gone");
        assert!(!alive(0), "pid 0 is never a worker");
        assert!(!host_name().is_empty());
    }
}
