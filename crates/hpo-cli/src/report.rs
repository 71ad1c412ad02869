//! `hpo report` (being built by its issue).

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {}

/// Run the command.
pub fn run(_args: ReportArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
