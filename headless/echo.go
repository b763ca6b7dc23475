package headless

import (
	"context"
	"io"
)

// RunEcho runs an echo contact until ctx is done. opts.AutoAccept and
// opts.Media.Echo should be set (EchoCommand does).
func RunEcho(ctx context.Context, opts Options, stdout io.Writer) error {
	return Run(ctx, opts, ctxReader{ctx}, stdout)
}

// ctxReader is an input with no commands that ends when ctx is done.
type ctxReader struct{ ctx context.Context } //nolint:containedctx // an io.Reader cannot take one per call

func (r ctxReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, io.EOF
}
