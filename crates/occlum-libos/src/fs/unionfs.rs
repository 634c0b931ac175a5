//! unionfs (being written).
