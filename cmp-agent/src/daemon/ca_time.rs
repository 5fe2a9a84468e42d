//! A clock it can trust, second half (`[daemon] clock_from_ca = DURATION`, off by default):
//! when the system clock is not sane (before the build, or before the anchors' notBefore), the
//! daemon asks the CA for its time — a genm caCerts protected as the first enrollment is (the
//! shared secret, or the vendor certificate) and sent **without** a messageTime (ours is what
//! is in doubt) — and takes the messageTime of the genp once the genp passed every check
//! (its MAC, or its signature by a signer validated at that very time; a fresh senderNonce
//! of ours answered, so an old response cannot be replayed), provided it lies within the
//! configured bounds: no earlier than the build and the anchors' notBefore, no later than the
//! build plus `clock_from_ca`. The daemon's clock then runs at that offset from the system's
//! until the system clock is sane again.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cmp_core::asn1::{InfoTypeAndValue, ReceivedMessage, format_unix, oid};
use cmp_core::clock::Clock;
use cmp_core::transaction::{GeneralMessage, Step, Transaction};

use super::engine::{Engine, unix};
use super::settings::CertificateConfig;
use crate::commands::setup::{feed_mac_keys, setup};

/// The daemon's clock: the system's (or the test knob's) plus an offset learnt from the CA.
#[derive(Debug)]
pub(crate) struct AdjustableClock {
    base: Arc<dyn Clock>,
    offset: AtomicI64,
}

impl AdjustableClock {
    /// `base`, not adjusted.
    pub(crate) fn new(base: Arc<dyn Clock>) -> Self {
        AdjustableClock {
            base,
            offset: AtomicI64::new(0),
        }
    }

    /// The unadjusted time (Unix seconds).
    pub(crate) fn base_now(&self) -> i64 {
        unix(self.base.now())
    }

    /// The offset in use (seconds; 0: none).
    pub(crate) fn offset(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    /// Runs at `offset` seconds from the base clock from now on.
    pub(crate) fn set_offset(&self, offset: i64) {
        self.offset.store(offset, Ordering::Relaxed);
    }
}

impl Clock for AdjustableClock {
    fn now(&self) -> SystemTime {
        let now = self.base.now();
        let off = self.offset();
        let d = Duration::from_secs(off.unsigned_abs());
        if off >= 0 {
            now.checked_add(d).unwrap_or(now)
        } else {
            now.checked_sub(d).unwrap_or(now)
        }
    }

    fn instant(&self) -> Instant {
        self.base.instant()
    }
}

/// At most this many messages in the exchange (genm, and nothing else is expected).
const MAX_STEPS: usize = 8;

impl Engine<'_> {
    /// The CA's authenticated time (Unix seconds) if it lies in `[lower, upper]`, from the
    /// first CA that answers, asked with the first-enrollment credential of `cert`.
    pub(crate) async fn time_from_ca(
        &self,
        cert: &CertificateConfig,
        lower: i64,
        upper: i64,
    ) -> Result<i64, String> {
        let mut last = String::from("no CA is configured");
        for server in &self.cfg.servers {
            match self.ask_time(cert, server).await {
                Ok(t) if t < lower || t > upper => {
                    return Err(format!(
                        "the CA's authenticated messageTime {} is outside the configured bounds ({} to {}); not used",
                        format_unix(t),
                        format_unix(lower),
                        format_unix(upper)
                    ));
                }
                Ok(t) => return Ok(t),
                Err(e) => last = format!("{server}: {e}"),
            }
        }
        Err(format!("the CA's time could not be had: {last}"))
    }

    async fn ask_time(&self, cert: &CertificateConfig, server: &str) -> Result<i64, String> {
        let args = self
            .args(cert, server, false)
            .map_err(|e| e.message().to_owned())?;
        let s = setup(&args.client, None, self.registry)
            .await
            .map_err(|e| e.message().to_owned())?;
        let mut tx = GeneralMessage::new(
            Arc::new(s.config.clone()),
            vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)],
        )
        .map_err(|e| e.to_string())?;
        // A time before the epoch cannot be encoded: the request goes without messageTime.
        let unknown = UNIX_EPOCH - Duration::from_secs(1);
        feed_mac_keys(&mut tx, None)
            .await
            .map_err(|e| e.to_string())?;
        let mut step = tx.start(unknown).map_err(|e| e.to_string())?;
        for _ in 0..MAX_STEPS {
            step = match step {
                Step::Sign { alg, data, .. } => {
                    let key = s
                        .protection_key
                        .as_deref()
                        .ok_or("no key to sign the request with")?;
                    let sig = key.sign(alg, &data).await.map_err(|e| e.to_string())?;
                    tx.on_signature(sig, unknown).map_err(|e| e.to_string())?
                }
                Step::Send(request) => {
                    let deadline = Instant::now() + Duration::from_secs(self.cfg.msg_timeout);
                    let response = s
                        .transport
                        .exchange(&request, Some(deadline))
                        .await
                        .map_err(|e| e.to_string())?;
                    let claimed = ReceivedMessage::decode(&response)
                        .map_err(|e| format!("the response does not decode: {e}"))?
                        .message()
                        .header
                        .message_time
                        .map(|t| t.timestamp())
                        .ok_or("the response carries no messageTime")?;
                    let at = UNIX_EPOCH
                        + Duration::from_secs(u64::try_from(claimed).map_err(|_| {
                            format!("the response's messageTime {claimed} is before 1970")
                        })?);
                    feed_mac_keys(&mut tx, Some(&response))
                        .await
                        .map_err(|e| e.to_string())?;
                    // Checked as at the time it claims: a signer must be valid then.
                    match tx.on_response(&response, at).map_err(|e| e.to_string())? {
                        Step::Done(_) => return Ok(claimed),
                        _ => return Err("the CA did not answer the genm with a genp".into()),
                    }
                }
                Step::Done(_) => return Err("the exchange ended without a response".into()),
                _ => return Err("the CA did not answer the genm with a genp".into()),
            };
        }
        Err("the exchange did not end".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_core::clock::OffsetClock;

    #[test]
    fn the_offset_moves_the_wall_clock_only() {
        let base = Arc::new(OffsetClock {
            offset_secs: 1000 - unix(SystemTime::now()),
        });
        let clock = AdjustableClock::new(base);
        assert!((clock.base_now() - 1000).abs() <= 2);
        clock.set_offset(1_800_000_000);
        assert!((unix(clock.now()) - 1_800_001_000).abs() <= 2);
        clock.set_offset(-2000);
        assert_eq!(unix(clock.now()), 0, "before 1970 is clamped by unix()");
        clock.set_offset(0);
        assert!((unix(clock.now()) - 1000).abs() <= 2);
    }
}
