//! The study journal: one JSON object per line (`journal.jsonl`), appended and flushed as each
//! event happens. It is the study's source of truth: the CSV files are views written at the same
//! moment, reports read it, and `--resume` rebuilds the study from it.
//!
//! Fields that older journals lack have defaults, and unknown fields are ignored, so one event
//! type serves both readers: [`read`] (strict, for resuming) and [`read_lenient`] (for reports).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hpo_sampler::ParamValue;
use serde::{Deserialize, Serialize};

use hpo_core::StopReason;

/// One line of the journal. `ts` is the wall time in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalEvent {
    /// A study started (or resumed: `resumed` is true).
    StudyStarted {
        /// Wall time.
        ts: f64,
        /// The study seed.
        #[serde(default)]
        seed: u64,
        /// Number of trials the study runs (0: not recorded).
        #[serde(default)]
        num_samples: u64,
        /// Trials at once (0: not recorded).
        #[serde(default)]
        max_concurrent: usize,
        /// The core groups planned.
        #[serde(default)]
        groups: Vec<Vec<usize>>,
        /// A resume of an earlier run.
        #[serde(default)]
        resumed: bool,
    },
    /// A trial started on a core group.
    TrialStarted {
        /// Wall time.
        ts: f64,
        /// Trial number.
        trial: u64,
        /// Trial name (`trial_0003`; empty: not recorded, see [`crate::files::trial_name`]).
        #[serde(default)]
        name: String,
        /// Its parameters.
        #[serde(default)]
        params: BTreeMap<String, ParamValue>,
        /// Its seed.
        #[serde(default)]
        seed: u64,
        /// Index of its core group (a lane of the timeline).
        #[serde(default)]
        group: usize,
        /// The iteration it resumed after (0 for a fresh start).
        #[serde(default)]
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
        #[serde(default, with = "hpo_core::float::map")]
        metrics: BTreeMap<String, f64>,
        /// `continue` or `stop`.
        #[serde(default)]
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
        #[serde(default = "no_iteration")]
        iteration: i64,
        /// Its last metric value (NaN if none).
        #[serde(default = "no_value", with = "hpo_core::float")]
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
        #[serde(default)]
        interrupted: bool,
    },
    /// An event this version does not know (written by a newer one). The lenient reader keeps
    /// it so that a report can still use the rest; the strict reader refuses it.
    #[serde(other)]
    Other,
}

fn no_iteration() -> i64 {
    -1
}

fn no_value() -> f64 {
    f64::NAN
}

impl JournalEvent {
    /// The event's wall time (`None` for [`JournalEvent::Other`] or a time that is not finite).
    pub fn ts(&self) -> Option<f64> {
        let ts = match self {
            JournalEvent::StudyStarted { ts, .. }
            | JournalEvent::TrialStarted { ts, .. }
            | JournalEvent::Result { ts, .. }
            | JournalEvent::Checkpoint { ts, .. }
            | JournalEvent::TrialFinished { ts, .. }
            | JournalEvent::StudyFinished { ts, .. } => *ts,
            JournalEvent::Other => return None,
        };
        Some(ts).filter(|t| t.is_finite())
    }
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
        let parsed = parse_line(line);
        let parsed = parsed.and_then(|ev| match ev {
            JournalEvent::Other => Err(format!(
                "an event this version of hpo does not know ({}): resume it with the version that wrote it",
                event_name(line)
            )),
            ev => Ok(ev),
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

/// One line as an event, or why it is not one (the column of the fault, since one line is one
/// document).
fn parse_line(line: &[u8]) -> Result<JournalEvent, String> {
    let text = std::str::from_utf8(line).map_err(|e| e.to_string())?;
    serde_json::from_str::<JournalEvent>(text).map_err(|e| {
        let message = e.to_string();
        match message.rsplit_once(" at line ") {
            Some((head, _)) => format!("{head}, at column {}", e.column()),
            None => message,
        }
    })
}

/// The `event` name of a line, for messages (`?` when it has none).
fn event_name(line: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

/// What the lenient reader found: the events it could read, and notes on the lines it skipped.
#[derive(Debug, Default)]
pub struct LenientRead {
    /// The events, in order ([`JournalEvent::Other`] for events this version does not know).
    pub events: Vec<JournalEvent>,
    /// One note per kind of skipped line, naming the lines.
    pub notes: Vec<String>,
}

/// Read a journal's text for a report: a line that is not an event is skipped and named in a
/// note (a cut last line in a note of its own: a study killed mid-write, or still running).
pub fn read_lenient(text: &str) -> LenientRead {
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    let mut out = LenientRead::default();
    let mut skipped = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line.as_bytes()) {
            Ok(ev) => out.events.push(ev),
            Err(e) if Some(i) == last => out.notes.push(format!(
                "{}: the last line ({}) is cut or not an event ({e}): skipped",
                crate::files::JOURNAL,
                i + 1
            )),
            Err(_) => skipped.push((i + 1).to_string()),
        }
    }
    if !skipped.is_empty() {
        let shown: Vec<&str> = skipped.iter().take(10).map(String::as_str).collect();
        out.notes.push(format!(
            "{}: {} line(s) that are not journal events were skipped (line {}{})",
            crate::files::JOURNAL,
            skipped.len(),
            shown.join(", "),
            if skipped.len() > 10 { ", ..." } else { "" }
        ));
    }
    out
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

    #[test]
    fn one_event_type_for_both_readers_older_lines_default_and_unknown_events() {
        let dir = std::env::temp_dir().join(format!("hpo-journal-lenient-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("journal.jsonl");
        // A line from an older journal (no seed, name or group) and one with a field added later.
        let old = r#"{"event":"trial_started","ts":1.0,"trial":2,"params":{"lr":0.001}}"#;
        let newer = r#"{"event":"trial_finished","ts":2.0,"trial":2,"reason":"plateau","extra":1}"#;
        let future = r#"{"event":"a_future_event","ts":3.0}"#;
        std::fs::write(&path, format!("{old}\n{newer}\n")).expect("write");
        let r = read(&path).expect("strict read");
        match &r.events[..] {
            [
                JournalEvent::TrialStarted { name, seed: 0, group: 0, resumed_after: 0, .. },
                JournalEvent::TrialFinished { iteration: -1, value, reason, .. },
            ] => {
                assert!(name.is_empty() && value.is_nan() && *reason == StopReason::Plateau);
            }
            other => panic!("unexpected {other:?}"),
        }
        // An event of a newer version: the strict reader refuses it, naming it and the line.
        std::fs::write(&path, format!("{old}\n{future}\n{newer}\n")).expect("write");
        let err = read(&path).expect_err("unknown event").to_string();
        assert!(err.contains("line 2") && err.contains("a_future_event"), "{err}");
        // The lenient reader keeps it as Other and reads the rest; bad lines become notes.
        let text = format!("{old}\n{future}\nnot json\n{newer}\n{{\"event\":\"res");
        let r = read_lenient(&text);
        assert_eq!(r.events.len(), 3);
        assert_eq!(r.events[1], JournalEvent::Other);
        assert_eq!(r.events[1].ts(), None);
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        assert!(r.notes[0].contains("last line (5)"), "{:?}", r.notes);
        assert!(r.notes[1].contains("(line 3)"), "{:?}", r.notes);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
