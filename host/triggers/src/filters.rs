//! Lambda's event filtering: filter patterns (exact, prefix, numeric ranges,
//! exists, anything-but, ...) matched against the Lambda-shaped JSON of a record.
