//! DynamoDB-style tables (being written)
