-- +goose Up
-- Teams' own provider keys (StackForDevs' "bring your own key"). The key is
-- stored sealed with AES-256-GCM; the encryption key never enters the
-- database. Deleting a team deletes its credentials.
CREATE TABLE provider_credentials (
    team_id       text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    provider_type text NOT NULL,
    ciphertext    bytea NOT NULL,
    hint          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (team_id, provider_type)
);

-- +goose Down
DROP TABLE provider_credentials;
