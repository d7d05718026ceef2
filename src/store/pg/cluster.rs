//! What several instances share (stage 4-5): filled in later.
