//! `hpo study` (being built by its issue).

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct StudyArgs {}

/// Run the command.
pub fn run(_args: StudyArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
