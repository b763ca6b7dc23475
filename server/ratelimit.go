package server

import "time"

// tokenBucket is a per-connection rate limiter. It is used by the reader
// goroutine only, so it needs no lock.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int, now time.Time) tokenBucket {
	return tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// allow takes one token if there is one.
func (b *tokenBucket) allow(now time.Time) bool {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// wait is how long until allow can take a token.
func (b *tokenBucket) wait(now time.Time) time.Duration {
	missing := 1 - b.tokens - now.Sub(b.last).Seconds()*b.rate
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / b.rate * float64(time.Second))
}

// waitEndToken blocks the reader until the ending-requests bucket has a
// token and takes it. It reports false if the connection closes first.
// The wait runs on the server's clock, as the refills do.
func (c *conn) waitEndToken() bool {
	for {
		now := c.s.now()
		if c.endLimiter.allow(now) {
			return true
		}
		refilled := make(chan struct{})
		t := c.s.clock.AfterFunc(c.endLimiter.wait(now), func() { close(refilled) })
		select {
		case <-c.done:
			t.Stop()
			return false
		case <-refilled:
		}
	}
}
