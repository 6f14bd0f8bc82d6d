//! # athena-arrow
//!
//! An Arrow-native client for Amazon Athena: queries run through Athena, result files are
//! fetched from S3 by parallel ranged readers and decoded straight into Arrow `RecordBatch`es.
//!
//! The client itself is being built (see the README's status section); today the workspace
//! ships the local Athena + S3 endpoint it is tested against, in the `athena-emulator` crate.
