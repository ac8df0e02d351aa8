-- +goose Up
-- Athena's persisted conversations. Deleting a team deletes its
-- conversations (as it deletes its keys); deleting a conversation deletes
-- its messages.
CREATE TABLE conversations (
    id             text PRIMARY KEY,
    team_id        text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    key_id         text NOT NULL DEFAULT '',
    model          text NOT NULL,
    system_message text NOT NULL DEFAULT '',
    metadata       text NOT NULL DEFAULT '{}',
    message_count  bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- Lists are per team, newest first, and page by (created_at, id); the index
-- also serves the cascade when a team is deleted.
CREATE INDEX conversations_team_created ON conversations (team_id, created_at, id);

-- seq orders a conversation's messages; tokens is each message's share of a
-- prompt, counted once at insert so that trimming needs no tokenizer.
CREATE TABLE conversation_messages (
    conversation_id   text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq               bigint NOT NULL,
    id                text NOT NULL,
    role              text NOT NULL,
    content           text NOT NULL,
    tokens            bigint NOT NULL DEFAULT 0,
    model             text NOT NULL DEFAULT '',
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- +goose Down
DROP TABLE conversation_messages;
DROP TABLE conversations;
