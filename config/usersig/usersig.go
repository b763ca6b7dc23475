// Package usersig generates and verifies Tencent TLSSigAPIv2 UserSigs: an
// HMAC-SHA256 over the identity fields, carried in zlib-compressed JSON with
// a '*' '-' '_' variant of standard base64. Tokens made by any official
// generator (Node, Python, PHP, Java, C#, C++, Go) verify here, and tokens
// made here verify with them. See /work/shared/reference/usersig.md.
package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// MaxTokenLen caps the token text Decode accepts. Real tokens are a few
	// hundred bytes; a PrivateMapKey with a long room name stays well under.
	MaxTokenLen = 8 << 10
	// MaxInflated caps the inflated JSON size, against zip bombs.
	MaxInflated = 64 << 10

	version = "2.0"
	sigLen  = sha256.Size
)

// Params are the inputs of Generate.
type Params struct {
	SDKAppID   uint32
	Identifier string
	Expire     int64  // seconds of validity (a duration)
	Time       int64  // issue time, unix seconds
	UserBuf    []byte // nil = no userbuf
}

// Claims is what a token says.
type Claims struct {
	Version    string
	Identifier string
	SDKAppID   uint32
	Expire     int64
	Time       int64
	UserBuf    []byte
	HasUserBuf bool
}

// ExpiresAt is the last instant (unix seconds) at which the token is valid;
// it saturates instead of overflowing.
func (c Claims) ExpiresAt() int64 {
	if c.Expire > math.MaxInt64-c.Time {
		return math.MaxInt64
	}
	return c.Time + c.Expire
}

// Generate returns a UserSig for p signed with secret. It writes compact JSON
// in the key order of the published vectors (ver, identifier, sdkappid,
// expire, time, [userbuf], sig) at zlib level 6. The compressed bytes differ
// between zlib implementations, so tokens are compared by content, never as
// strings; the JSON inside matches the official Python/PHP generators.
func Generate(secret string, p Params) (string, error) {
	if secret == "" {
		return "", ErrEmptySecret
	}
	if p.Expire < 0 || p.Time < 0 {
		return "", fmt.Errorf("%w: negative time or expire", ErrInvalidParams)
	}
	if !utf8.ValidString(p.Identifier) {
		return "", fmt.Errorf("%w: identifier is not valid UTF-8", ErrInvalidParams)
	}
	var userBuf *string
	if p.UserBuf != nil {
		ub := base64.StdEncoding.EncodeToString(p.UserBuf)
		userBuf = &ub
	}
	sum := mac(secret, p.Identifier, uint64(p.SDKAppID), p.Time, p.Expire, userBuf)

	var b strings.Builder
	b.WriteString(`{"TLS.ver":"2.0","TLS.identifier":`)
	writeJSONString(&b, p.Identifier)
	b.WriteString(`,"TLS.sdkappid":`)
	b.WriteString(strconv.FormatUint(uint64(p.SDKAppID), 10))
	b.WriteString(`,"TLS.expire":`)
	b.WriteString(strconv.FormatInt(p.Expire, 10))
	b.WriteString(`,"TLS.time":`)
	b.WriteString(strconv.FormatInt(p.Time, 10))
	if userBuf != nil {
		b.WriteString(`,"TLS.userbuf":"`)
		b.WriteString(*userBuf)
		b.WriteByte('"')
	}
	b.WriteString(`,"TLS.sig":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(sum))
	b.WriteString(`"}`)

	z, err := compress([]byte(b.String()))
	if err != nil {
		return "", err
	}
	return encodeToken(z), nil
}

// GenerateNow is Generate with Time = now and no userbuf.
func GenerateNow(secret string, sdkAppID uint32, userID string, expire time.Duration) (string, error) {
	return Generate(secret, Params{
		SDKAppID:   sdkAppID,
		Identifier: userID,
		Expire:     int64(expire / time.Second),
		Time:       time.Now().Unix(),
	})
}

// Decode parses token without checking its signature. It returns the claims
// and the 32 HMAC bytes of TLS.sig.
func Decode(token string) (Claims, []byte, error) {
	c, sig, _, err := decode(token)
	return c, sig, err
}

// Verify checks token against the expected SDKAppID, user id and secret at
// time now, in this order: well-formed, sdkappid, identifier, HMAC, expiry.
// A token is still valid at exactly Time+Expire. Whatever was decoded is
// returned with the error, for logging. A userbuf, if present, is signed and
// checked but not interpreted; callers that care look at Claims.HasUserBuf.
func Verify(token, secret string, sdkAppID uint32, userID string, now time.Time) (Claims, error) {
	if secret == "" {
		return Claims{}, ErrEmptySecret
	}
	c, sig, rawBuf, err := decode(token)
	if err != nil {
		return c, err
	}
	if c.SDKAppID != sdkAppID {
		return c, fmt.Errorf("%w: token has %d, want %d", ErrSDKAppIDMismatch, c.SDKAppID, sdkAppID)
	}
	if c.Identifier != userID {
		return c, fmt.Errorf("%w: token has %q, want %q", ErrIdentifierMismatch, c.Identifier, userID)
	}
	want := mac(secret, c.Identifier, uint64(c.SDKAppID), c.Time, c.Expire, rawBuf)
	if !hmac.Equal(sig, want) {
		return c, ErrSigMismatch
	}
	if now.Unix() > c.ExpiresAt() {
		return c, fmt.Errorf("%w: at %s", ErrExpired, time.Unix(c.ExpiresAt(), 0).UTC().Format(time.RFC3339))
	}
	return c, nil
}

// mac computes the HMAC of §2. userBuf is the base64 text as it appears in
// the JSON (nil when the key is absent); the key is the secret's bytes, not
// hex-decoded.
func mac(secret, identifier string, sdkAppID uint64, issued, expire int64, userBuf *string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	var b []byte
	b = append(b, "TLS.identifier:"...)
	b = append(b, identifier...)
	b = append(b, "\nTLS.sdkappid:"...)
	b = strconv.AppendUint(b, sdkAppID, 10)
	b = append(b, "\nTLS.time:"...)
	b = strconv.AppendInt(b, issued, 10)
	b = append(b, "\nTLS.expire:"...)
	b = strconv.AppendInt(b, expire, 10)
	b = append(b, '\n')
	if userBuf != nil {
		b = append(b, "TLS.userbuf:"...)
		b = append(b, *userBuf...)
		b = append(b, '\n')
	}
	h.Write(b)
	return h.Sum(nil)
}

var (
	toVariant   = strings.NewReplacer("+", "*", "/", "-", "=", "_")
	fromVariant = strings.NewReplacer("*", "+", "-", "/", "_", "=")
)

func encodeToken(z []byte) string {
	return toVariant.Replace(base64.StdEncoding.EncodeToString(z))
}

// decodeToken undoes the base64 variant. It tolerates embedded whitespace,
// missing padding and literal '+' '/' '=' (which cannot clash with the
// variant alphabet).
func decodeToken(token string) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, token)
	s = strings.TrimRight(fromVariant.Replace(s), "=")
	if s == "" {
		return nil, errors.New("empty token")
	}
	if len(s)%4 == 1 {
		return nil, errors.New("bad base64 length")
	}
	if m := len(s) % 4; m != 0 {
		s += strings.Repeat("=", 4-m)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	return b, nil
}

func inflate(z []byte) ([]byte, error) {
	br := bytes.NewReader(z)
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: inflate: %w", ErrMalformed, err)
	}
	defer zr.Close()
	js, err := io.ReadAll(io.LimitReader(zr, MaxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("%w: inflate: %w", ErrMalformed, err)
	}
	if len(js) > MaxInflated {
		return nil, fmt.Errorf("%w: inflates to more than %d bytes", ErrTooLarge, MaxInflated)
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the zlib stream", ErrMalformed, br.Len())
	}
	return js, nil
}

func decode(token string) (c Claims, sig []byte, rawBuf *string, err error) {
	if len(token) > MaxTokenLen {
		return c, nil, nil, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(token), MaxTokenLen)
	}
	z, err := decodeToken(token)
	if err != nil {
		return c, nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	js, err := inflate(z)
	if err != nil {
		return c, nil, nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(js, &doc); err != nil {
		return c, nil, nil, fmt.Errorf("%w: json: %w", ErrMalformed, err)
	}
	if doc == nil {
		return c, nil, nil, fmt.Errorf("%w: json is not an object", ErrMalformed)
	}
	// field decodes one key; missing keys keep the zero value because Go
	// HEAD's omitempty drops zero time/expire/identifier from the JSON.
	field := func(key string, dst any, required bool) error {
		raw, ok := doc[key]
		if !ok {
			if required {
				return fmt.Errorf("%w: missing %s", ErrMalformed, key)
			}
			return nil
		}
		if string(raw) == "null" {
			return fmt.Errorf("%w: %s is null", ErrMalformed, key)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrMalformed, key, err)
		}
		return nil
	}
	var sigText string
	var appID uint64
	for _, f := range []struct {
		key      string
		dst      any
		required bool
	}{
		{"TLS.ver", &c.Version, false},
		{"TLS.identifier", &c.Identifier, false},
		{"TLS.sdkappid", &appID, true},
		{"TLS.time", &c.Time, false},
		{"TLS.expire", &c.Expire, false},
		{"TLS.sig", &sigText, true},
	} {
		if err := field(f.key, f.dst, f.required); err != nil {
			return c, nil, nil, err
		}
	}
	if appID > math.MaxUint32 {
		return c, nil, nil, fmt.Errorf("%w: TLS.sdkappid %d out of range", ErrMalformed, appID)
	}
	c.SDKAppID = uint32(appID)
	if c.Time < 0 || c.Expire < 0 {
		return c, nil, nil, fmt.Errorf("%w: negative TLS.time or TLS.expire", ErrMalformed)
	}
	if _, ok := doc["TLS.userbuf"]; ok {
		var ub string
		if err := field("TLS.userbuf", &ub, true); err != nil {
			return c, nil, nil, err
		}
		buf, err := base64.StdEncoding.DecodeString(ub)
		if err != nil {
			return c, nil, nil, fmt.Errorf("%w: TLS.userbuf: %w", ErrMalformed, err)
		}
		c.UserBuf, c.HasUserBuf, rawBuf = buf, true, &ub
	}
	sig, err = base64.StdEncoding.Strict().DecodeString(sigText)
	if err != nil || len(sig) != sigLen {
		return c, nil, nil, fmt.Errorf("%w: TLS.sig is not %d base64 bytes", ErrMalformed, sigLen)
	}
	return c, sig, rawBuf, nil
}

// writeJSONString writes s as JSON.stringify does: only '"', '\\' and
// control characters are escaped, everything else is raw UTF-8.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// compress is zlib (RFC 1950) at level 6, the level most generators use.
func compress(js []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, 6)
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	if _, err := zw.Write(js); err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	return buf.Bytes(), nil
}
