package headless

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// output writes event lines to stdout. Engine handlers and the command loop
// write from different goroutines; the mutex keeps each line whole.
type output struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
	err error // the first write error; later writes are dropped
}

// write prints one line: {"event":name,"ts":unix ms, ...fields of payload}.
// payload must marshal to a JSON object (or null); its fields are flattened
// into the line, in their own order, after event and ts.
func (o *output) write(name string, ts time.Time, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	body = bytes.TrimSpace(body)
	if !bytes.Equal(body, []byte("null")) && (len(body) < 2 || body[0] != '{') {
		return fmt.Errorf("encode %s: payload %T is not an object", name, payload)
	}
	head, err := json.Marshal(name)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.buf.Reset()
	o.buf.WriteString(`{"event":`)
	o.buf.Write(head)
	fmt.Fprintf(&o.buf, `,"ts":%d`, ts.UnixMilli())
	if inner := body[1 : len(body)-1]; len(body) >= 2 && body[0] == '{' && len(bytes.TrimSpace(inner)) > 0 {
		o.buf.WriteByte(',')
		o.buf.Write(inner)
	}
	o.buf.WriteString("}\n")
	if _, err := o.w.Write(o.buf.Bytes()); err != nil {
		o.err = fmt.Errorf("write stdout: %w", err)
		return o.err
	}
	return nil
}

// failed returns the first write error, if any.
func (o *output) failed() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}
