//! Where lesson 7.2's downloads land: a file name taken from an untrusted
//! URL, made safe to create inside the output directory.
//!
//! This is the file-system half of saving a download; the lesson file keeps
//! the concurrent half (workers, a channel of results, temporary files
//! renamed when complete). `hostile_names` in lesson 7.2 shows these
//! functions at work.

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

/// The longest file name most file systems take: 255 bytes (`NAME_MAX` on
/// Linux's ext4, XFS, btrfs and tmpfs: `getconf NAME_MAX /tmp`), 255 UTF-16
/// units on NTFS. A character never takes more UTF-16 units than UTF-8
/// bytes, so one cap in bytes serves both. Capping at 120 *characters* is
/// not enough: 120 CJK characters are 360 bytes.
pub const NAME_MAX: usize = 255;
/// Lesson 7.2's `persist_unique` numbers a clashing name `-1` … `-999`.
pub const MAX_CLASHES: usize = 1000;
/// The longest name `sanitise` returns, so the name with its `-N` still fits.
/// The temporary file needs no room here: its name (`.partial-` and six
/// random characters) does not depend on the final one.
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
        for (raw, expected) in [
            ("../../x", "x"),
            ("/etc/passwd", "passwd"),
            ("../..", FALLBACK_NAME),
            ("..\\..\\boot.ini", "boot.ini"),
            (".bashrc", "bashrc"),
            ("report; rm -rf ~.pdf", "report__rm_-rf__.pdf"),
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
}
