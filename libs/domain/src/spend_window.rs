//! The 17 time windows of the guard rails.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A rolling time window over which spending is limited, from 5 minutes to 72 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpendWindow {
    minutes: u32,
}

/// Says that a label is not one of the 17 windows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a guard-rail window; expected one of 5min … 1440min, 48h, 72h")]
pub struct UnknownSpendWindow(String);

impl SpendWindow {
    /// The windows of the original product, shortest first.
    pub const ALL: [SpendWindow; 17] = [
        SpendWindow { minutes: 5 },
        SpendWindow { minutes: 15 },
        SpendWindow { minutes: 30 },
        SpendWindow { minutes: 60 },
        SpendWindow { minutes: 90 },
        SpendWindow { minutes: 120 },
        SpendWindow { minutes: 240 },
        SpendWindow { minutes: 300 },
        SpendWindow { minutes: 360 },
        SpendWindow { minutes: 400 },
        SpendWindow { minutes: 460 },
        SpendWindow { minutes: 520 },
        SpendWindow { minutes: 640 },
        SpendWindow { minutes: 700 },
        SpendWindow { minutes: 1440 },
        SpendWindow { minutes: 2880 },
        SpendWindow { minutes: 4320 },
    ];

    /// Returns the window's length.
    pub const fn duration(self) -> Duration {
        Duration::from_secs(self.minutes as u64 * 60)
    }

    /// Returns the label used on the wire: `5min` … `1440min`, then `48h` and `72h`.
    pub fn label(self) -> String {
        if self.minutes > 1440 {
            format!("{}h", self.minutes / 60)
        } else {
            format!("{}min", self.minutes)
        }
    }

    /// Returns the name of the variable that sets this window's limit, e.g. `GUARDRAILS_MAX_60MIN_RATE`.
    pub fn limit_variable(self) -> String {
        format!("GUARDRAILS_MAX_{}_RATE", self.label().to_ascii_uppercase())
    }
}

impl FromStr for SpendWindow {
    type Err = UnknownSpendWindow;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase();
        SpendWindow::ALL
            .into_iter()
            .find(|window| window.label() == wanted)
            .ok_or_else(|| UnknownSpendWindow(text.to_owned()))
    }
}

impl fmt::Display for SpendWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_seventeen_windows_from_five_minutes_to_three_days() {
        assert_eq!(SpendWindow::ALL.len(), 17);
        assert_eq!(SpendWindow::ALL[0].duration(), Duration::from_secs(300));
        assert_eq!(SpendWindow::ALL[16].duration(), Duration::from_secs(72 * 3600));
    }

    #[test]
    fn labels_and_variables_match_the_original_product() {
        let labels: Vec<String> = SpendWindow::ALL.iter().map(|window| window.label()).collect();
        assert_eq!(labels[3], "60min");
        assert_eq!(labels[14], "1440min");
        assert_eq!(labels[15], "48h");
        assert_eq!(SpendWindow::ALL[16].limit_variable(), "GUARDRAILS_MAX_72H_RATE");
        assert_eq!(SpendWindow::ALL[0].limit_variable(), "GUARDRAILS_MAX_5MIN_RATE");
    }

    #[test]
    fn every_window_round_trips_through_its_label() {
        for window in SpendWindow::ALL {
            assert_eq!(window.label().parse::<SpendWindow>(), Ok(window));
        }
    }
}
