package apidoc

// dashboardAPI documents what the dashboard (/ui/) reads: the admin's
// views over every team, and a team key's self-service twins confined to
// its team (internal/server/selfservice.go).
func dashboardAPI() api {
	obj := S{"type": "object"}
	list := ref("List")
	usage := []param{query("team_id", "Only this team (admin; a team key: its own only)."), query("key_id", "Only this key."),
		query("project", "Only this project."), query("model", "Only this requested model."),
		query("from", "RFC 3339 time or YYYY-MM-DD (inclusive)."), query("to", "Exclusive end.")}
	series := append(append([]param{}, usage...), query("range", "24h, 7d (per hour) or 30d (per day), ending with the current bucket."),
		query("bucket", "hour or day, with from and to."), query("breakdown", "Comma-separated: model, key, project, team (admin)."),
		query("top", "Groups kept per breakdown, the rest summed as (other); default 12."))
	logs := append(append([]param{}, usage...), query("status", "ok, error, 4xx, 5xx or a status code."),
		query("cursor", "next_cursor of the previous page."), query("limit", "1 to 200, default 50."))
	page := []param{query("team_id", "Only this team (admin)."), query("after", "The last ID of the previous page."), query("limit", "1 to 100, default 20.")}
	team := []param{query("team_id", "The object's team (admin, required).")}
	e := []int{400, 401, 403}
	return api{Tag: "Dashboard", Error: "OpenAIError",
		Description: "What the dashboard at /ui/ reads: /admin/... with the admin key, any team or every team; " +
			"/v1/usage..., /v1/team... with a team's key, confined to its team.", Ops: []operation{
			{Method: "GET", Path: "/ui/", Summary: "The dashboard (HTML, CSS and JavaScript modules embedded in the binary)", Response: str("HTML page and its assets."), ResponseType: htmlType},
			{Method: "GET", Path: "/admin/usage/series", Summary: "Usage per hour or day with errors and latency p50/p95, and the range's breakdowns", Auth: "admin", Params: series, Response: obj, Errors: e},
			{Method: "GET", Path: "/admin/logs", Summary: "The request log, newest first, a bounded page at a time", Auth: "admin", Params: logs, Response: obj, Errors: e},
			{Method: "GET", Path: "/admin/batches", Summary: "Batches of both APIs with their request counts", Auth: "admin", Params: page, Response: list, Errors: e},
			{Method: "GET", Path: "/admin/batches/{id}", Summary: "One batch with its counts", Auth: "admin", Params: team, Response: obj, Errors: []int{400, 401, 404}},
			{Method: "POST", Path: "/admin/batches/{id}/cancel", Summary: "Cancel a batch", Auth: "admin", Params: team, Response: obj, Errors: []int{400, 401, 404, 409}},
			{Method: "GET", Path: "/admin/qcompletions", Summary: "Queued completions (LlmEndpoint)", Auth: "admin", Params: page, Response: list, Errors: e},
			{Method: "POST", Path: "/admin/qcompletions/{id}/cancel", Summary: "Cancel a queued completion and refund its credits", Auth: "admin", Params: team, Response: obj, Errors: []int{400, 401, 404, 409}},
			{Method: "GET", Path: "/v1/usage", Summary: "The key's team's usage totals (as /admin/usage)", Auth: "bearer", Params: append(usage, query("group_by", "model, key, project, team or day.")), Response: obj, Errors: e},
			{Method: "GET", Path: "/v1/usage/series", Summary: "The key's team's usage over time (as /admin/usage/series)", Auth: "bearer", Params: series, Response: obj, Errors: e},
			{Method: "GET", Path: "/v1/usage/logs", Summary: "The key's team's request log (as /admin/logs)", Auth: "bearer", Params: logs, Response: obj, Errors: e},
			{Method: "GET", Path: "/v1/team", Summary: "The key's team: limits, budget, keys by prefix, credit movements", Auth: "bearer", Response: obj, Errors: []int{401}},
			{Method: "GET", Path: "/v1/team/batches", Summary: "The team's batches (as /admin/batches)", Auth: "bearer", Params: page, Response: list, Errors: e},
			{Method: "GET", Path: "/v1/team/batches/{id}", Summary: "One of the team's batches", Auth: "bearer", Response: obj, Errors: []int{401, 404}},
			{Method: "POST", Path: "/v1/team/batches/{id}/cancel", Summary: "Cancel one of the team's batches", Auth: "bearer", Response: obj, Errors: []int{401, 404, 409}},
			{Method: "GET", Path: "/v1/team/qcompletions", Summary: "The team's queued completions", Auth: "bearer", Params: page, Response: list, Errors: e},
			{Method: "POST", Path: "/v1/team/qcompletions/{id}/cancel", Summary: "Cancel one of the team's queued completions (refunded)", Auth: "bearer", Response: obj, Errors: []int{401, 404, 409}},
		}}
}
