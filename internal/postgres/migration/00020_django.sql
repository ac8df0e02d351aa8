-- +goose Up
-- Users of the Django LLM Service API. The id is an integer like Django's
-- auth_user.id, because it travels as the user_id claim of tokens. A user
-- lives and dies with its personal team (and the key inside it): deleting
-- the team through the admin API deletes the user, so no token can outlive
-- what it stands for.
CREATE TABLE django_users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Compared exactly, as Django's auth_user.username is. The constraint's
    -- name is how CreateDjangoUser tells a taken username from a taken team.
    username      text NOT NULL CONSTRAINT django_users_username_key UNIQUE,
    password_hash text NOT NULL,
    team_id       text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    key_id        text NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL
);
-- Serve the cascades when a team or a key is deleted.
CREATE INDEX django_users_team_id ON django_users (team_id);
CREATE INDEX django_users_key_id ON django_users (key_id);

-- +goose Down
DROP TABLE django_users;
