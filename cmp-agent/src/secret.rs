//! Secret sources (`pass:TEXT`, `env:VAR`, `file:PATH`): the workspace's one parser, in
//! [`cmp_crypto::secret`].

pub(crate) use cmp_crypto::secret::SecretSource;
