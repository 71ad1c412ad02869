//! Seed derivation: every random stream of a trial is a pure function of the trial seed and a
//! few integers, so any iteration's randomness can be recreated (checkpoints, reproducibility).

/// The independent random streams of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Weight initialisation of policy `a`.
    Init = 1,
    /// Action sampling of runner `a` in iteration `b`.
    Actions = 2,
    /// Reset seed of episode `b` of environment `a`.
    Episode = 3,
    /// Minibatch shuffling of iteration `b`.
    Shuffle = 4,
}

fn splitmix(mut z: u64) -> u64 {
    hpo_core::seed::splitmix64(&mut z)
}

/// A 64-bit seed for `(seed, stream, a, b)`.
pub(crate) fn derive_seed(seed: u64, stream: Stream, a: u64, b: u64) -> u64 {
    let mut h = splitmix(seed);
    for x in [stream as u64, a, b] {
        h = splitmix(h ^ x);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_indices_differ() {
        let a = derive_seed(1, Stream::Actions, 0, 1);
        assert_ne!(a, derive_seed(1, Stream::Actions, 1, 0));
        assert_ne!(a, derive_seed(1, Stream::Episode, 0, 1));
        assert_ne!(a, derive_seed(2, Stream::Actions, 0, 1));
        assert_eq!(a, derive_seed(1, Stream::Actions, 0, 1));
    }
}
