//! Tidy checks: the project's habits, as a plain test so `cargo test` is the single gate.

use std::path::{Path, PathBuf};
use std::process::Command;

use hpo_tests::workspace_root;

fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("crates"))
        .expect("crates/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_crate_opens_with_a_doc_comment_and_uses_workspace_lints() {
    let root = workspace_root();
    for name in crates() {
        let dir = root.join("crates").join(&name);
        let top = if dir.join("src/lib.rs").exists() {
            dir.join("src/lib.rs")
        } else {
            dir.join("src/main.rs")
        };
        let text = std::fs::read_to_string(&top).expect("top file");
        assert!(text.starts_with("//!"), "{} must open with a //! doc comment", top.display());
        assert!(
            text.lines().take_while(|l| l.starts_with("//!")).count() >= 3,
            "{}: the top doc comment should say what the crate is and is not",
            top.display()
        );
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest");
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{name}: add [lints] workspace = true"
        );
    }
}

#[test]
fn architecture_doc_names_every_crate() {
    let doc = std::fs::read_to_string(workspace_root().join("docs/architecture.md"))
        .expect("docs/architecture.md");
    for name in crates() {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/architecture.md does not describe `{name}`"
        );
    }
}

#[test]
fn readme_opens_with_the_two_commands_and_ci_runs_the_test_command() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let head: String = readme.lines().take(30).collect::<Vec<_>>().join("\n");
    assert!(head.contains("cargo xtask study"), "README must open with the main-job command");
    let test_cmd = "cargo test --workspace --all-targets && cargo test --workspace --doc";
    assert!(head.contains(test_cmd), "README must open with the test command");
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    assert!(ci.contains(test_cmd), ".ci/run must run the README's test command");
}

/// Every file of the working tree, build output and hidden folders (`.git`) left out.
fn tree_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') && !name.starts_with("target") {
                tree_files(&p, out);
            }
        } else {
            out.push(p);
        }
    }
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    tree_files(&workspace_root(), &mut files);
    files
}

/// The files a commit could take: tracked ones and untracked ones that `.gitignore` does not
/// exclude (so a study in the ignored `runs/` does not count); the whole tree without git.
fn committable_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output();
    match listed {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
            .filter(|p| p.is_file())
            .collect(),
        _ => all_files(),
    }
}

#[test]
fn no_pending_snapshots() {
    let pending: Vec<String> = all_files()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.ends_with(".snap.new") || name.ends_with(".pending-snap")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(pending.is_empty(), "review these snapshots: {pending:?}");
}

#[test]
fn code_is_formatted() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["fmt", "--all", "--", "--check"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo fmt");
    assert!(
        out.status.success(),
        "cargo fmt --all -- --check failed: run `cargo fmt --all`\n{}",
        String::from_utf8_lossy(&out.stdout).lines().take(20).collect::<Vec<_>>().join("\n")
    );
}

/// Results are small files (CSV, JSON, PNG, pages); checkpoints and anything over 512 KiB stay
/// outside the repository.
#[test]
fn no_file_is_over_512_kib_and_no_checkpoint_is_kept() {
    let big: Vec<String> = committable_files()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let checkpoint = name.ends_with(".bin") || name == "trainer_state.json";
            checkpoint || std::fs::metadata(p).is_ok_and(|m| m.len() > 512 * 1024)
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        big.is_empty(),
        "keep these out of the repository (checkpoint or over 512 KiB): {big:?}"
    );
}

/// Whether `line` holds a clock time such as `22:30 UTC`: the mark of a dated log.
fn has_clock_time(line: &str) -> bool {
    let b = line.as_bytes();
    (0..b.len().saturating_sub(8)).any(|i| {
        let d = |j: usize| b[i + j].is_ascii_digit();
        d(0) && d(1) && b[i + 2] == b':' && d(3) && d(4) && line[i + 5..].starts_with(" UTC")
    })
}

#[test]
fn clock_times_are_recognised() {
    assert!(has_clock_time("from 22:30 UTC 69-142 s"));
    assert!(has_clock_time("at 01:42 UTC"));
    assert!(!has_clock_time("ratio 22:30 of the grid"));
    assert!(!has_clock_time("UTC"));
}

/// Docs state what is true now; measurements are data files, not dated logs in prose.
#[test]
fn docs_are_not_dated_logs() {
    let root = workspace_root();
    let mut pages = vec![root.join("README.md")];
    pages.extend(
        std::fs::read_dir(root.join("docs"))
            .expect("docs/")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md")),
    );
    let mut found = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("page");
        for (n, line) in text.lines().enumerate() {
            if has_clock_time(line) {
                found.push(format!("{}:{}", page.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a dated log in the docs (move the figures to a data file): {found:?}"
    );
}
