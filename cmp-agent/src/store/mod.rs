//! Where the agent keeps certificates, through the [`Storage`](cmp_core::storage::Storage)
//! trait:
//!
//! * [`files::FileStore`] — the `files` storage with `dir = DIR`: identity records in
//!   generation directories, installed by one atomic symlink switch;
//! * [`certout::CertOutFile`] — the `files` storage with `certout = FILE`: the thin adapter
//!   behind `--certout FILE` of the one-shot commands (`FILE.staged` → `FILE`, or
//!   `FILE.unconfirmed` with the reason in `FILE.unconfirmed.why`);
//! * [`certout::Watched`] — remembers where a run kept an unconfirmed certificate.

pub(crate) mod certout;
pub(crate) mod files;

pub(crate) use certout::{CERTOUT_IDENTITY, Watched};
