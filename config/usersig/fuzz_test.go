package usersig

import (
	"errors"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		vecASig, vecASigBuf, vecBSig, vecASig + "\n", vecASig[:50], "", "eJ", "eAE", "____",
		"eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwjDB4pTsxIKCzBQlK0MTAyiAyKRWFGQWpQLFTU1NjeCiJZm5YDEzS0tDAyOYaHFmOtBM54KsUqeUwGLLqPK8UndHryCL+Lx8+1RPy7Ty1AijMk9f30hLk0x+r3CvSFulWgAPYy/9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, sig, err := Decode(token)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Decode error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if len(sig) != sigLen {
			t.Fatalf("sig has %d bytes", len(sig))
		}
		if c.HasUserBuf != (c.UserBuf != nil) || c.Time < 0 || c.Expire < 0 {
			t.Fatalf("inconsistent claims %+v", c)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add(vecASig, vecKey, uint32(vecApp), "0", int64(vecATime))
	f.Add(vecASigBuf, vecKey, uint32(vecApp), "0", int64(vecATime+vecAExp))
	f.Add(vecBSig, vecBKey, uint32(vecBApp), vecBUser, int64(1776406932))
	f.Add(vecBSig, vecBKey, uint32(vecBApp), vecBUser, int64(1776406933))
	f.Add("eJ", "2", uint32(1), "3", int64(0))
	f.Fuzz(func(t *testing.T, token, secret string, app uint32, user string, now int64) {
		at := time.Unix(now, 0)
		c, err := Verify(token, secret, app, user, at)
		if err == nil {
			dc, sig, derr := Decode(token)
			if derr != nil || !reflect.DeepEqual(dc, c) || len(sig) != sigLen {
				t.Fatalf("Verify accepted %q but Decode = %+v, %v; Verify claims %+v", token, dc, derr, c)
			}
			if c.SDKAppID != app || c.Identifier != user || now > c.ExpiresAt() {
				t.Fatalf("Verify accepted claims %+v for app %d user %q now %d", c, app, user, now)
			}
		}

		// Whatever we generate must verify with the same inputs.
		if secret == "" || !utf8.ValidString(user) || len(user) > 1024 || now < 0 {
			return
		}
		tok, err := Generate(secret, Params{SDKAppID: app, Identifier: user, Expire: 60, Time: now, UserBuf: []byte(token[:min(len(token), 64)])})
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		gc, err := Verify(tok, secret, app, user, at)
		if err != nil {
			t.Fatalf("Verify(Generate(...)) = %v", err)
		}
		if gc.Identifier != user || gc.Time != now || gc.Expire != 60 || string(gc.UserBuf) != token[:min(len(token), 64)] {
			t.Fatalf("round trip claims %+v", gc)
		}
	})
}

// FuzzDecodeJSON reaches the JSON layer, which random tokens rarely do past
// the Adler-32 check, and checks that our zlib encoder round-trips.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"TLS.ver":"2.0","TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":15552000,"TLS.time":1569910200,"TLS.sig":"CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="}`,
		`{"TLS.ver": "2.0", "TLS.identifier": "\u5f20", "TLS.sdkappid": 1, "TLS.expire": 1, "TLS.time": 1, "TLS.userbuf": "YWJj", "TLS.sig": "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="}` + "\n",
		`{"TLS.identifier":"a\/b","TLS.sdkappid":"1","TLS.sig":null}`,
		`[]`, `null`, `{"TLS.sdkappid":1e3}`, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbb",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		z := mustCompress(t, js)
		back, err := inflate(z)
		if len(js) <= MaxInflated && (err != nil || string(back) != string(js)) {
			t.Fatalf("zlib round trip: %v", err)
		}
		c, sig, err := Decode(encodeToken(z))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Decode error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if len(sig) != sigLen || c.HasUserBuf != (c.UserBuf != nil) {
			t.Fatalf("inconsistent decode %+v %x", c, sig)
		}
	})
}
