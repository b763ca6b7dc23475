package rtc

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// nackCounter counts the NACKs a mesh sends, by the media SSRC they ask
// about. pion's stats interceptor sits outside the NACK generator in the
// chain and never sees them, so this one is registered first (innermost).
type nackCounter struct {
	interceptor.NoOp
	mu   sync.Mutex
	sent map[uint32]uint64
}

func newNACKCounter() *nackCounter { return &nackCounter{sent: map[uint32]uint64{}} }

// NewInterceptor implements interceptor.Factory: every peer connection
// shares the counter.
func (c *nackCounter) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

// BindRTCPWriter counts outgoing NACKs.
func (c *nackCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, attrs interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok {
				c.mu.Lock()
				c.sent[n.MediaSSRC]++
				c.mu.Unlock()
			}
		}
		return w.Write(pkts, attrs)
	})
}

// Close implements interceptor.Interceptor; the counter outlives each
// peer connection.
func (c *nackCounter) Close() error { return nil }

func (c *nackCounter) count(ssrc uint32) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[ssrc]
}

// NACKsSent returns how many NACK packets the mesh sent about the remote
// stream ssrc.
func (m *Mesh) NACKsSent(ssrc uint32) uint64 { return m.nacks.count(ssrc) }
