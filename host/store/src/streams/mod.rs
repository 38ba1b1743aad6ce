//! Kinesis-style streams (being written)
