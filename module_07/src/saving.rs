//! Where lesson 7.2's downloads land: a file name taken from an untrusted
//! URL, made safe to create inside the output directory, and the partial
//! files a download is written to before it gets that name.
//!
//! This is the file-system half of saving downloads: names, partial files,
//! and [`Run`], which tells the workers that Ctrl-C came and removes their
//! partial files. The lesson file keeps the concurrent half (workers, a
//! channel of results, how they react to an interrupt). Its `hostile_names`
//! step shows the names at work.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::{Receiver, Sender};
use tempfile::NamedTempFile;

use crate::Url;

/// The name used when the URL has nothing usable left.
pub const FALLBACK_NAME: &str = "download";

/// The name the URL suggests: its last path segment, percent-decoded
/// (`/files/my%20notes.txt` → `my notes.txt`). Untrusted input: [`sanitise`]
/// cleans it. Like `curl -O` and `wget`, the name comes from the URL; both
/// read a server's `Content-Disposition` header only when asked (`curl -J`,
/// `wget --content-disposition`), and so would this, through a maintained
/// parser rather than a hand-written one.
pub fn suggested_name(url: &Url) -> String {
    let segment = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default();
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Names a hostile or careless URL might carry, and the name each is saved
/// under (lesson 7.2's step `hostile_names`). The last is a clash with the
/// one before it, so it gets a number.
pub const HOSTILE_NAMES: [(&str, &str); 9] = [
    ("../../x", "x"),
    ("/etc/passwd", "passwd"),
    ("../..", FALLBACK_NAME),
    ("..\\..\\boot.ini", "boot.ini"),
    (".bashrc", "bashrc"),
    ("con.txt", "_con.txt"),
    ("notes. . .", "notes._._"),
    ("report; rm -rf ~.pdf", "report__rm_-rf__.pdf"),
    ("report; rm -rf ~.pdf", "report__rm_-rf__-1.pdf"),
];

/// The last component of `path` (a saved file's name), for printing.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The names in `dir`, sorted.
pub fn listing(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = fs::read_dir(dir)?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

/// The longest file name most file systems take: 255 bytes (`NAME_MAX` on
/// Linux's ext4, XFS, btrfs and tmpfs: `getconf NAME_MAX /tmp`), 255 UTF-16
/// units on NTFS. A character never takes more UTF-16 units than UTF-8
/// bytes, so one cap in bytes serves both. Capping at 120 *characters* is
/// not enough: 120 CJK characters are 360 bytes.
pub const NAME_MAX: usize = 255;
/// Lesson 7.2's `persist_unique` numbers a clashing name `-1` … `-999`.
pub const MAX_CLASHES: usize = 1000;
/// The longest name `sanitise` returns, so the name with its `-N` still fits.
/// The partial file needs no room here: its name does not depend on the
/// final one.
pub const MAX_NAME_BYTES: usize = NAME_MAX - "-999".len();
/// An extension up to this long survives the cap (`.pdf`, `.gz`).
const MAX_EXTENSION_BYTES: usize = 16;

/// Makes an untrusted name safe to create inside the output directory:
/// - only the last path component survives (so `../../x` and `/etc/passwd`
///   become `x` and `passwd`);
/// - characters other than letters, digits and `. _ - ( ) +` become `_`
///   (this also removes spaces, control characters and Windows' `<>:"|?*`);
/// - leading dots go (no `..`, no hidden files), and trailing dots too
///   (Windows drops them, so `a.` and `a` would be one file there);
/// - a Windows device name (`CON`, `NUL`, `COM1`, …, also with an
///   extension: `con.txt`) gets a `_` in front;
/// - the result is at most [`MAX_NAME_BYTES`] bytes, cut at a character
///   boundary, keeping a short extension.
pub fn sanitise(raw: &str) -> String {
    // Split on both separators: a name made on Windows uses `\`.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "._-()+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('.');
    if cleaned.is_empty() {
        return FALLBACK_NAME.to_owned();
    }
    let cleaned = if is_windows_device(cleaned) {
        format!("_{cleaned}")
    } else {
        cleaned.to_owned()
    };
    // The cut can end the name in a dot again.
    cap_bytes(&cleaned, MAX_NAME_BYTES)
        .trim_end_matches('.')
        .to_owned()
}

/// Windows opens a device, not a file, for these names, whatever the
/// extension (`NUL.txt` and `NUL.tar.gz` are `NUL`): the list of Microsoft's
/// "Naming Files, Paths, and Namespaces", the same as Python's
/// `pathlib.PureWindowsPath.is_reserved` (whose `CONIN$` and `CONOUT$`
/// cannot occur here: `sanitise` has replaced the `$`).
fn is_windows_device(name: &str) -> bool {
    const DEVICES: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
    let base = name.split('.').next().unwrap_or_default().to_uppercase();
    DEVICES.contains(&base.as_str())
        || ["COM", "LPT"].iter().any(|port| {
            base.strip_prefix(port).is_some_and(|n| {
                matches!(
                    n,
                    "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
                )
            })
        })
}

/// `name` cut to at most `max` bytes at a character boundary. An extension
/// of up to [`MAX_EXTENSION_BYTES`] is kept and the part before it is cut.
fn cap_bytes(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
        _ => (name, ""),
    };
    let keep = stem.floor_char_boundary(max - extension.len());
    format!("{}{extension}", &stem[..keep])
}

/// `name`, or `stem-1.ext`, `stem-2.ext`, … for the `n`-th clash.
pub fn numbered(name: &str, n: usize) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{n}.{ext}"),
        _ => format!("{name}-{n}"),
    }
}

/// A partial file's name: [`PARTIAL_PREFIX`], six random characters,
/// [`PARTIAL_SUFFIX`] (`.save_files-Xa3k9Q.partial`). Hidden, and
/// recognisable by a later run ([`remove_leftovers`]).
pub const PARTIAL_PREFIX: &str = ".save_files-";
pub const PARTIAL_SUFFIX: &str = ".partial";

/// A new partial file in `dir`, locked for as long as it stays open. It is
/// in `dir` itself because a rename cannot cross file systems (`EXDEV`;
/// tempfile's docs: "Temporary files cannot be persisted across
/// filesystems"): a file in `/tmp` could not become one in an `--out`
/// directory on another disk. Dropping it deletes it.
pub fn partial_file(dir: &Path) -> io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(PARTIAL_PREFIX).suffix(PARTIAL_SUFFIX);
    // tempfile makes its files private (mode 0600) and a rename keeps the
    // mode, so every saved file would be unreadable to other users. Asked
    // for 0666 at creation, open(2) applies the umask as it does for
    // `File::create`, curl or wget: 0644 under umask 022. Set here, before
    // the rename, so no file ever has its final name with other permissions.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let file = builder.tempfile_in(dir)?;
    file.as_file().lock()?;
    Ok(file)
}

/// Removes the partial files in `dir` that no running download holds: those
/// of a run killed before it could clean up (SIGKILL, a power loss).
/// [`partial_file`] locks each one while it is written (`File::lock`:
/// `flock` on Linux), and the system drops a process's locks when it dies,
/// so a partial file whose lock can be taken has no writer left. Returns
/// how many were removed.
///
/// One narrow window remains: another run's file created but not yet locked
/// looks abandoned. Removing it makes that run's download fail when it
/// renames the file ("No such file or directory"): loud, never a silently
/// missing file.
pub fn remove_leftovers(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|name| name.to_str());
        if !name.is_some_and(|n| n.starts_with(PARTIAL_PREFIX) && n.ends_with(PARTIAL_SUFFIX)) {
            continue;
        }
        // Opened for writing: std's `File::lock` docs leave locking a file
        // open only for reading unspecified. A file we may not open is not
        // ours to remove.
        let Ok(file) = File::options().write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// One run of lesson 7.2's `save_files` as its workers, its collector and
/// the Ctrl-C handler share it: whether it was interrupted, and the partial
/// file each worker is writing, under one lock, so that no worker can create
/// or rename a file between [`Run::interrupt`]'s check and its clean-up.
pub struct Run {
    state: Mutex<RunState>,
    /// [`Run::interrupt`] puts one message here to wake the collector.
    wake: (Sender<()>, Receiver<()>),
}

#[derive(Default)]
pub struct RunState {
    pub interrupted: bool,
    /// The partial file each worker is writing, by worker number.
    pub partials: HashMap<usize, PathBuf>,
}

impl Run {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            wake: crossbeam_channel::bounded(1),
        })
    }

    /// The shared state. A worker that panicked holding the lock cannot have
    /// left a flag and a map half-changed, and Ctrl-C must still clean up
    /// after it, so a poisoned lock is used as it is.
    pub fn state(&self) -> MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_interrupted(&self) -> bool {
        self.state().interrupted
    }

    /// Ctrl-C: from now on no download starts and no partial file is created
    /// or renamed, and those being written are removed, all under one lock,
    /// so no worker can slip a file in between. Then wakes the collector.
    pub fn interrupt(&self) {
        let mut state = self.state();
        state.interrupted = true;
        for path in state.partials.values() {
            // `NotFound`: its worker has just removed it itself.
            if let Err(error) = fs::remove_file(path)
                && error.kind() != io::ErrorKind::NotFound
            {
                eprintln!("cannot remove {}: {error}", path.display());
            }
        }
        drop(state);
        // Full: the collector has a wake-up waiting already.
        let _ = self.wake.0.try_send(());
    }

    /// Receives a message once the run is interrupted.
    pub fn woken(&self) -> &Receiver<()> {
        &self.wake.1
    }

    /// A new [`partial_file`] in `dir` for worker `id`, registered for
    /// [`Run::interrupt`]; `None` once interrupted.
    pub fn partial(&self, id: usize, dir: &Path) -> io::Result<Option<NamedTempFile>> {
        let mut state = self.state();
        if state.interrupted {
            return Ok(None);
        }
        let file = partial_file(dir)?;
        state.partials.insert(id, file.path().to_owned());
        Ok(Some(file))
    }
}

/// Gives a finished partial file its final name in `dir`, `name` or, if
/// that is taken, `name` numbered ([`numbered`]). Never overwrites: two URLs
/// may suggest the same name, and a file already there may be the user's.
pub fn persist_unique(mut file: NamedTempFile, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 0..MAX_CLASHES {
        let path = dir.join(numbered(name, n));
        match file.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => file = error.file,
            Err(error) => return Err(error.error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("too many files named like {name}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_url_path_percent_decoded() {
        let name = |url: &str| suggested_name(&Url::parse(url).expect("valid"));
        assert_eq!(name("http://h/dir/my%20file.txt?x=1#top"), "my file.txt");
        assert_eq!(name("http://h/files/..%2F..%2Fx"), "../../x");
        assert_eq!(name("http://h/dir/"), "");
        assert_eq!(name("http://h"), "");
    }

    #[test]
    fn sanitise_keeps_names_inside_the_directory() {
        let (clash, unique) = HOSTILE_NAMES.split_last().expect("not empty");
        for (raw, expected) in unique {
            assert_eq!(sanitise(raw), *expected, "{raw}");
        }
        assert_eq!(numbered(&sanitise(clash.0), 1), clash.1);
        for (raw, expected) in [
            ("file_01.bin", "file_01.bin"),
            ("C:\\Windows\\win.ini", "win.ini"),
            ("dir/", FALLBACK_NAME),
            ("", FALLBACK_NAME),
            ("...", FALLBACK_NAME),
            ("отчёт.txt", "отчёт.txt"),
        ] {
            assert_eq!(sanitise(raw), expected, "{raw}");
        }
    }

    #[test]
    fn windows_device_names_and_trailing_dots_are_defused() {
        for (raw, expected) in [
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("NUL.tar.gz", "_NUL.tar.gz"),
            ("Aux", "_Aux"),
            ("prn.", "_prn"),
            ("com1.log", "_com1.log"),
            ("LPT9", "_LPT9"),
            ("COM¹.txt", "_COM¹.txt"),
            ("a.b.", "a.b"),
            ("name..", "name"),
        ] {
            assert_eq!(sanitise(raw), expected, "{raw}");
        }
        // Names that only start like a device are files.
        for raw in ["CONSOLE.txt", "COM10", "LPT", "nul_.txt", "com0"] {
            assert_eq!(sanitise(raw), raw);
        }
    }

    /// 120 CJK characters: 120 characters but 360 bytes.
    fn cjk_name(chars: usize) -> String {
        "文件名".chars().cycle().take(chars).collect()
    }

    #[test]
    fn long_names_are_capped_in_bytes_at_a_character_boundary() {
        let long = cjk_name(120);
        let capped = sanitise(&long);
        assert!(capped.len() <= MAX_NAME_BYTES, "{}", capped.len());
        assert!(long.starts_with(&capped));
        // 3 bytes a character: 83 of them fit in 251 bytes.
        assert_eq!(capped.chars().count(), MAX_NAME_BYTES / 3);
        // A short extension survives the cut.
        let with_extension = sanitise(&format!("{}.pdf", cjk_name(300)));
        assert!(with_extension.ends_with(".pdf"), "{with_extension}");
        assert!(with_extension.len() <= MAX_NAME_BYTES);
        let ascii = sanitise(&format!("{}.tar", "a".repeat(500)));
        assert_eq!(ascii.len(), MAX_NAME_BYTES);
        // Even the 999th clash still fits.
        for name in [&capped, &with_extension, &ascii] {
            assert!(numbered(name, MAX_CLASHES - 1).len() <= NAME_MAX);
        }
        // No trailing dot from the cut.
        let dotted = sanitise(&format!(
            "{}.{}",
            "a".repeat(MAX_NAME_BYTES - 1),
            "b".repeat(40)
        ));
        assert_eq!(dotted, "a".repeat(MAX_NAME_BYTES - 1));
    }

    #[test]
    fn clashing_names_are_numbered_not_overwritten() {
        assert_eq!(numbered("a.txt", 0), "a.txt");
        assert_eq!(numbered("a.txt", 2), "a-2.txt");
        assert_eq!(numbered("archive.tar.gz", 1), "archive.tar-1.gz");
        assert_eq!(numbered("README", 1), "README-1");
    }

    #[test]
    fn only_unlocked_partial_files_are_leftovers() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let abandoned = dir
            .path()
            .join(format!("{PARTIAL_PREFIX}dead01{PARTIAL_SUFFIX}"));
        fs::write(&abandoned, b"half a file").expect("writing");
        let mine = dir.path().join(".save_files-notes.txt");
        fs::write(&mine, b"the user's").expect("writing");
        // Held open and locked, as a running download holds it.
        let running = partial_file(dir.path()).expect("a partial file");
        assert_eq!(remove_leftovers(dir.path()).expect("listing"), 1);
        assert!(!abandoned.exists());
        assert!(mine.exists() && running.path().exists());
        drop(running);
        assert_eq!(remove_leftovers(dir.path()).expect("listing"), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_partial_file_gets_the_mode_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let plain = dir.path().join("plain");
        File::create(&plain).expect("creating");
        let partial = partial_file(dir.path()).expect("a partial file");
        // Whatever this process's umask: 0666 minus it, not tempfile's 0600.
        assert_eq!(mode(partial.path()), mode(&plain));
    }
}
