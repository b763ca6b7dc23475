package render

// Differ remembers the rows last drawn and emits only the rows that
// changed, each prefixed with a cursor move (CUP). Use it when drawing
// video straight to the terminal instead of through a line-based layout.
type Differ struct {
	prev []string
	buf  []byte
}

// Diff returns the bytes that redraw the changed rows of lines, for a
// pane whose top-left cell is at 1-based (row, col). It returns nothing
// when no row changed. The returned slice is reused by the next call.
func (d *Differ) Diff(lines []string, row, col int) []byte {
	d.buf = d.buf[:0]
	if len(lines) != len(d.prev) {
		d.prev = make([]string, len(lines))
		for i := range d.prev {
			d.prev[i] = "\x00" // never equal to a rendered row
		}
	}
	for i, l := range lines {
		if l == d.prev[i] {
			continue
		}
		d.buf = append(d.buf, "\x1b["...)
		d.buf = appendUint(d.buf, row+i)
		d.buf = append(d.buf, ';')
		d.buf = appendUint(d.buf, col)
		d.buf = append(d.buf, 'H')
		d.buf = append(d.buf, l...)
		d.prev[i] = l
	}
	return d.buf
}

// Changed reports which rows differ from the previous call and records
// lines as the new state, for callers that place rows themselves.
func (d *Differ) Changed(lines []string) []int {
	var idx []int
	if len(lines) != len(d.prev) {
		d.prev = make([]string, len(lines))
		for i := range d.prev {
			d.prev[i] = "\x00"
		}
	}
	for i, l := range lines {
		if l != d.prev[i] {
			idx = append(idx, i)
			d.prev[i] = l
		}
	}
	return idx
}

// Reset forgets the previous rows, so the next call redraws everything
// (after a resize or a full-screen clear).
func (d *Differ) Reset() { d.prev = nil }
