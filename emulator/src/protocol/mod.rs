//! The wire: one loopback port serving three AWS protocols ([`server`] routes each request),
//! SigV4 verification ([`auth`]), STS ([`sts`]) with web identity tokens ([`oidc`]), S3 ([`s3`]) and the Athena JSON operations
//! ([`athena`]).

pub mod athena;
pub mod auth;
pub mod oidc;
pub mod s3;
pub mod server;
pub mod sts;
