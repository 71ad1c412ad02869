//! `hpo-folder`: the schema of a study folder, the one place that says what a study writes and
//! how it is read back.
//!
//! - [`files`]: the file and folder names (`journal.jsonl`, `config.toml`, `predator_final.csv`,
//!   `predator_100_hits.csv`, `trials/<name>/progress.csv`, `study.lock`) and a trial's name.
//! - [`journal`]: the journal's event type ([`JournalEvent`], one JSON object per line), its
//!   appending writer, a strict reader for resuming (a damaged line other than a cut last one is
//!   an error naming the line; an event this version does not know is refused) and a lenient
//!   reader for reports (such lines become notes).
//! - [`views`]: the CSV views of the journal: their headers, each beside the typed row that fills
//!   it ([`views::FinalRow`], [`views::HitRow`]), an appender that flushes every row, and a reader.
//!
//! The runner writes a folder with it; the report and `hpo eval` read folders with it. It is not
//! the study: no decisions, no threads, no training; values that may be NaN or infinite follow
//! `hpo_core::float`.
#![warn(missing_docs)]

pub mod files;
pub mod journal;
pub mod views;

pub use journal::{JournalError, JournalEvent};
pub use views::CsvError;
