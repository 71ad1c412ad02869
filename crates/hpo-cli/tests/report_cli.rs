//! `hpo report`: the fixture study reports (exit 0, summary on stdout, files written), a folder
//! that is not a study is exit 2 with a clear message, and a journal cut by a crash still reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hpo-report/tests/fixtures/fixture_study")
}

/// A fresh temp folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("hpo-report-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

fn hpo(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hpo")).arg("report").args(args).output().expect("run hpo")
}

#[test]
fn reports_the_fixture_study() {
    let tmp = TempDir::new("ok");
    let study = tmp.0.join("study");
    copy_dir(&fixture(), &study);
    let out = hpo(&[study.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("study finished"), "{stdout}");
    assert!(stdout.contains("early stopping:"), "{stdout}");
    assert!(stdout.contains("best trial:"), "{stdout}");
    for f in ["curves.png", "curves.svg", "params.png", "timeline.png", "index.html"] {
        let p = study.join("report").join(f);
        assert!(std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false), "{}", p.display());
        assert!(stdout.contains(f), "{stdout}");
    }
    // --out puts the files elsewhere.
    let other = tmp.0.join("elsewhere");
    let out = hpo(&[study.as_os_str(), "--out".as_ref(), other.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(other.join("index.html").is_file());
}

#[test]
fn a_folder_that_is_not_a_study_exits_2() {
    let tmp = TempDir::new("bad");
    std::fs::write(tmp.0.join("readme.txt"), "not a study").expect("write");
    let out = hpo(&[tmp.0.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("not a study folder"), "{stderr}");
    assert!(stderr.contains("journal.jsonl"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_cut_journal_still_reports() {
    let tmp = TempDir::new("cut");
    let study = tmp.0.join("study");
    copy_dir(&fixture(), &study);
    let journal = study.join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let keep: Vec<&str> = text.lines().take(text.lines().count() / 2).collect();
    std::fs::write(&journal, keep.join("\n") + "\n{\"event\":\"result\",\"ts\":1767").expect("cut");
    let out = hpo(&[study.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("study running"), "{stdout}");
    assert!(stdout.contains("last line"), "{stdout}");
    assert!(study.join("report/index.html").is_file());
}
