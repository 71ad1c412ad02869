//! `hpo-tests`: the workspace's cross-crate tests (tidy checks, end-to-end studies). It has no
//! library code of its own; the tests live in `tests/tests/`.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}
