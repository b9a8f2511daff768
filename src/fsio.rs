//! Writing the files tickbench produces (stored baselines, reports, load-test results): one
//! atomic write for all of them, and the lock that serialises a read-modify-write.
//!
//! `rename(tmp, path)` replaces whatever `path` is; as root that includes a device node such as
//! `/dev/null`. So [`write_atomic`] first looks at `path` itself (`symlink_metadata`, which does
//! not follow links) and decides how to write it:
//!
//! - absent or a regular file: a temporary file `.<name>.tmp-<pid>-<n>` in the same directory,
//!   written, fsynced and given the old file's mode, is renamed over `path`, then the directory
//!   is fsynced;
//! - a symlink: the chain is resolved and its final target written as above; the link stays a
//!   link;
//! - a character or block device, FIFO or socket: opened and written in place;
//! - a directory: an error.
//!
//! A writer that is killed leaves its temporary file behind; the next write of the same target
//! removes temporary files whose process is gone.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};

/// Links followed before giving up, as Linux's `ELOOP` limit.
const MAX_SYMLINKS: usize = 40;

/// Writes `bytes` to `path` so that a reader sees either the old or the new contents, never a
/// mix, and a crash never leaves a half-written file in its place. See the module docs for how
/// symlinks, special files and directories are treated. A missing parent directory is created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let target = resolve_symlinks(path)?;
    let meta = match fs::symlink_metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", target.display())),
    };
    let written = match meta {
        Some(meta) if meta.is_dir() => bail!("{} is a directory", target.display()),
        Some(meta) if is_special(&meta.file_type()) => write_in_place(&target, bytes),
        Some(meta) => replace(&target, bytes, Some(meta.permissions().mode() & 0o7777)),
        None => replace(&target, bytes, None),
    };
    written.with_context(|| {
        if target == path {
            format!("cannot write {}", path.display())
        } else {
            format!(
                "cannot write {} (the target of symlink {})",
                target.display(),
                path.display()
            )
        }
    })
}

/// Character and block devices, FIFOs and sockets: files a rename must never replace.
fn is_special(t: &fs::FileType) -> bool {
    t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
}

/// The path at the end of `path`'s symlink chain (`path` itself if it is no link). A relative
/// link is relative to the directory that holds it. The end may not exist (a dangling link).
fn resolve_symlinks(path: &Path) -> anyhow::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current)
                    .with_context(|| format!("cannot read symlink {}", current.display()))?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    bail!(
        "{}: more than {MAX_SYMLINKS} levels of symbolic links",
        path.display()
    )
}

/// Writes a device, FIFO or socket where it is: no temporary file, no truncation, no fsync
/// (a FIFO has no storage to sync).
fn write_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// Numbers the temporary files of one process, so that threads writing the same target at once
/// do not share one.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces the regular file `path` (or creates it) through a temporary file and a rename.
/// `mode` is the existing file's permission bits, kept on the new file.
fn replace(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    fs::create_dir_all(dir)?;
    remove_stale_temps(dir, name);
    let (tmp, mut file) = create_temp(dir, name)?;
    let result = (|| {
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Creates `.<name>.tmp-<pid>-<n>` in `dir`, never opening an existing file.
fn create_temp(dir: &Path, name: &OsStr) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{}.tmp-{pid}-{n}", name.to_string_lossy()));
        // 0o666 before the umask, as `File::create`: a new file gets the usual mode.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            // Left by an earlier process with this pid that is still alive or was recycled.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Makes the rename durable. Some file systems cannot sync a directory (`EINVAL`); the file is
/// already in place then, so that is not an error.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// The writer's pid if `file` is a temporary file of target `name`: `.<name>.tmp-<pid>-<n>`, or
/// `.<name>.tmp-<pid>` as earlier versions named them.
fn temp_owner(file: &OsStr, name: &OsStr) -> Option<i32> {
    let prefix = format!(".{}.tmp-", name.to_str()?);
    let rest = file.to_str()?.strip_prefix(&prefix)?;
    let (pid, n) = rest.split_once('-').unwrap_or((rest, "0"));
    if !n.bytes().all(|b| b.is_ascii_digit()) || n.is_empty() {
        return None;
    }
    // pid 0 and negative pids would make `kill` address process groups.
    pid.parse::<i32>().ok().filter(|&p| p > 0)
}

/// Whether no process `pid` exists. A process of another user (`EPERM`) is alive.
fn is_dead(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Removes temporary files of target `name` in `dir` whose writer is gone. Best effort: a file
/// that cannot be listed or removed is left for the next write.
fn remove_stale_temps(dir: &Path, name: &OsStr) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let own = std::process::id() as i32;
    for entry in entries.flatten() {
        match temp_owner(&entry.file_name(), name) {
            Some(pid) if pid != own && is_dead(pid) => {
                let _ = fs::remove_file(entry.path());
            }
            _ => {}
        }
    }
}

/// An exclusive advisory lock on the sidecar file `<path>.lock`, held until dropped. The
/// sidecar, not `path`, is locked because [`write_atomic`] replaces `path`'s inode, and a lock
/// on a replaced inode excludes nobody.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    file: File,
}

impl FileLock {
    /// Waits for the lock that serialises read-modify-writes of `path` across processes. The
    /// parent directory is created if missing.
    pub fn exclusive(path: &Path) -> anyhow::Result<FileLock> {
        let mut name = path
            .file_name()
            .with_context(|| format!("{} is not a file path", path.display()))?
            .to_os_string();
        name.push(".lock");
        let lock_path = path.with_file_name(name);
        if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let context = || format!("cannot lock {}", lock_path.display());
        loop {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
                .with_context(context)?;
            file.lock().with_context(context)?;
            // The holder before us removed the sidecar on release; if the name now leads to
            // another inode (or none), our lock guards nothing and a third process may hold
            // the lock on the new file: start over.
            let held = file.metadata().with_context(context)?;
            match fs::metadata(&lock_path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                    return Ok(FileLock {
                        path: lock_path,
                        file,
                    })
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(context),
            }
        }
    }
}

impl Drop for FileLock {
    /// Removes the sidecar while still holding the lock (so no lock file is left behind), then
    /// releases it by closing the file.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn cstring(path: &Path) -> CString {
        CString::new(path.as_os_str().as_bytes()).unwrap()
    }

    #[test]
    fn new_and_existing_files_are_replaced_whole_and_leave_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["report.json"]);
    }

    #[test]
    fn missing_parent_directories_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/report.md");
        write_atomic(&path, b"x").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"x");
    }

    #[test]
    fn the_mode_of_an_existing_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);

        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"newer").unwrap();
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn a_symlink_chain_is_followed_and_the_links_stay_links() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let target = sub.join("real.json");
        fs::write(&target, "old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        // link1 → sub/link2 (relative to the top directory), link2 → real.json (relative to sub).
        std::os::unix::fs::symlink("real.json", sub.join("link2")).unwrap();
        std::os::unix::fs::symlink("sub/link2", dir.path().join("link1")).unwrap();
        let link = dir.path().join("link1");

        write_atomic(&link, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target), 0o600);
        for l in [&link, &sub.join("link2")] {
            assert!(fs::symlink_metadata(l).unwrap().file_type().is_symlink());
        }
        assert_eq!(names(dir.path()), ["link1", "sub"]);
        assert_eq!(names(&sub), ["link2", "real.json"]);
    }

    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink("made.json", &link).unwrap();
        write_atomic(&link, b"x").unwrap();
        assert_eq!(fs::read(dir.path().join("made.json")).unwrap(), b"x");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_symlink_loop_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let msg = format!("{:#}", write_atomic(&a, b"x").unwrap_err());
        assert!(msg.contains(&a.display().to_string()), "{msg}");
        assert!(msg.contains("symbolic links"), "{msg}");
    }

    #[test]
    fn a_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("reports");
        fs::create_dir(&sub).unwrap();
        let msg = format!("{:#}", write_atomic(&sub, b"x").unwrap_err());
        assert!(
            msg.contains(&format!("{} is a directory", sub.display())),
            "{msg}"
        );
        assert!(sub.is_dir());
        assert_eq!(names(dir.path()), ["reports"]);
    }

    #[test]
    fn a_fifo_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        assert_eq!(unsafe { libc::mkfifo(cstring(&fifo).as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        // Checked before joining: had the FIFO been replaced, the reader could wait forever.
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert_eq!(names(dir.path()), ["pipe"]);
    }

    #[test]
    fn a_character_device_is_written_in_place_not_replaced() {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: making a device node needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let null = dir.path().join("null");
        let dev = libc::makedev(1, 3);
        let rc = unsafe { libc::mknod(cstring(&null).as_ptr(), libc::S_IFCHR | 0o666, dev) };
        assert_eq!(rc, 0, "mknod: {}", io::Error::last_os_error());
        write_atomic(&null, b"discarded").unwrap();
        let meta = fs::symlink_metadata(&null).unwrap();
        assert!(meta.file_type().is_char_device());
        assert_eq!(meta.rdev(), dev);
        assert_eq!(names(dir.path()), ["null"]);

        // Through a symlink, too.
        let link = dir.path().join("out");
        std::os::unix::fs::symlink("null", &link).unwrap();
        write_atomic(&link, b"discarded").unwrap();
        assert!(fs::symlink_metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device());
    }

    /// A pid that is not running: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn stale_temps_of_dead_writers_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.json");
        let dead = dead_pid();
        let live = std::process::id();
        let stale_old = format!(".main.json.tmp-{dead}");
        let stale_new = format!(".main.json.tmp-{dead}-7");
        let live_temp = format!(".main.json.tmp-{live}-99999");
        let other_target = format!(".other.json.tmp-{dead}-1");
        for name in [&stale_old, &stale_new, &live_temp, &other_target] {
            fs::write(dir.path().join(name), "partial").unwrap();
        }
        write_atomic(&path, b"x").unwrap();
        let mut expected = vec![live_temp, other_target, "main.json".to_string()];
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        let owner = |f: &str| temp_owner(OsStr::new(f), OsStr::new("a.json"));
        assert_eq!(owner(".a.json.tmp-42-3"), Some(42));
        assert_eq!(owner(".a.json.tmp-42"), Some(42));
        for not_ours in [
            "a.json",
            ".a.json.tmp-",
            ".a.json.tmp-0",
            ".a.json.tmp--1",
            ".a.json.tmp-42-",
            ".a.json.tmp-42-x",
            ".a.json.tmp-x-1",
            ".b.json.tmp-42-1",
            ".a.jsonx.tmp-42-1",
        ] {
            assert_eq!(owner(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn a_lock_excludes_a_second_holder_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base/main.json");
        let lock = FileLock::exclusive(&path).unwrap();
        let sidecar = dir.path().join("base/main.json.lock");
        assert!(sidecar.exists());
        let other = File::open(&sidecar).unwrap();
        assert!(other.try_lock().is_err(), "a second lock was granted");
        drop(other);

        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let _held = FileLock::exclusive(&path).unwrap();
                tx.send(()).unwrap();
            })
        };
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "the lock was granted twice"
        );
        drop(lock);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the waiter never got the lock");
        waiter.join().unwrap();
        assert_eq!(names(&dir.path().join("base")), Vec::<String>::new());
    }
}
