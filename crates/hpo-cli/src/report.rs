//! `hpo report DIR [--out DIR/report]`: plots, an HTML page and a summary of a study folder,
//! finished or still running. The work is hpo-report's; this module parses the arguments, prints
//! the summary and the files written, and turns a folder that is not a study into exit code 2.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::InputError;

/// Arguments of `hpo report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The study folder (with journal.jsonl and/or predator_final.csv).
    pub dir: PathBuf,
    /// Where to write curves.png, curves.svg, params.png, timeline.png and index.html
    /// [default: DIR/report].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run the command: write the report and print the summary.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("report"));
    let report = match hpo_report::report(&args.dir, &out) {
        Ok(r) => r,
        Err(e) if e.is_input_error() => return Err(InputError(e.to_string()).into()),
        Err(e) => {
            return Err(e).with_context(|| format!("writing the report of {}", args.dir.display()));
        }
    };
    let mut text = format!("{}\nreport written to {}:\n", report.summary, out.display());
    for f in &report.files {
        text.push_str(&format!("  {}\n", f.display()));
    }
    crate::out(&text)
}
