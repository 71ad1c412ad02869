//! Tidy checks: the project's habits, as a plain test so `cargo test` is the single gate.

use std::path::Path;
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

fn find_pending(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') && !name.starts_with("target") {
                find_pending(&p, out);
            }
        } else if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            out.push(p.display().to_string());
        }
    }
}

#[test]
fn no_pending_snapshots() {
    let mut pending = Vec::new();
    find_pending(&workspace_root(), &mut pending);
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
