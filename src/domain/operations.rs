//! The queue as the Operations page shows it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    pub kind: String,
    pub queued: i64,
    pub running: i64,
    pub dead: i64,
    pub done_last_minute: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: String,
    pub kind: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub error: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct QueueStats {
    pub by_kind: Vec<KindCounts>,
    /// How long the oldest due job has waited to start.
    pub oldest_waiting_ms: Option<i64>,
    /// Jobs that failed and will be tried again.
    pub failing: Vec<JobSummary>,
    /// Jobs out of attempts (or failed for good), waiting for a person.
    pub dead: Vec<JobSummary>,
}

impl QueueStats {
    pub fn waiting(&self) -> i64 {
        self.by_kind.iter().map(|k| k.queued).sum()
    }

    pub fn done_last_minute(&self) -> i64 {
        self.by_kind.iter().map(|k| k.done_last_minute).sum()
    }

    /// "Nothing waiting", or when the backlog will be done at the rate of the last minute.
    pub fn outlook(&self) -> String {
        let waiting = self.waiting();
        let rate = self.done_last_minute();
        match (waiting, rate) {
            (0, _) => "Nothing is waiting.".to_string(),
            (w, 0) => format!("{w} jobs are waiting and none finished in the last minute."),
            (w, r) => {
                let minutes = (w as f64 / r as f64).ceil() as i64;
                format!("{w} jobs are waiting; at the last minute's rate ({r}/min) they will be done in about {minutes} min.")
            }
        }
    }
}

/// A job kind in words.
pub fn kind_label(kind: &str) -> String {
    match kind {
        "queue.probe" => "Queue probe".to_string(),
        other => other.replace(['.', '_'], " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(queued: i64, done: i64) -> KindCounts {
        KindCounts {
            kind: "k".into(),
            queued,
            running: 0,
            dead: 0,
            done_last_minute: done,
        }
    }

    #[test]
    fn the_outlook_says_when_the_backlog_clears() {
        let mut s = QueueStats::default();
        assert_eq!(s.outlook(), "Nothing is waiting.");
        s.by_kind = vec![counts(90, 0)];
        assert_eq!(
            s.outlook(),
            "90 jobs are waiting and none finished in the last minute."
        );
        s.by_kind = vec![counts(90, 20), counts(10, 10)];
        assert_eq!(s.outlook(), "100 jobs are waiting; at the last minute's rate (30/min) they will be done in about 4 min.");
        assert_eq!(
            kind_label("stripe.send_participant"),
            "stripe send participant"
        );
    }
}
