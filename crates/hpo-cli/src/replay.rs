//! `hpo replay` (being built by its issue).

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {}

/// Run the command.
pub fn run(_args: ReplayArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
