//! Lands with its issue.
