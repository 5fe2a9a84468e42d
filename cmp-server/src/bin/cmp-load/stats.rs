//! Counting outcomes and summarising latencies.

use std::time::Duration;

/// How one exchange ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A certificate for our key, confirmed (or implicitly confirmed).
    Accepted,
    /// Finished as a correct client finishes it, without a certificate: the server refused,
    /// or we refused its certificate with certConf (e.g. a certificate for another key) and
    /// the server's pkiConf ended the exchange.
    Rejected,
    /// A transport error, a timeout or a response that failed our checks.
    Failed(String),
}

/// The figures of a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct Summary {
    /// Finished exchanges: accepted + rejected.
    pub(crate) completed: u64,
    pub(crate) accepted: u64,
    pub(crate) rejected: u64,
    pub(crate) failed: u64,
    pub(crate) seconds: f64,
    /// Finished exchanges per second.
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

/// The `q`-quantile (0..=1) of sorted `values` by the nearest-rank method, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
}

impl Summary {
    /// The summary of `outcomes` (each with its latency) over `elapsed`. Latencies are those of
    /// finished exchanges (accepted and rejected): a failure's time says little about the
    /// server.
    pub(crate) fn new(outcomes: &[(Outcome, Duration)], elapsed: Duration) -> Self {
        let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|(o, _)| f(o)).count() as u64;
        let accepted = count(|o| *o == Outcome::Accepted);
        let rejected = count(|o| *o == Outcome::Rejected);
        let failed = count(|o| matches!(o, Outcome::Failed(_)));
        let mut lat: Vec<Duration> = outcomes
            .iter()
            .filter(|(o, _)| !matches!(o, Outcome::Failed(_)))
            .map(|(_, d)| *d)
            .collect();
        lat.sort_unstable();
        let seconds = elapsed.as_secs_f64();
        let completed = accepted + rejected;
        Summary {
            completed,
            accepted,
            rejected,
            failed,
            seconds,
            per_second: if seconds > 0.0 {
                completed as f64 / seconds
            } else {
                0.0
            },
            p50_ms: quantile_ms(&lat, 0.50),
            p90_ms: quantile_ms(&lat, 0.90),
            p99_ms: quantile_ms(&lat, 0.99),
            max_ms: lat.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        }
    }

    /// The summary for a person.
    pub(crate) fn text(&self) -> String {
        format!(
            "{:.1} enrollments/s: {} finished ({} accepted, {} rejected), {} failed in {:.2} s\n\
             latency ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}\n",
            self.per_second,
            self.completed,
            self.accepted,
            self.rejected,
            self.failed,
            self.seconds,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_nearest_rank_percentiles() {
        let ms = Duration::from_millis;
        let mut outcomes: Vec<(Outcome, Duration)> =
            (1..=100).map(|i| (Outcome::Accepted, ms(i))).collect();
        outcomes[0].0 = Outcome::Rejected;
        outcomes.push((Outcome::Failed("timeout".into()), ms(10_000)));
        let s = Summary::new(&outcomes, Duration::from_secs(2));
        assert_eq!(
            (s.completed, s.accepted, s.rejected, s.failed),
            (100, 99, 1, 1)
        );
        assert_eq!(s.per_second, 50.0);
        assert_eq!(
            (s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
        let json = serde_json::to_value(&s).expect("json");
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = [
            "completed",
            "accepted",
            "rejected",
            "failed",
            "seconds",
            "per_second",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
        ];
        want.sort_unstable();
        assert_eq!(keys, want);
        let empty = Summary::new(&[], Duration::ZERO);
        assert_eq!((empty.per_second, empty.max_ms), (0.0, 0.0));
    }
}
