//! Where a study's events are kept: one small interface ([`EventStore`]) between the
//! coordinator and its storage, with the study folder's journal file ([`JournalStore`]) as the
//! one implementation. The coordinator's state is a fold of these events (see
//! [`crate::study`]), so a second store (a database shared by several machines) only has to
//! keep the same events in the same order.

use std::path::{Path, PathBuf};

use hpo_folder::journal::{self, JournalError, JournalEvent, JournalWriter};

/// A store refused a read or a write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The journal file failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// A study's events as loaded.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every whole event, in the order they were appended.
    pub events: Vec<JournalEvent>,
    /// A message for people when the store repaired itself while loading (a last line cut by
    /// a crash, removed).
    pub repaired: Option<String>,
}

/// The events of one study, in one total order.
pub trait EventStore {
    /// True when the store holds a study (something to resume).
    fn holds_study(&self) -> bool;
    /// Every event so far. A store may repair a cut last event here (and says so in
    /// [`Loaded::repaired`]), so that the next append starts a whole event of its own.
    fn load(&mut self) -> Result<Loaded, StoreError>;
    /// Append one event after all the others; once this returns, the event is kept.
    fn append(&mut self, event: &JournalEvent) -> Result<(), StoreError>;
}

/// The study folder's `journal.jsonl`: one JSON event per line, flushed as written.
#[derive(Debug)]
pub struct JournalStore {
    path: PathBuf,
    writer: Option<JournalWriter>,
}

impl JournalStore {
    /// The journal at `path` (opened for appending at the first append).
    pub fn new(path: &Path) -> JournalStore {
        JournalStore { path: path.to_path_buf(), writer: None }
    }
}

impl EventStore for JournalStore {
    fn holds_study(&self) -> bool {
        self.path.exists()
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        if !self.path.exists() {
            return Ok(Loaded::default());
        }
        let read = journal::read(&self.path)?;
        let repaired = match &read.truncated_tail {
            Some(tail) => {
                journal::truncate(&self.path, read.valid_len)?;
                Some(format!(
                    "the journal's last line was cut by a crash and is removed ({} bytes)",
                    tail.len()
                ))
            }
            None => None,
        };
        Ok(Loaded { events: read.events, repaired })
    }

    fn append(&mut self, event: &JournalEvent) -> Result<(), StoreError> {
        let writer = match &mut self.writer {
            Some(w) => w,
            None => self.writer.insert(JournalWriter::open(&self.path)?),
        };
        writer.append(event)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(trial: u64) -> JournalEvent {
        JournalEvent::StudyFinished { ts: trial as f64, interrupted: false }
    }

    #[test]
    fn appended_events_load_back_in_order_and_a_cut_line_is_repaired() {
        let dir = std::env::temp_dir().join(format!("hpo-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut store = JournalStore::new(&path);
        assert!(!store.holds_study());
        assert!(store.load().expect("load").events.is_empty());
        for t in 0..3 {
            store.append(&finished(t)).expect("append");
        }
        drop(store);
        // A crash mid-line.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"{\"event\":\"study_fin").expect("write");
        drop(f);

        let mut store = JournalStore::new(&path);
        assert!(store.holds_study());
        let loaded = store.load().expect("load");
        assert_eq!(loaded.events, vec![finished(0), finished(1), finished(2)]);
        assert!(loaded.repaired.is_some());
        store.append(&finished(3)).expect("append");
        let again = JournalStore::new(&path).load().expect("load again");
        assert_eq!(again.events.len(), 4);
        assert_eq!(again.events[3], finished(3));
        assert!(again.repaired.is_none());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
