-- +goose Up
-- Teams' own provider keys (StackForDevs' "bring your own key"). The key is
-- stored sealed with AES-256-GCM; the encryption key never enters the
-- database. Deleting a team deletes its credentials.
CREATE TABLE IF NOT EXISTS provider_credentials (
    team_id       TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    provider_type TEXT NOT NULL,
    ciphertext    BLOB NOT NULL,
    hint          TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (team_id, provider_type)
);

-- +goose Down
DROP TABLE IF EXISTS provider_credentials;
