package cli

import (
	"fmt"
	"net/url"
	"time"
)

type batch struct {
	ID     string `json:"id"`
	TeamID string `json:"team_id"`
	API    string `json:"api"`
	Status string `json:"status"`
	Total  int    `json:"total"`
	Counts struct {
		Queued    int `json:"queued"`
		Running   int `json:"running"`
		Succeeded int `json:"succeeded"`
		Failed    int `json:"failed"`
		Cancelled int `json:"cancelled"`
	} `json:"counts"`
	CreatedAt time.Time `json:"created_at"`
}

func (b *batch) done() int { return b.Counts.Succeeded + b.Counts.Failed + b.Counts.Cancelled }

func (b *batch) open() bool {
	switch b.Status {
	case "validating", "in_progress", "finalizing", "cancelling":
		return true
	}
	return false
}

func batches(e *env, sub string, args []string) error {
	fs := e.flags("batches " + sub)
	team := fs.String("team", "", "the batch's team")
	switch sub {
	case "list", "":
		if _, err := parse(fs, args); err != nil {
			return err
		}
		var out struct{ Data []batch }
		path := "/admin/batches"
		if *team != "" {
			path += "?team_id=" + url.QueryEscape(*team)
		}
		raw, err := e.call("GET", path, nil, &out)
		if err != nil {
			return err
		}
		return e.show(raw, func() {
			var rows [][]string
			for _, b := range out.Data {
				rows = append(rows, []string{b.ID, b.TeamID, b.API, b.Status, progress(b.done(), b.Total), fmt.Sprint(b.Counts.Succeeded),
					fmt.Sprint(b.Counts.Failed), fmt.Sprint(b.Counts.Cancelled), when(b.CreatedAt)})
			}
			table(e.out, []string{"BATCH", "TEAM", "API", "STATUS", "PROGRESS", "OK", "FAILED", "CANCELLED", "CREATED"}, rows)
		})
	case "cancel", "wait":
		every := fs.Duration("every", 2*time.Second, "how often wait looks")
		pos, err := parse(fs, args, "ID")
		if err != nil {
			return err
		}
		if *team == "" {
			return usageErr("batches %s wants --team", sub)
		}
		path := "/admin/batches/" + url.PathEscape(pos[0])
		q := "?team_id=" + url.QueryEscape(*team)
		if sub == "cancel" {
			var b batch
			raw, err := e.call("POST", path+"/cancel"+q, nil, &b)
			if err != nil {
				return err
			}
			return e.show(raw, func() { fmt.Fprintf(e.out, "batch %s is %s (%s)\n", b.ID, b.Status, progress(b.done(), b.Total)) })
		}
		return wait(e, path+q, *every)
	}
	return usageErr("unknown command: batches %s", sub)
}

// wait follows a batch until it ends, showing its progress: redrawn in
// place on a terminal, a line per change elsewhere (logs, pipes).
func wait(e *env, path string, every time.Duration) error {
	last := ""
	for {
		var b batch
		raw, err := e.call("GET", path, nil, &b)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %s %s, %d failed", b.ID, b.Status, progress(b.done(), b.Total), b.Counts.Failed)
		if !b.open() {
			if e.json {
				return e.show(raw, nil)
			}
			if e.isTerm {
				fmt.Fprintf(e.out, "\r%s\n", line)
			} else {
				fmt.Fprintln(e.out, line)
			}
			return nil
		}
		if !e.json && line != last {
			if e.isTerm {
				fmt.Fprintf(e.out, "\r%s", line)
			} else {
				fmt.Fprintln(e.out, line)
			}
			last = line
		}
		if err := e.sleep(e.ctx, every); err != nil {
			return err
		}
	}
}
