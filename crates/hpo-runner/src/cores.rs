//! Core groups: which cores each concurrent trial may use.
//!
//! The reference packs 4 trials x 8 cores on a 32-core box (per trial: 1 driver, 1 learner,
//! 3 env runners x 2). The plan is made from the cores this process may use (its affinity mask),
//! the cores asked per trial, and the concurrency asked. With too few cores, groups share cores
//! (round-robin) rather than failing, and the plan says so.

/// The core groups of a study: `groups[slot]` are the cores of the trial running in that slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorePlan {
    /// One group of core ids per concurrent trial slot.
    pub groups: Vec<Vec<usize>>,
    /// Set when the groups share cores: a message for people, said once.
    pub shared: Option<String>,
}

/// The cores this process may run on (sched_getaffinity), sorted; `[0]` if unknown.
pub fn available_cores() -> Vec<usize> {
    let mut ids: Vec<usize> =
        core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect();
    ids.sort_unstable();
    if ids.is_empty() {
        ids.push(0);
    }
    ids
}

/// Plan `max_concurrent` groups of `cpus_per_trial` cores from `available`.
pub fn plan(available: &[usize], cpus_per_trial: usize, max_concurrent: usize) -> CorePlan {
    let cpus_per_trial = cpus_per_trial.max(1);
    let max_concurrent = max_concurrent.max(1);
    let fallback = [0usize];
    let available = if available.is_empty() { &fallback[..] } else { available };
    let wanted = cpus_per_trial * max_concurrent;
    if available.len() >= wanted {
        let groups =
            available.chunks(cpus_per_trial).take(max_concurrent).map(<[usize]>::to_vec).collect();
        return CorePlan { groups, shared: None };
    }
    // Too few cores: give each slot an equal share (at least one core), wrapping around.
    let per_group = (available.len() / max_concurrent).clamp(1, cpus_per_trial);
    let groups = (0..max_concurrent)
        .map(|slot| {
            (0..per_group).map(|k| available[(slot * per_group + k) % available.len()]).collect()
        })
        .collect();
    let shared = Some(format!(
        "{max_concurrent} trials x {cpus_per_trial} cores asked, {} cores available: \
         each trial gets {per_group} core(s){}",
        available.len(),
        if per_group * max_concurrent > available.len() { ", shared between trials" } else { "" }
    ));
    CorePlan { groups, shared }
}

/// Pin the calling thread to a core; false if the OS refused (the study goes on unpinned).
pub fn pin_current_thread(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_box_packs_four_groups_of_eight() {
        let cores: Vec<usize> = (0..32).collect();
        let p = plan(&cores, 8, 4);
        assert_eq!(p.shared, None);
        assert_eq!(p.groups.len(), 4);
        assert_eq!(p.groups[3], (24..32).collect::<Vec<_>>());
    }

    #[test]
    fn small_box_shares_and_says_so() {
        let p = plan(&[0, 1], 8, 4);
        assert_eq!(p.groups, vec![vec![0], vec![1], vec![0], vec![1]]);
        let msg = p.shared.expect("shared");
        assert!(msg.contains("2 cores available"), "{msg}");
        let p = plan(&[4, 5, 6, 7, 8, 9], 8, 2);
        assert_eq!(p.groups, vec![vec![4, 5, 6], vec![7, 8, 9]]);
        assert!(p.shared.expect("too few").contains("3 core(s)"));
    }
}
