//! `hpo-tests`: the workspace's cross-crate tests (tidy checks, end-to-end studies). Its library
//! is only what tests of several crates share (paths, config text); the tests live in
//! `tests/tests/`, and `hpo`'s own in `crates/hpo-cli/tests/`.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// The study's search space as config text: `lr` log-uniform in 9e-5..1.3e-4, `num_epochs`
/// 22..30 in steps of 2 (the reference study's).
pub const REFERENCE_SPACE: &str = r#"[space.lr]
type = "float"
low = 9e-5
high = 1.3e-4
log = true

[space.num_epochs]
type = "int"
low = 22
high = 30
step = 2
"#;
