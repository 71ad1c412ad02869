//! hpo-report: plots, tables and a text summary of a study folder.
//!
//! It reads what a study leaves on disk (`config.toml` as a generic TOML value, `journal.jsonl`
//! with its own lenient event types, `predator_final.csv`, `predator_100_hits.csv`,
//! `trials/<name>/progress.csv`) and writes `curves.png`/`curves.svg`, `params.png`,
//! `timeline.png` and a self-contained `index.html`, and returns the summary as text.
//!
//! It is *not* part of running a study: it knows nothing of threads, training, samplers,
//! schedulers or the runner's types (it reads the files, so it survives the runner's changes), and
//! it prints nothing; the `hpo report` command prints what it returns. A study still running, a
//! journal whose last line a crash cut, or a study with no trial yet gives a partial report with
//! notes, never a panic; a folder that is not a study is [`ReportError::NotAStudy`].
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("hpo-report-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(
//!     dir.join("journal.jsonl"),
//!     concat!(
//!         r#"{"event":"study_started","ts":0.0,"seed":0,"num_samples":1,"max_concurrent":1,"groups":[[0]],"resumed":false}"#, "\n",
//!         r#"{"event":"trial_started","ts":0.0,"trial":0,"name":"trial_0000","params":{"lr":0.0001},"seed":1,"group":0,"resumed_after":0}"#, "\n",
//!         r#"{"event":"result","ts":1.0,"trial":0,"iteration":1,"metrics":{"score_pred":0.5},"decision":"stop","reason":"plateau"}"#, "\n",
//!         r#"{"event":"trial_finished","ts":1.0,"trial":0,"iteration":1,"value":0.5,"reason":"plateau"}"#, "\n",
//!     ),
//! ).unwrap();
//! let study = hpo_report::load_study(&dir).unwrap();
//! let summary = hpo_report::summarize(&study);
//! assert_eq!(summary.ended, 1);
//! assert!(summary.to_text().contains("plateau"));
//! // `hpo_report::report(&dir, &dir.join("report"))` would also write the plots and the page.
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::path::{Path, PathBuf};

mod html;
mod plots;
mod study;
mod summary;

pub use html::render_html;
pub use plots::{
    CURVES_SIZE, PARAMS_SIZE, Plot, TIMELINE_SIZE, reason_color, render_png, render_svg,
    score_color,
};
#[doc(hidden)]
pub use plots::{CurvesYRange, ThresholdMark, curves_y_range};
pub use study::{
    AshaConfig, CONFIG_FILE, CsvTable, FINAL_CSV_FILE, HITS_CSV_FILE, JOURNAL_FILE, Mode,
    ParamKind, ParamSpec, Run, Segment, Study, StudyConfig, StudyState, Trial, TrialStatus,
    load_study,
};
pub use summary::{
    BestTrial, ReasonRow, Savings, Summary, fmt_duration, fmt_num, fmt_param, summarize,
};

/// Errors of reading a study folder or writing its report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder is not a study (the user's input is wrong).
    #[error(
        "{path} is not a study folder: {reason} (give the folder a study wrote, with journal.jsonl or predator_final.csv)"
    )]
    NotAStudy {
        /// The folder given.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A plot could not be drawn or encoded.
    #[error("drawing {file} failed: {message}")]
    Plot {
        /// The plot's file name.
        file: String,
        /// The cause.
        message: String,
    },
}

impl ReportError {
    /// True when the error is the user's input (a folder that is not a study), not a failure.
    pub fn is_input_error(&self) -> bool {
        matches!(self, ReportError::NotAStudy { .. })
    }
}

/// What [`report`] wrote.
#[derive(Debug, Clone)]
pub struct Report {
    /// The summary as text (what `hpo report` prints).
    pub summary: String,
    /// The files written, in order: `curves.png`, `curves.svg`, `params.png`, `timeline.png`,
    /// `index.html`.
    pub files: Vec<PathBuf>,
    /// The notes on what was missing or skipped (also at the end of `summary`).
    pub notes: Vec<String>,
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    std::fs::write(path, bytes)
        .map_err(|source| ReportError::Io { path: path.to_path_buf(), source })
}

/// Write the report of an already read `study` into `out_dir` (created if needed).
pub fn write_report(study: &Study, out_dir: &Path) -> Result<Report, ReportError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|source| ReportError::Io { path: out_dir.to_path_buf(), source })?;
    let summary = summarize(study);
    let mut files = Vec::new();
    let mut pngs = Vec::new();
    for plot in Plot::ALL {
        let png = render_png(plot, study)?;
        let path = out_dir.join(format!("{}.png", plot.stem()));
        write_file(&path, &png)?;
        files.push(path);
        if plot == Plot::Curves {
            let svg = render_svg(plot, study)?;
            let path = out_dir.join("curves.svg");
            write_file(&path, svg.as_bytes())?;
            files.push(path);
        }
        pngs.push((plot, png));
    }
    let page = render_html(study, &summary, &pngs);
    let path = out_dir.join("index.html");
    write_file(&path, page.as_bytes())?;
    files.push(path);
    Ok(Report { summary: summary.to_text(), files, notes: summary.notes })
}

/// Read the study folder `study_dir` and write its report into `out_dir`.
pub fn report(study_dir: &Path, out_dir: &Path) -> Result<Report, ReportError> {
    let study = load_study(study_dir)?;
    write_report(&study, out_dir)
}
