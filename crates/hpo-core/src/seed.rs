//! Seed mixing: the one way hpo-rs turns a seed and a few integers into a new, independent seed
//! (a trial's seed from the study seed and the trial number; a trial's random streams).

/// SplitMix64's increment (the golden ratio in 64 bits): added to the state before each output.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (Steele, Lea and Flood, 2014): a bijection of `u64` under which
/// nearby inputs give outputs that look independent.
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One step of the SplitMix64 generator: advances `state` and returns the next output.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GOLDEN_GAMMA);
    mix64(*state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_gives_the_reference_outputs_for_seed_0() {
        // The first outputs of SplitMix64 from state 0, as its reference implementation
        // (Vigna's splitmix64.c) prints them.
        let mut state = 0;
        let first: Vec<u64> = (0..3).map(|_| splitmix64(&mut state)).collect();
        assert_eq!(first, [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F]);
    }

    #[test]
    fn mix64_is_not_the_identity_and_separates_neighbours() {
        assert_ne!(mix64(1), 1);
        assert_ne!(mix64(1), mix64(2));
        assert_eq!(mix64(0), 0, "0 is SplitMix64's one fixed point of the output function");
    }
}
