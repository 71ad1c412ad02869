//! The study's CSV files, views of the journal written at the same moment: `predator_final.csv`
//! (one row the moment a trial ends), `predator_100_hits.csv` (one row the first time a trial's
//! score reaches the hit threshold) and each trial's `progress.csv` (every metric of every
//! iteration). Each row is flushed as it is written, so rows survive a crash of the study.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use hpo_core::StopReason;
use hpo_sampler::ParamValue;

/// Errors of the CSV files.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The CSV layer failed (a malformed existing file).
    #[error("{path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

/// Format a float as the reference files do: `nan` when unknown.
pub fn fmt_f64(x: f64) -> String {
    if x.is_nan() { "nan".to_string() } else { format!("{x}") }
}

/// A parameter value as CSV text (`nan` / `-1` when unknown are the caller's choice).
pub fn fmt_param(v: &ParamValue) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// An append-only CSV file with a fixed header, written when the file is new or empty.
#[derive(Debug)]
pub struct CsvAppender {
    path: PathBuf,
    header: Vec<String>,
    writer: csv::Writer<File>,
}

impl CsvAppender {
    /// Open `path` for appending. A new or empty file gets `header`; an existing file keeps its
    /// own header, and rows are laid out by it (so a resumed study appends aligned rows).
    pub fn open(path: &Path, header: Vec<String>) -> Result<Self, CsvError> {
        let io = |source| CsvError::Io { path: path.to_path_buf(), source };
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
        let is_new = file.metadata().map_err(io)?.len() == 0;
        let header = if is_new {
            header
        } else {
            let mut reader = csv::Reader::from_path(path)
                .map_err(|e| CsvError::Csv { path: path.to_path_buf(), message: e.to_string() })?;
            let existing = reader
                .headers()
                .map_err(|e| CsvError::Csv { path: path.to_path_buf(), message: e.to_string() })?;
            existing.iter().map(String::from).collect()
        };
        Self::with_file(path, file, header, is_new)
    }

    /// Create `path` anew (emptying it) with `header`.
    pub fn create(path: &Path, header: Vec<String>) -> Result<Self, CsvError> {
        let io = |source| CsvError::Io { path: path.to_path_buf(), source };
        let file = File::create(path).map_err(io)?;
        Self::with_file(path, file, header, true)
    }

    fn with_file(
        path: &Path,
        file: File,
        header: Vec<String>,
        write_header: bool,
    ) -> Result<Self, CsvError> {
        let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(file);
        if write_header {
            writer
                .write_record(&header)
                .map_err(|e| CsvError::Csv { path: path.to_path_buf(), message: e.to_string() })?;
            writer.flush().map_err(|source| CsvError::Io { path: path.to_path_buf(), source })?;
        }
        Ok(CsvAppender { path: path.to_path_buf(), header, writer })
    }

    fn csv_err(&self, e: csv::Error) -> CsvError {
        CsvError::Csv { path: self.path.clone(), message: e.to_string() }
    }

    /// The header.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Append one row (as many fields as the header) and flush it.
    pub fn append(&mut self, row: &[String]) -> Result<(), CsvError> {
        self.writer.write_record(row).map_err(|e| self.csv_err(e))?;
        self.writer.flush().map_err(|source| CsvError::Io { path: self.path.clone(), source })
    }
}

/// Read every row of a CSV file with a header, as maps column -> text.
pub fn read_rows(path: &Path) -> Result<Vec<BTreeMap<String, String>>, CsvError> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| CsvError::Csv { path: path.to_path_buf(), message: e.to_string() })?;
    let header = reader
        .headers()
        .map_err(|e| CsvError::Csv { path: path.to_path_buf(), message: e.to_string() })?
        .clone();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec =
            rec.map_err(|e| CsvError::Csv { path: path.to_path_buf(), message: e.to_string() })?;
        rows.push(header.iter().map(String::from).zip(rec.iter().map(String::from)).collect());
    }
    Ok(rows)
}

/// The parameters of a trial in the order of `names`, as CSV text (`nan` for one it lacks).
pub fn params_record(names: &[String], params: &BTreeMap<String, ParamValue>) -> Vec<String> {
    names.iter().map(|n| params.get(n).map_or("nan".to_string(), fmt_param)).collect()
}

/// A row of `predator_final.csv`, written the moment a trial ends. Its columns are the
/// reference's, with the study's metric and parameters in place of `score_pred, lr, num_epochs`.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalRow {
    /// `trial_0003`.
    pub trial_name: String,
    /// The last iteration reported (-1: none).
    pub iteration: i64,
    /// `iteration / max_iters` (`None`: no iteration cap, written `nan`).
    pub progress_ratio: Option<f64>,
    /// The last value of the metric (NaN: none).
    pub value: f64,
    /// The parameters, in the order of the header ([`params_record`]).
    pub params: Vec<String>,
    /// Why the trial ended.
    pub stop_reason: StopReason,
    /// ASHA's rung index of the trial (-1: below the first rung).
    pub rung_index: i64,
    /// The rung milestone at which ASHA stopped it (only for `asha_early_stop`).
    pub rung_pruned_at: Option<f64>,
}

impl FinalRow {
    /// The header: `trial_name, iteration, progress_ratio, <metric>, <params...>, stop_reason,
    /// rung_index, rung_pruned_at, asha_pruned`.
    pub fn header(metric: &str, params: &[String]) -> Vec<String> {
        let mut h = vec![
            "trial_name".to_string(),
            "iteration".into(),
            "progress_ratio".into(),
            metric.into(),
        ];
        h.extend(params.iter().cloned());
        h.extend(["stop_reason", "rung_index", "rung_pruned_at", "asha_pruned"].map(String::from));
        h
    }

    /// The row's fields, in the header's order.
    pub fn record(&self) -> Vec<String> {
        let mut row = vec![
            self.trial_name.clone(),
            self.iteration.to_string(),
            self.progress_ratio.map_or("nan".to_string(), |p| format!("{p:.6}")),
            fmt_f64(self.value),
        ];
        row.extend(self.params.iter().cloned());
        let asha = self.stop_reason == StopReason::AshaEarlyStop;
        row.extend([
            self.stop_reason.as_str().to_string(),
            self.rung_index.to_string(),
            self.rung_pruned_at.filter(|_| asha).map_or(String::new(), fmt_f64),
            u8::from(asha).to_string(),
        ]);
        row
    }
}

/// A row of `predator_100_hits.csv`, written the first time a trial's metric reaches the hit
/// threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct HitRow {
    /// `trial_0003`.
    pub trial_name: String,
    /// The iteration of the hit.
    pub iteration: u64,
    /// The metric's value then.
    pub value: f64,
    /// The parameters, in the order of the header ([`params_record`]).
    pub params: Vec<String>,
}

impl HitRow {
    /// The header: `trial_name, iteration, <metric>, <params...>`.
    pub fn header(metric: &str, params: &[String]) -> Vec<String> {
        let mut h = vec!["trial_name".to_string(), "iteration".into(), metric.into()];
        h.extend(params.iter().cloned());
        h
    }

    /// The row's fields, in the header's order.
    pub fn record(&self) -> Vec<String> {
        let mut row =
            vec![self.trial_name.clone(), self.iteration.to_string(), fmt_f64(self.value)];
        row.extend(self.params.iter().cloned());
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_once_and_rows_flushed() {
        let dir = std::env::temp_dir().join(format!("hpo-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("f.csv");
        let _ = std::fs::remove_file(&path);
        let header = FinalRow::header("score_pred", &["lr".into(), "num_epochs".into()]);
        assert_eq!(
            header.join(","),
            "trial_name,iteration,progress_ratio,score_pred,lr,num_epochs,stop_reason,rung_index,rung_pruned_at,asha_pruned"
        );
        let row = |name: &str, reason: StopReason| -> Vec<String> {
            FinalRow {
                trial_name: name.into(),
                iteration: 3,
                progress_ratio: Some(0.003),
                value: 0.5,
                params: vec!["0.0001".into(), "22".into()],
                stop_reason: reason,
                rung_index: -1,
                rung_pruned_at: Some(40.0),
            }
            .record()
        };
        assert_eq!(
            row("trial_0000", StopReason::Plateau).join(","),
            "trial_0000,3,0.003000,0.5,0.0001,22,plateau,-1,,0"
        );
        assert_eq!(
            row("trial_0000", StopReason::AshaEarlyStop).join(","),
            "trial_0000,3,0.003000,0.5,0.0001,22,asha_early_stop,-1,40,1"
        );
        let mut a = CsvAppender::open(&path, header.clone()).expect("open");
        a.append(&row("trial_0000", StopReason::Plateau)).expect("row");
        // The row is on disk before the writer is dropped.
        assert_eq!(std::fs::read_to_string(&path).expect("read").lines().count(), 2);
        drop(a);
        let mut a = CsvAppender::open(&path, header).expect("reopen");
        a.append(&row("trial_0001", StopReason::Interrupted)).expect("row");
        let rows = read_rows(&path).expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["stop_reason"], "interrupted");
    }

    #[test]
    fn an_empty_file_gets_the_typed_header_and_create_starts_over() {
        let dir = std::env::temp_dir().join(format!("hpo-csv-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("progress.csv");
        // What a full disk leaves: a file of 0 bytes.
        std::fs::write(&path, "").expect("empty");
        let header = vec!["iteration".to_string(), "score_pred".to_string()];
        let mut a = CsvAppender::open(&path, header.clone()).expect("open");
        a.append(&["1".to_string(), "0.5".to_string()]).expect("row");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "iteration,score_pred\n1,0.5\n");
        drop(a);
        let a = CsvAppender::create(&path, header).expect("create");
        drop(a);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "iteration,score_pred\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
