//! Expressions (being written)
