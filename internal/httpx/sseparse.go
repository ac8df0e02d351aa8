package httpx

import "bytes"

// SSEFrame is one event of a server-sent event stream.
type SSEFrame struct {
	Event string
	Data  []byte
}

// ParseSSE splits a whole server-sent event stream into its events (lines
// ended by \n or \r\n, data lines of one event joined by \n, comments and
// other fields ignored). An event not ended by a blank line is dropped: a
// stream cut short does not end with a whole event.
func ParseSSE(b []byte) []SSEFrame {
	var out []SSEFrame
	var cur SSEFrame
	var has bool
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break // an unfinished line
		}
		line := bytes.TrimSuffix(b[:i], []byte("\r"))
		b = b[i+1:]
		switch {
		case len(line) == 0:
			if has {
				out = append(out, cur)
			}
			cur, has = SSEFrame{}, false
		case bytes.HasPrefix(line, []byte("data:")):
			v := bytes.TrimPrefix(line[5:], []byte(" "))
			if cur.Data != nil {
				cur.Data = append(cur.Data, '\n')
			}
			cur.Data = append(cur.Data, v...)
			has = true
		case bytes.HasPrefix(line, []byte("event:")):
			cur.Event = string(bytes.TrimPrefix(line[6:], []byte(" ")))
			has = true
		}
	}
	return out
}

// AppendSSE appends one event (name may be empty) with data on one line.
func AppendSSE(b []byte, name string, data []byte) []byte {
	if name != "" {
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
