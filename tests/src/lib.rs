//! Helpers shared by the lessons' tests and the end-to-end tests.
//!
//! * [`deadline`] runs a test body that might hang (a lost wake-up, a
//!   deadlock) and fails the test after a time limit instead of hanging CI.
//! * [`lesson_binaries`] builds one package's lesson binaries and returns a
//!   directory holding exactly that package's copies, and [`run_lesson`] runs
//!   one of them. Cargo gives every package's `lesson_03` the same output
//!   path (`target/debug/lesson_03`), so running "the binary called
//!   `lesson_03`" could run another package's. The helper builds one package
//!   at a time under a file lock and copies its binaries aside before anyone
//!   else can overwrite them; every lesson also prints its own
//!   `[package/bin]` on its first line, which the end-to-end tests check.
//!
//! The binaries are built from the very files `cargo test --workspace` has
//! just compiled, so the end-to-end tests compile only the binaries
//! themselves. Two things make that so, and Cargo's unit graph (nightly:
//! `cargo build … --unit-graph -Z unstable-options`) shows it: for each
//! package, the build's units are those of the test build plus that
//! package's binaries.
//! - The same profile (`--profile test`) and the same features. Cargo
//!   resolves features for the packages a command selects, so a
//!   `cargo build -p module_05` alone would give some dependencies fewer
//!   features than the workspace's build does, and compile them again.
//!   Hence a build of the whole workspace (`--workspace`), with every
//!   module's default feature off but the wanted package's: its `lessons`
//!   feature is the one every lesson binary requires (`required-features`),
//!   so only that package's binaries are built, and no two `lesson_03` end
//!   up at one path (Cargo's "output filename collision").
//! - Dev-dependencies count only when a build has a test target in it: the
//!   workspace's own end-to-end test (`--test lessons`, already compiled)
//!   brings their features in, as `cargo test` does.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `body` on its own thread and returns its result, or panics if it has
/// not finished within `limit`. A panic inside `body` (a failed assertion) is
/// passed on unchanged.
///
/// The body's thread cannot be killed; when the limit passes it is left
/// behind, and the test process ends when the test harness exits.
pub fn deadline<T, F>(limit: Duration, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::Builder::new()
        .name("deadline-body".into())
        .spawn(move || {
            // The receiver may be gone if the deadline already passed.
            let _ = done_tx.send(body());
        })
        .expect("spawning the test body's thread");
    match done_rx.recv_timeout(limit) {
        Ok(value) => {
            worker.join().expect("the body already returned");
            value
        }
        // The sender was dropped without sending: the body panicked.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the body returned without sending its value"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("test did not finish within its deadline of {limit:?}")
        }
    }
}

/// The message of a panic, from its payload (`catch_unwind`'s `Err`, a failed
/// `join`): `panic!` with a literal gives a `&str`, with arguments a
/// `String`; anything else (`panic_any`) gives `""`.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The module packages present in the workspace (`module_01`, …), sorted.
pub fn module_packages() -> Vec<String> {
    let mut found: Vec<String> = fs::read_dir(workspace_root())
        .expect("reading the workspace root")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("module_"))
        .collect();
    found.sort();
    found
}

/// The lesson binaries of `package` (`lesson_03`, …), sorted, found from the
/// sources: `src/bin/lesson_NN.rs` or `src/bin/lesson_NN/main.rs`.
pub fn lesson_names(package: &str) -> Vec<String> {
    let bin_dir = workspace_root().join(package).join("src").join("bin");
    let mut found: Vec<String> = fs::read_dir(&bin_dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", bin_dir.display()))
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let path = entry.path();
            let name = path.file_stem()?.to_str()?.to_owned();
            let is_lesson = name.starts_with("lesson_")
                && (path.extension().is_some_and(|e| e == "rs") || path.join("main.rs").is_file());
            is_lesson.then_some(name)
        })
        .collect();
    found.sort();
    found
}

/// `target/debug` (or wherever this test binary lives), found from the test
/// executable's own path: `<target>/<profile>/deps/<test>-<hash>`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executables live in <target>/<profile>/deps")
        .to_path_buf()
}

/// Builds every binary of `package` and returns a directory that holds copies
/// of exactly that package's binaries, so that `dir/lesson_03` is this
/// package's `lesson_03` and no other's. Once per package and test process.
pub fn lesson_binaries(package: &str) -> PathBuf {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let root = profile_dir().join("lesson-bins");
    let dest = root.join(package);
    // Held through the build: a second thread asking for the same package
    // waits for the first one's copies. A failed build poisons it; the next
    // caller builds again and fails with the same message.
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if built.contains(package) {
        return dest;
    }
    fs::create_dir_all(&dest).expect("creating the lesson-bins directory");

    // One build-and-copy at a time, across threads and processes (the lock is
    // taken on the open file, so test runners that use one process per test
    // are serialised too). Without it another package's build could replace
    // `target/debug/lesson_03` between our build and our copy.
    let lock = File::create(root.join(".lock")).expect("creating the lock file");
    lock.lock().expect("locking lesson-bins");

    // Cargo gives a running test its package's variables (`CARGO_PKG_NAME`,
    // `CARGO_MANIFEST_DIR`, …). Some build scripts (ring's, under reqwest)
    // ask to be rerun when one of them changes: a cargo started with them
    // would rebuild those crates in place, under the file names the test
    // build uses, and the next `cargo test` would rebuild them back.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    const PER_CRATE: [&str; 3] = [
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
    ];
    let mut command = Command::new(cargo);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("CARGO_PKG_")
            || text.starts_with("CARGO_MANIFEST_")
            || PER_CRATE.contains(&&*text)
        {
            command.env_remove(&name);
        }
    }
    let output = command
        .current_dir(workspace_root())
        .args(["build", "--quiet", "--message-format=json"])
        .args(["--profile", "test", "--workspace", "--no-default-features"])
        .args(["--features", &format!("{package}/default")])
        .args(["--bins", "--test", "lessons"])
        .stderr(Stdio::piped())
        .output()
        .expect("running cargo build");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("warning"),
        "building {package}'s lessons failed or warned:\n{stderr}"
    );

    for line in output.stdout.lines() {
        let line = line.expect("cargo's output is UTF-8");
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        // rustc's warnings come here, as JSON on stdout, not on stderr.
        if message["reason"] == "compiler-message" {
            panic!(
                "building {package}'s lessons: {}",
                message["message"]["rendered"]
                    .as_str()
                    .unwrap_or("a compiler message")
            );
        }
        let is_bin = message["reason"] == "compiler-artifact"
            && message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        let Some(executable) = message["executable"].as_str().filter(|_| is_bin) else {
            continue;
        };
        let executable = Path::new(executable);
        let name = executable
            .file_name()
            .expect("an executable has a file name");
        // Copy to a temporary name, then rename: a reader never sees half a file.
        let partial = dest.join(format!(".{}.partial", name.to_string_lossy()));
        fs::copy(executable, &partial)
            .unwrap_or_else(|e| panic!("copying {}: {e}", executable.display()));
        fs::rename(&partial, dest.join(name)).expect("renaming the copied binary");
    }
    drop(lock); // unlocks
    built.insert(package.to_owned());
    dest
}

/// Runs `dir/bin` with `args` and returns its output, failing the test if it
/// does not exit within `limit` (the process is killed first).
pub fn run_lesson(dir: &Path, bin: &str, args: &[&str], limit: Duration) -> Output {
    spawn_lesson(dir, bin, args).wait(limit)
}

/// Starts `dir/bin` with `args`, its output captured from the start.
pub fn spawn_lesson(dir: &Path, bin: &str, args: &[&str]) -> Lesson {
    Lesson::start(dir, bin, args, None)
}

/// Starts `dir/bin` with `args` and closes its standard output as soon as a
/// line starting with `marker` has been read (or at once if `marker` is
/// empty), as `| head` does: every later write of the lesson's fails with a
/// broken pipe.
pub fn spawn_lesson_closing_stdout(dir: &Path, bin: &str, args: &[&str], marker: &str) -> Lesson {
    Lesson::start(dir, bin, args, Some(marker.to_owned()))
}

/// A running lesson process. Its pipes are read on their own threads from the
/// moment it starts, so a chatty child never blocks on a full pipe; its time
/// limit counts from its start. Dropping it kills and reaps the process, so
/// no path (a failed assertion, a panic elsewhere) leaves a child running.
pub struct Lesson {
    child: Child,
    what: String,
    started: Instant,
    stdout: Option<thread::JoinHandle<Vec<u8>>>,
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
}

impl Lesson {
    fn start(dir: &Path, bin: &str, args: &[&str], close_after: Option<String>) -> Self {
        let path = dir.join(bin);
        let mut child = Command::new(&path)
            .args(args)
            // No backtrace for the panics a run is expected to have (the
            // broken pipe of a closed-stdout run, the panics lessons
            // demonstrate): with `RUST_BACKTRACE=1` inherited, each one is
            // symbolised. The closed-stdout runs of modules 1, 3 and 5 took
            // 11.7 s of CPU with it, 1.2 s without. A panic's message and
            // location still show.
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", path.display()));
        let started = Instant::now();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stdout = match close_after {
            None => thread::spawn(move || read_all(stdout)),
            Some(marker) => thread::spawn(move || read_until_line(stdout, &marker)),
        };
        Self {
            child,
            what: format!("{bin} {}", args.join(" ")).trim_end().to_owned(),
            started,
            stdout: Some(stdout),
            stderr: Some(thread::spawn(move || read_all(stderr))),
        }
    }

    /// Waits for the process and collects its output; kills it and fails the
    /// test if it is still running `limit` after it started.
    pub fn wait(mut self, limit: Duration) -> Output {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the lesson") {
                break status;
            }
            if self.started.elapsed() > limit {
                // `Drop` kills and reaps it.
                panic!("{} did not exit within {limit:?}; killed", self.what);
            }
            thread::sleep(Duration::from_millis(20));
        };
        let join = |reader: Option<thread::JoinHandle<Vec<u8>>>| {
            reader
                .expect("read once")
                .join()
                .expect("a pipe reader panicked")
        };
        Output {
            status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

impl Drop for Lesson {
    fn drop(&mut self) {
        // Both fail harmlessly if the process has already been reaped. The
        // reader threads end when the pipes close; they are not joined here,
        // so a grandchild that inherited a pipe cannot hang the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_all(mut source: impl Read) -> Vec<u8> {
    let mut buffer = Vec::new();
    source.read_to_end(&mut buffer).expect("reading a pipe");
    buffer
}

/// Reads lines until one starts with `marker`, then drops `source`, which
/// closes the read end of the pipe.
fn read_until_line(source: impl Read, marker: &str) -> Vec<u8> {
    let mut reader = BufReader::new(source);
    let mut buffer = Vec::new();
    while !marker.is_empty() {
        let before = buffer.len();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(_) if buffer[before..].starts_with(marker.as_bytes()) => break,
            Ok(_) => {}
        }
    }
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_returns_the_value() {
        assert_eq!(deadline(Duration::from_secs(5), || 6 * 7), 42);
    }

    #[test]
    #[should_panic(expected = "within its deadline")]
    fn deadline_fails_a_body_that_hangs() {
        deadline(Duration::from_millis(50), || {
            thread::sleep(Duration::from_secs(2));
        });
    }

    #[test]
    #[should_panic(expected = "inner assertion")]
    fn deadline_passes_on_the_body_panic() {
        deadline(Duration::from_secs(5), || panic!("inner assertion"));
    }

    fn shell(script: &str) -> Lesson {
        spawn_lesson(Path::new("/bin"), "sh", &["-c", script])
    }

    #[test]
    fn a_chatty_child_is_drained_while_it_runs() {
        // 1 MiB on each pipe: far more than a pipe holds.
        let output = shell("head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2")
            .wait(Duration::from_secs(60));
        assert!(output.status.success());
        assert_eq!(
            (output.stdout.len(), output.stderr.len()),
            (1 << 20, 1 << 20)
        );
    }

    #[test]
    #[should_panic(expected = "did not exit within")]
    fn the_limit_counts_from_the_start() {
        // Alive for 1.4 s, waited for from 1 s on with a 0.5 s limit: over
        // the limit counted from its start, within it counted from the wait.
        let child = shell("sleep 1.4");
        thread::sleep(Duration::from_secs(1));
        child.wait(Duration::from_millis(500));
    }

    #[test]
    fn dropping_a_lesson_kills_and_reaps_it() {
        let child = shell("sleep 30");
        let pid = child.child.id();
        drop(child);
        // Reaped: not even a zombie is left under this pid.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn stdout_closes_after_the_marker() {
        // `yes` writes forever until its stdout is closed.
        let child = spawn_lesson_closing_stdout(
            Path::new("/bin"),
            "sh",
            &["-c", "echo title; echo '== step: x'; yes"],
            "== step",
        );
        let output = child.wait(Duration::from_secs(30));
        assert_eq!(output.stdout, b"title\n== step: x\n");
        assert!(
            !output.status.success(),
            "yes was stopped by the closed pipe"
        );
    }

    #[test]
    fn the_workspace_has_modules_with_lessons() {
        let modules = module_packages();
        assert!(modules.contains(&"module_01".to_owned()), "{modules:?}");
        assert!(lesson_names("module_01").contains(&"lesson_03".to_owned()));
    }
}
