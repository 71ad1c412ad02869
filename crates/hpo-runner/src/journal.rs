//! The study journal: one JSON object per line (`journal.jsonl`), appended and flushed as each
//! event happens. It is the study's source of truth: the CSV files are views written at the same
//! moment, reports read it, and `--resume` rebuilds the study from it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hpo_sampler::ParamValue;
use serde::{Deserialize, Serialize};

use crate::pipeline::StopReason;

/// One line of the journal. `ts` is the wall time in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalEvent {
    /// A study started (or resumed: `resumed` is true).
    StudyStarted {
        /// Wall time.
        ts: f64,
        /// The study seed.
        seed: u64,
        /// Number of trials the study runs.
        num_samples: u64,
        /// Trials at once.
        max_concurrent: usize,
        /// The core groups planned.
        groups: Vec<Vec<usize>>,
        /// A resume of an earlier run.
        resumed: bool,
    },
    /// A trial started on a core group.
    TrialStarted {
        /// Wall time.
        ts: f64,
        /// Trial number.
        trial: u64,
        /// Trial name (`trial_0003`).
        name: String,
        /// Its parameters.
        params: BTreeMap<String, ParamValue>,
        /// Its seed.
        seed: u64,
        /// Index of its core group (a lane of the timeline).
        group: usize,
        /// The iteration it resumed after (0 for a fresh start).
        resumed_after: u64,
    },
    /// One iteration's report and the decision taken on it.
    Result {
        /// Wall time.
        ts: f64,
        /// Trial number.
        trial: u64,
        /// Iteration (1-based).
        iteration: u64,
        /// Every metric of the iteration (non-finite values by the float rule of `hpo_core`).
        #[serde(with = "hpo_core::float::map")]
        metrics: BTreeMap<String, f64>,
        /// `continue` or `stop`.
        decision: String,
        /// The stop reason, if stopped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<StopReason>,
    },
    /// A trial saved a checkpoint it can resume from.
    Checkpoint {
        /// Wall time.
        ts: f64,
        /// Trial number.
        trial: u64,
        /// The iteration saved.
        iteration: u64,
    },
    /// A trial ended; the final CSV row was written.
    TrialFinished {
        /// Wall time.
        ts: f64,
        /// Trial number.
        trial: u64,
        /// Its last iteration (-1 if none).
        iteration: i64,
        /// Its last metric value (NaN if none).
        #[serde(with = "hpo_core::float")]
        value: f64,
        /// Why it ended.
        reason: StopReason,
        /// The error, for `error`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The study ended (all trials done, or interrupted).
    StudyFinished {
        /// Wall time.
        ts: f64,
        /// The user stopped it.
        interrupted: bool,
    },
}

/// Errors of reading or writing the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The journal's path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line that is not a journal event (not the last one, which may be cut by a crash).
    #[error(
        "{path} line {line} is not a journal event ({message}): the journal is damaged there; restore the line, or remove it and the lines after it to resume the study from before it"
    )]
    Parse {
        /// The journal's path.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
}

/// What reading a journal found.
#[derive(Debug, Default)]
pub struct JournalRead {
    /// The events, in order.
    pub events: Vec<JournalEvent>,
    /// A last line cut by a crash (the text), skipped.
    pub truncated_tail: Option<String>,
    /// Bytes of the file up to the end of its last whole event (what [`truncate`] keeps).
    pub valid_len: u64,
}

/// Read a journal. A last line that does not parse (a study killed mid-write) is reported in
/// `truncated_tail` rather than failing; a bad line elsewhere is an error.
pub fn read(path: &Path) -> Result<JournalRead, JournalError> {
    let io = |source| JournalError::Io { path: path.to_path_buf(), source };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut lines: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut offset = 0u64;
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line).map_err(io)?;
        if n == 0 {
            break;
        }
        offset += n as u64;
        lines.push((line, offset));
    }
    let mut out = JournalRead::default();
    // The last line that holds anything: only it may be cut by a crash.
    let last = lines.iter().rposition(|(l, _)| !l.trim_ascii().is_empty());
    for (i, (line, end)) in lines.iter().enumerate() {
        if line.trim_ascii().is_empty() {
            if out.truncated_tail.is_none() {
                out.valid_len = *end;
            }
            continue;
        }
        let parsed = std::str::from_utf8(line).map_err(|e| e.to_string()).and_then(|text| {
            serde_json::from_str::<JournalEvent>(text).map_err(|e| {
                // One line is one document: its column is what tells where.
                let text = e.to_string();
                match text.rsplit_once(" at line ") {
                    Some((head, _)) => format!("{head}, at column {}", e.column()),
                    None => text,
                }
            })
        });
        match parsed {
            Ok(ev) => {
                out.events.push(ev);
                out.valid_len = *end;
            }
            Err(_) if Some(i) == last => {
                out.truncated_tail = Some(String::from_utf8_lossy(line).trim_end().to_string());
            }
            Err(message) => {
                return Err(JournalError::Parse { path: path.to_path_buf(), line: i + 1, message });
            }
        }
    }
    Ok(out)
}

/// Cut the journal back to `len` bytes (a [`JournalRead::valid_len`]): removes a last line that
/// a crash left cut, whether or not a newline followed it.
pub fn truncate(path: &Path, len: u64) -> Result<(), JournalError> {
    let io = |source| JournalError::Io { path: path.to_path_buf(), source };
    let file = OpenOptions::new().write(true).open(path).map_err(io)?;
    file.set_len(len).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Appends events to `journal.jsonl`, one flushed line each.
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    file: File,
}

impl JournalWriter {
    /// Open for appending (creating it). A cut last line left by a crash is removed first, so
    /// every line of the file stays a whole event.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io { path: path.to_path_buf(), source };
        let mut file =
            OpenOptions::new().create(true).read(true).append(true).open(path).map_err(io)?;
        let text = std::fs::read_to_string(path).map_err(io)?;
        if !text.is_empty() && !text.ends_with('\n') {
            let keep = text.rfind('\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(io)?;
            file.seek(SeekFrom::End(0)).map_err(io)?;
        }
        Ok(JournalWriter { path: path.to_path_buf(), file })
    }

    /// Append one event and flush it to the OS.
    pub fn append(&mut self, event: &JournalEvent) -> Result<(), JournalError> {
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        let mut line = serde_json::to_string(event).map_err(|e| io(std::io::Error::other(e)))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.flush().map_err(io)
    }
}

/// Wall time now, seconds since the Unix epoch.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_cut_tail() {
        let dir = std::env::temp_dir().join(format!("hpo-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let ev = JournalEvent::TrialFinished {
            ts: 1.0,
            trial: 2,
            iteration: -1,
            value: f64::NAN,
            reason: StopReason::Error,
            error: Some("boom".into()),
        };
        let mut w = JournalWriter::open(&path).expect("open");
        w.append(&ev).expect("append");
        drop(w);
        // A crash mid-write leaves half a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"event\":\"res"))
            .expect("cut");
        let r = read(&path).expect("read");
        assert_eq!(r.events.len(), 1);
        assert!(r.truncated_tail.is_some());
        // Reopening drops the cut line; the next event starts on its own line.
        let mut w = JournalWriter::open(&path).expect("reopen");
        w.append(&ev).expect("append");
        let r = read(&path).expect("read");
        assert_eq!(r.events.len(), 2);
        assert!(r.truncated_tail.is_none());
        assert_eq!(r.valid_len, std::fs::metadata(&path).expect("meta").len());
        match &r.events[0] {
            JournalEvent::TrialFinished { value, .. } => assert!(value.is_nan()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_cut_last_line_followed_by_a_newline_is_removed_by_truncate() {
        let dir = std::env::temp_dir().join(format!("hpo-journal-nl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let ev = JournalEvent::StudyFinished { ts: 1.0, interrupted: false };
        let mut w = JournalWriter::open(&path).expect("open");
        w.append(&ev).expect("append");
        drop(w);
        let good = std::fs::metadata(&path).expect("meta").len();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"event\":\"res\n\n"))
            .expect("cut");
        let r = read(&path).expect("read");
        assert_eq!(r.events.len(), 1);
        assert!(r.truncated_tail.is_some());
        assert_eq!(r.valid_len, good);
        truncate(&path, r.valid_len).expect("truncate");
        let mut w = JournalWriter::open(&path).expect("reopen");
        w.append(&ev).expect("append");
        w.append(&ev).expect("append");
        let r = read(&path).expect("read again");
        assert_eq!((r.events.len(), r.truncated_tail), (3, None));
        // Garbage in the middle is an error naming the line, not a silent skip.
        std::fs::write(&path, "{\"event\":\"study_finished\",\"ts\":1.0,\"interrupted\":false}\n\u{1}garbage\n{\"event\":\"study_finished\",\"ts\":1.0,\"interrupted\":false}\n").expect("write");
        let err = read(&path).expect_err("garbled middle line");
        assert!(err.to_string().contains("line 2 is not a journal event"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
