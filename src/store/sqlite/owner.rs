//! Whether a SQLite lease's holder still runs: lease owners record `pid:start time:random`,
//! and on Linux `/proc/<pid>/stat` tells a live holder from a dead one, a zombie, or another
//! process that reused its id.

/// Whether the process holding a lease (`pid`, lease owner `owner`) may still be running.
///
/// Linux: `/proc/<pid>` exists, is not a zombie and — when the owner records one
/// (`pid:start:random`) — was started at the recorded time. The start time tells a restarted
/// process with the same id (a container's PID 1, every time) and an unrelated process that
/// reused the id from the holder itself. Elsewhere, and for owners without a start time
/// (written by older versions), assume so and let the lease expire.
pub(super) fn alive(pid: i64, owner: &str) -> bool {
    let recorded_start = owner_start(owner, pid);
    #[cfg(target_os = "linux")]
    {
        match process_start_time(pid) {
            None => false,
            Some(started) => recorded_start.is_none_or(|recorded| recorded == started),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = recorded_start;
        true
    }
}

/// The start time recorded in a `pid:start:random` lease owner of `pid`; `None` for other
/// formats (older versions wrote `pid-random`) or an unknown (`0`) start.
fn owner_start(owner: &str, pid: i64) -> Option<u64> {
    let mut parts = owner.split(':');
    let (owner_pid, start) = (parts.next()?, parts.next()?);
    parts.next()?;
    (owner_pid.parse::<i64>().ok()? == pid).then_some(())?;
    start.parse::<u64>().ok().filter(|&s| s != 0)
}

/// A running (not zombie) process's start time in clock ticks since boot: `/proc/<pid>/stat`
/// field 22. `None` if it is gone, a zombie, or this is not Linux.
pub(super) fn process_start_time(pid: i64) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which is in parentheses and may contain any byte:
        // field 3 (state) is the first, field 22 (starttime) the 20th.
        let (_, rest) = stat.rsplit_once(')')?;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?;
        if state == "Z" || state == "X" {
            return None;
        }
        fields.nth(18)?.parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Now, in epoch milliseconds (0 if the clock is before 1970).
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
