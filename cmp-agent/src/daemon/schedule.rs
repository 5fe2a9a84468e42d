//! The daemon's decisions, pure: when to renew, how long to back off, whether the clock can
//! be trusted. Time in (Unix seconds), decisions out; randomness is passed in as a fraction.

use std::time::Duration;

use super::settings::{RenewBefore, Window};

/// What to do for a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// None installed: the first enrollment (ir).
    Enroll,
    /// Installed and due: key update (kur, a new key).
    Renew,
    /// Installed but expired: a new first enrollment (ir).
    Reenroll,
}

impl Action {
    /// The word `status` shows.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Action::Enroll => "enroll",
            Action::Renew => "renew",
            Action::Reenroll => "re-enroll",
        }
    }
}

/// When an installed certificate valid from `not_before` to `not_after` is to be renewed:
/// `renew_before` ahead of its end, minus a random share (`random` in [0, 1)) of `jitter`
/// (never before the certificate's start), then moved into the daily `window` if there is one
/// (at a random point of its first `min(window, jitter)`).
pub(crate) fn renew_at(
    not_before: i64,
    not_after: i64,
    renew_before: RenewBefore,
    jitter: Duration,
    window: Option<Window>,
    random: f64,
) -> i64 {
    let lifetime = Duration::from_secs(u64::try_from(not_after - not_before).unwrap_or(0));
    let lead = i64::try_from(renew_before.lead(lifetime).as_secs()).unwrap_or(i64::MAX);
    let jitter_secs = i64::try_from(jitter.as_secs()).unwrap_or(0);
    // The jitter never takes more than a tenth of the lifetime left after the lead.
    let room = (not_after - lead - not_before).max(0) / 10;
    let shift = ((jitter_secs.min(room)) as f64 * random.clamp(0.0, 1.0)) as i64;
    let t = (not_after - lead - shift).max(not_before);
    match window {
        Some(w) if w.next_open(t) != t => {
            let spread = i64::from(w.len()).min(jitter_secs.max(1));
            w.next_open(t) + (spread as f64 * random.clamp(0.0, 1.0)) as i64
        }
        _ => t,
    }
}

/// What to do now for a certificate valid until `not_after` (or none), with renewal planned
/// at `due`; `None`: nothing yet.
pub(crate) fn decide(now: i64, installed: Option<(i64, i64)>) -> Option<Action> {
    match installed {
        None => Some(Action::Enroll),
        Some((_, not_after)) if now >= not_after => Some(Action::Reenroll),
        Some((due, _)) if now >= due => Some(Action::Renew),
        Some(_) => None,
    }
}

/// The wait after `failures` consecutive failures (1, 2, …): `min` doubled each time up to
/// `max`, then a random point (`random` in [0, 1)) of its upper half.
pub(crate) fn backoff(failures: u32, min: Duration, max: Duration, random: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let d = min.saturating_mul(1u32 << exp).min(max);
    d.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
}

/// Why the wall clock cannot be trusted, if it cannot: earlier than the build of this binary,
/// or earlier than the latest notBefore of the certificates the agent trusts.
pub(crate) fn clock_problem(
    now: i64,
    built: i64,
    anchors_not_before: Option<i64>,
) -> Option<String> {
    let f = cmp_core::asn1::format_unix;
    if now < built {
        return Some(format!(
            "the system clock says {}, before this agent was built ({}); waiting for a sane clock (NTP, RTC)",
            f(now),
            f(built)
        ));
    }
    match anchors_not_before {
        Some(nb) if now < nb => Some(format!(
            "the system clock says {}, before the trusted certificates' notBefore ({}); waiting for a sane clock (NTP, RTC)",
            f(now),
            f(nb)
        )),
        _ => None,
    }
}

/// A random fraction in [0, 1) from the operating system.
pub(crate) fn random_fraction() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_be_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn renewal_time() {
        let third = RenewBefore::Fraction(0.33);
        // A 100-day certificate: renewed 33 days before its end.
        assert_eq!(
            renew_at(0, 100 * DAY, third, Duration::ZERO, None, 0.7),
            67 * DAY
        );
        // Jitter moves it earlier, by at most a tenth of the rest.
        let j = renew_at(0, 100 * DAY, third, Duration::from_secs(3600), None, 0.5);
        assert_eq!(j, 67 * DAY - 1800);
        let capped = renew_at(0, 100, third, Duration::from_secs(3600), None, 0.99);
        assert_eq!(capped, 67 - 5); // a tenth of 67 s is 6 s; 99 % of it, whole seconds
        // A window moves it to the next opening.
        let w = Window::parse("02:00-04:00").expect("window");
        assert_eq!(
            renew_at(0, 100 * DAY, third, Duration::ZERO, Some(w), 0.3),
            67 * DAY + 7200
        );
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(5, None), Some(Action::Enroll));
        assert_eq!(decide(5, Some((10, 20))), None);
        assert_eq!(decide(10, Some((10, 20))), Some(Action::Renew));
        assert_eq!(decide(20, Some((10, 20))), Some(Action::Reenroll));
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let (min, max) = (Duration::from_secs(30), Duration::from_secs(600));
        assert_eq!(
            backoff(1, min, max, 0.999_999),
            Duration::from_secs(30).mul_f64(0.999_999_5)
        );
        assert_eq!(backoff(3, min, max, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(100, min, max, 0.0), Duration::from_secs(300));
        assert!(backoff(100, min, max, 0.999) <= max);
    }

    #[test]
    fn bad_clocks() {
        assert_eq!(
            clock_problem(0, 1_700_000_000, None).as_deref(),
            Some(
                "the system clock says 1970-01-01 00:00:00 UTC, before this agent was built (2023-11-14 22:13:20 UTC); waiting for a sane clock (NTP, RTC)"
            )
        );
        assert!(clock_problem(1_800_000_000, 1_700_000_000, Some(1_900_000_000)).is_some());
        assert_eq!(
            clock_problem(1_800_000_000, 1_700_000_000, Some(1_750_000_000)),
            None
        );
    }
}
