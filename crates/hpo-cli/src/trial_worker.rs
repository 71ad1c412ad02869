//! `hpo trial-worker` (hidden): serves one trial of a study in its own process, for
//! `hpo study`, which starts one per PPO trial (hpo_runner::process). Requests come on stdin,
//! answers go to stdout; anything meant for people goes to stderr (the trial's `worker.log`).

/// Serve one trial until stdin ends. A watchdog ends the worker when the study that started it
/// is gone (its parent changes), so a study killed mid-iteration leaves no worker training on
/// and no command of a command trial running.
pub fn run() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if std::os::unix::process::parent_id() != parent {
                    eprintln!("trial worker: the study is gone; stopping");
                    // A command trial's process group goes with it.
                    hpo_runner::objective::kill_running_commands();
                    std::process::exit(3);
                }
            }
        });
    }
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    hpo_runner::process::serve_trial(stdin, stdout)?;
    Ok(())
}
