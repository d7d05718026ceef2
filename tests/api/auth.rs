//! The shared-token auth table of issue #2.
