//! Progress bars on stderr for long work: shown only on a terminal, and only once the work
//! has taken more than a moment, so quick commands and pipelines print nothing extra.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Work shorter than this shows no bar at all.
const SHOW_AFTER: Duration = Duration::from_millis(400);

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total` bytes.
    pub fn bytes(total: u64, message: &str) -> Self {
        Self::new(total, message, "{msg:<12} [{bar:30}] {binary_bytes}/{binary_total_bytes} ({eta})")
    }

    /// A bar over `total` steps.
    pub fn steps(total: u64, message: &str) -> Self {
        Self::new(total, message, "{msg:<12} [{bar:30}] {pos}/{len}")
    }

    /// A bar never shown (for work another bar already counts).
    pub fn hidden() -> Self {
        Progress { bar: ProgressBar::hidden() }
    }

    fn new(total: u64, message: &str, template: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        if std::io::stderr().is_terminal() {
            let delayed = bar.clone();
            std::thread::spawn(move || {
                std::thread::sleep(SHOW_AFTER);
                if !delayed.is_finished() {
                    delayed.set_draw_target(ProgressDrawTarget::stderr());
                }
            });
        }
        Progress { bar }
    }

    pub fn set(&self, position: u64) {
        self.bar.set_position(position);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
