// Package storesql holds what the SQLite and PostgreSQL stores share: the
// SQL text of usage queries and rollup upserts, the aggregation of usage into
// rollups, JSON lists and policies kept as text columns, cursors, and the
// checks both stores make before writing. One copy serves both stores, so a
// row written by one reads the same in the other and a fix lands once.
package storesql
