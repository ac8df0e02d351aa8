package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// table prints rows under a header, columns aligned.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// barWidth is the longest bar of a text chart.
const barWidth = 40

// barChart prints one bar per label, scaled to the largest value:
//
//	gpt-4o-mini  ████████████████████████████████████████ 318
//	claude       ███████████████████████▌                 187
func barChart(w io.Writer, title string, labels []string, values []float64, format func(float64) string) {
	fmt.Fprintln(w, title)
	width, top := 0, 0.0
	for i, l := range labels {
		width = max(width, utf8.RuneCountInString(l))
		top = max(top, values[i])
	}
	for i, l := range labels {
		fmt.Fprintf(w, "  %-*s %-*s %s\n", width, l, barWidth, bar(values[i], top), format(values[i]))
	}
}

// bar draws v of top in eighths of a block.
func bar(v, top float64) string {
	if top <= 0 || v <= 0 {
		return ""
	}
	eighths := max(int(v/top*barWidth*8+0.5), 1) // a non-zero value shows
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return s
}

// progress draws done of total as a bar of width cells with a count.
func progress(done, total int) string {
	const width = 30
	if total <= 0 {
		total = 1
	}
	n := min(done*width/total, width)
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
}

func intOr(v int64, none string) string {
	if v == 0 {
		return none
	}
	return group(v)
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func usd(v float64) string {
	if v != 0 && v < 0.01 && v > -0.01 {
		return fmt.Sprintf("$%.6f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
