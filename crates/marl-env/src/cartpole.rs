//! CartPole-v1 with gymnasium's dynamics (Euler integration, 500-step limit, reward 1 per step),
//! behind the multi-agent API with one kind (`agent`) of one slot. It is the learner's
//! known-answer test bed: a correct PPO solves it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::api::{Actions, AgentKind, EnvError, MultiAgentEnv, StepOutput, check_actions};

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_CART + MASS_POLE;
const HALF_LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = MASS_POLE * HALF_LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;
/// gymnasium's `max_episode_steps` for CartPole-v1.
pub const MAX_STEPS: u32 = 500;

/// The CartPole-v1 environment.
#[derive(Debug, Clone)]
pub struct CartPole {
    kinds: Vec<AgentKind>,
    /// `[x, x_dot, theta, theta_dot]`, in f64 as gymnasium keeps it.
    state: [f64; 4],
    steps: u32,
    running: bool,
    rng: ChaCha8Rng,
}

impl Default for CartPole {
    fn default() -> Self {
        CartPole {
            kinds: vec![AgentKind {
                name: "agent".to_string(),
                obs_shape: [4, 1, 1],
                n_actions: 2,
                max_agents: 1,
            }],
            state: [0.0; 4],
            steps: 0,
            running: false,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }
}

impl CartPole {
    /// The physical state `[x, x_dot, theta, theta_dot]`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Set the physical state (for tests against published trajectories) and restart the step
    /// counter.
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
        self.steps = 0;
        self.running = true;
    }

    /// One step of gymnasium's dynamics; returns whether the pole fell or the cart left.
    pub fn physics_step(&mut self, action: u32) -> bool {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let (sintheta, costheta) = theta.sin_cos();
        let temp = (force + POLE_MASS_LENGTH * theta_dot * theta_dot * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * costheta * costheta / TOTAL_MASS));
        let xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * xacc,
            theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc,
        ];
        let [x, _, theta, _] = self.state;
        !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD..=THETA_THRESHOLD).contains(&theta)
    }

    fn write_obs(&self, out: &mut StepOutput) {
        let k = &mut out.kinds[0];
        for (o, s) in k.obs.iter_mut().zip(self.state) {
            *o = s as f32;
        }
        k.present[0] = true;
    }
}

impl MultiAgentEnv for CartPole {
    fn kinds(&self) -> &[AgentKind] {
        &self.kinds
    }

    fn reset(&mut self, seed: u64, out: &mut StepOutput) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        for s in &mut self.state {
            *s = self.rng.random_range(-0.05..0.05);
        }
        self.steps = 0;
        self.running = true;
        out.done = false;
        out.kinds[0].clear();
        self.write_obs(out);
        out.kinds[0].acting[0] = true;
    }

    fn step(&mut self, actions: &Actions, out: &mut StepOutput) -> Result<(), EnvError> {
        if !self.running {
            return Err(EnvError::NotRunning);
        }
        check_actions(&self.kinds, actions)?;
        let action = actions.per_kind[0][0];
        if action >= 2 {
            return Err(EnvError::BadAction {
                agent: self.kinds[0].agent_id(0),
                action,
                n_actions: 2,
            });
        }
        let terminated = self.physics_step(action);
        self.steps += 1;
        let truncated = !terminated && self.steps >= MAX_STEPS;
        let k = &mut out.kinds[0];
        k.clear();
        k.reward[0] = 1.0;
        k.terminated[0] = terminated;
        k.truncated[0] = truncated;
        k.acting[0] = !(terminated || truncated);
        self.write_obs(out);
        out.done = terminated || truncated;
        self.running = !out.done;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushing_one_way_ends_the_episode_by_termination() {
        let mut env = CartPole::default();
        let mut out = env.new_output();
        let mut acts = env.new_actions();
        env.reset(3, &mut out);
        acts.per_kind[0][0] = 1;
        let mut n = 0;
        while !out.done {
            env.step(&acts, &mut out).expect("running");
            n += 1;
        }
        assert!(out.kinds[0].terminated[0]);
        assert!(n < 60, "always pushing right must drop the pole fast, took {n}");
        assert_eq!(env.step(&acts, &mut out), Err(EnvError::NotRunning));
    }

    #[test]
    fn same_seed_same_start() {
        let mut a = CartPole::default();
        let mut b = CartPole::default();
        let (mut oa, mut ob) = (a.new_output(), b.new_output());
        a.reset(7, &mut oa);
        b.reset(7, &mut ob);
        assert_eq!(oa, ob);
        assert!(a.state().iter().all(|s| s.abs() <= 0.05));
    }

    /// Reference states from gymnasium 1.4.0's `CartPole-v1`, produced by:
    ///
    /// ```python
    /// env = gymnasium.make("CartPole-v1"); env.reset(seed=0)
    /// env.unwrapped.state = np.array([0.01, -0.02, 0.03, 0.04])
    /// for a in ACTIONS: env.step(a); print([float(v) for v in env.unwrapped.state])
    /// ```
    const GYM_STATES: [[f64; 4]; 20] = [
        [0.009600000000000001, 0.17467919574755525, 0.030799999999999998, -0.2430687179600081],
        [0.013093583914951107, -0.020868848948191993, 0.025938625640799837, 0.0591679999394166],
        [0.012676206935987267, -0.21635292104612766, 0.02712198563958817, 0.3599205713784138],
        [0.008349148515064714, -0.021626799199488206, 0.03432039706715644, 0.0759116989474441],
        [0.00791661253107495, 0.17298676004769037, 0.035838631046105324, -0.20574851582677406],
        [0.011376347732028757, 0.3675783725675468, 0.03172366072956984, -0.4869142013445082],
        [0.01872791518337969, 0.17202349486382784, 0.02198537670267968, -0.18440428392099584],
        [0.022168385080656248, 0.36682408600495897, 0.01829729102425976, -0.4700713747851109],
        [0.02950486680075543, 0.1714485132472654, 0.008895863528557544, -0.17167796834313398],
        [0.03293383706570074, -0.02379962460232901, 0.0054623041616948635, 0.12379799946559022],
        [0.03245784457365416, -0.2189994038745484, 0.007938264151006668, 0.4181992097247195],
        [0.028077856496163192, -0.02399083889736714, 0.016302248345501057, 0.1280294038596787],
        [0.02759803971821585, 0.17089382692465704, 0.01886283642269463, -0.15946610211758006],
        [0.031015916256708992, -0.024493026643919308, 0.015673514380343027, 0.13910738488207264],
        [0.030526055723830606, 0.17040097319715405, 0.01845566207798448, -0.14858988294460168],
        [0.03393407518777369, -0.0249803327116693, 0.015483864419092448, 0.14985782213291188],
        [0.0334344685335403, 0.16991651321482396, 0.018481020861750685, -0.1379003283187175],
        [0.036832798797836776, 0.3647689536824351, 0.015723014295376335, -0.4246959659825831],
        [0.04412817787148548, 0.16942784840385638, 0.007229094975724673, -0.12709814974492334],
        [0.047516734839562605, -0.025796914570849233, 0.004687131980826206, 0.16785667835422757],
    ];
    const ACTIONS: [u32; 20] = [1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0];

    #[test]
    fn matches_gymnasium_on_a_fixed_action_sequence() {
        let mut env = CartPole::default();
        env.set_state([0.01, -0.02, 0.03, 0.04]);
        for (i, (action, want)) in ACTIONS.iter().zip(GYM_STATES).enumerate() {
            assert!(!env.physics_step(*action), "gymnasium does not terminate at step {i}");
            for (got, want) in env.state().iter().zip(want) {
                assert!((got - want).abs() <= 1e-12, "step {i}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn matches_gymnasium_when_always_pushing_right_from_rest() {
        // gymnasium: from state 0, action 1 terminates on the 9th step with this state.
        let mut env = CartPole::default();
        env.set_state([0.0; 4]);
        let want =
            [0.14065097203306187, 1.7603811257683097, -0.21518604988500967, -2.777886494012814];
        for i in 1..=9 {
            let ended = env.physics_step(1);
            assert_eq!(ended, i == 9, "step {i}");
        }
        for (got, want) in env.state().iter().zip(want) {
            assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
        }
    }
}
