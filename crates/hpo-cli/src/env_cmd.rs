//! `hpo env_cmd` (being built by its issue).

/// Arguments.
#[derive(Debug, clap::Subcommand)]
pub enum EnvCommand {
    /// (being built)
    Todo,
}

/// Run the command.
pub fn run(_args: EnvCommand) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
