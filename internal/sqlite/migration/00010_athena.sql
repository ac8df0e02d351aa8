-- +goose Up
-- Athena's persisted conversations. Deleting a team deletes its
-- conversations (as it deletes its keys); deleting a conversation deletes
-- its messages.
CREATE TABLE IF NOT EXISTS conversations (
    id             TEXT PRIMARY KEY,
    team_id        TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    key_id         TEXT NOT NULL DEFAULT '',
    model          TEXT NOT NULL,
    system_message TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '{}',
    message_count  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
-- Lists are per team, newest first, and page by (created_at, id).
CREATE INDEX IF NOT EXISTS conversations_team_created ON conversations (team_id, created_at, id);

-- seq orders a conversation's messages; tokens is each message's share of a
-- prompt, counted once at insert so that trimming needs no tokenizer.
CREATE TABLE IF NOT EXISTS conversation_messages (
    conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    id                TEXT NOT NULL,
    role              TEXT NOT NULL,
    content           TEXT NOT NULL,
    tokens            INTEGER NOT NULL DEFAULT 0,
    model             TEXT NOT NULL DEFAULT '',
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE IF EXISTS conversation_messages;
DROP TABLE IF EXISTS conversations;
