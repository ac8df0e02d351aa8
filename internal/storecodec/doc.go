// Package storecodec holds the encodings the SQLite and PostgreSQL stores
// share: JSON lists and policies kept as text columns, cursors and the like.
// One encoder serves both stores, so a row written by one reads the same in
// the other and a fix lands once.
package storecodec
