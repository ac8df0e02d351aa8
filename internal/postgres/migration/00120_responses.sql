-- +goose Up
-- Stored responses of the Responses API (issue 14): one row per response a
-- team created with store (the default), as the dialect's JSON document
-- (the response object and the conversation it ended as input items),
-- read back by GET /v1/responses/{id}, input_items and
-- previous_response_id. Another team's id is not found.
CREATE TABLE responses (
    team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, id)
);

-- +goose Down
DROP TABLE responses;
