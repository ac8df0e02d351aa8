-- +goose Up
-- Users of the Django LLM Service API. The id is an integer like Django's
-- auth_user.id, because it travels as the user_id claim of tokens. A user
-- lives and dies with its personal team (and the key inside it): deleting
-- the team through the admin API deletes the user, so no token can outlive
-- what it stands for.
CREATE TABLE IF NOT EXISTS django_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Compared exactly (BINARY), as Django's auth_user.username is.
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    team_id       TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    key_id        TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS django_users_team_id ON django_users (team_id);

-- +goose Down
DROP TABLE IF EXISTS django_users;
