package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	vecKey   = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	vecApp   = 1400000000
	vecATime = 1569910200
	vecAExp  = 15552000

	vecASig    = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwjDB4pTsxIKCzBQlK0MTAyiAyKRWFGQWpQLFTU1NjeCiJZm5YDEzS0tDAyOYaHFmOtBM54KsUqeUwGLLqPK8UndHryCL-Lx8-1RPy7Ty1AijMk9f30hLk0x-r3CvSFulWgAPYy*9"
	vecASigBuf = "eJw9zEELwiAcBfDv4jmGs1lu0GkRUd0chMeWbv2zDdEZg*i7J5a92-s9eC-UnHj2VBZViGQYLWIHqcYJOoic0El9MQYkqvIC--Jd1GzAquCUUvLXCYZoq7LMMUnqnbKt78KvOB-u6Rr6AG299PTq3YP3bOvWR0HZcOO6sbMf7c5TLLXUtdgXwDbo-QEmHTZF"

	vecBKey  = "835fec65f12412ca101f2305662392384e4437d3a83a422f2f1e778a2692c002"
	vecBApp  = 1600109731
	vecBUser = "8920782a-1727-41da-8639-4868c3f2b389"
	vecBTime = 1760854932
	vecBSig  = "eJwtzc0KgkAUBeB3mW0pd*44f0K7aBFKiNJem1GGtMQGkaJ3z9Tl-Q7n3A8pkjwc7UBigiGQ-XI7Yx-e1W5hpRGkwjKgEmUQUVMGSjAdREqoG6uxYkpvvZe5l33vDImpAKCgJaNrYqfeDXZ2zjkCwKredX*TAhSPNMNtxTXz22hs0wLwmgBnpzx7pijrJj16beW7tZ6N3Xm4TJXY0exAvj8UcjcU"
)

func strp(s string) *string { return &s }

func TestMACVectors(t *testing.T) {
	tests := []struct {
		name       string
		key, id    string
		app        uint64
		tm, exp    int64
		userBuf    *string
		wantB64    string
		wantHexMAC string
	}{
		{"V1 worked example", vecKey, "xiaojun", vecApp, 1700000000, 86400, nil,
			"SNF4FmVCPucoXsBOpbVF3fFCf57JPm0ezZ1jeVILlVc=", "48d1781665423ee7285ec04ea5b545ddf1427f9ec93e6d1ecd9d6379520b9557"},
		{"vector a, no userbuf", vecKey, "0", vecApp, vecATime, vecAExp, nil,
			"CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY=", ""},
		{"vector a, userbuf abc", vecKey, "0", vecApp, vecATime, vecAExp, strp("YWJj"),
			"bC3u5cuslSg8Ds7KY58mhSkTrxunrFu50dkdkCYH4i8=", ""},
		{"vector b", vecBKey, vecBUser, vecBApp, vecBTime, vecAExp, nil,
			"4vlMT02VL053FSQoM27fgMDt9e7zlet3vmJrOxb6+1Q=", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := mac(tt.key, tt.id, tt.app, tt.tm, tt.exp, tt.userBuf)
			if got := base64.StdEncoding.EncodeToString(sum); got != tt.wantB64 {
				t.Errorf("TLS.sig = %s, want %s", got, tt.wantB64)
			}
			if tt.wantHexMAC != "" && hex.EncodeToString(sum) != tt.wantHexMAC {
				t.Errorf("HMAC hex = %x, want %s", sum, tt.wantHexMAC)
			}
		})
	}
}

func TestGenerateVectors(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		p      Params
		want   string
	}{
		{"a without userbuf", vecKey, Params{SDKAppID: vecApp, Identifier: "0", Expire: vecAExp, Time: vecATime}, vecASig},
		{"a with userbuf abc", vecKey, Params{SDKAppID: vecApp, Identifier: "0", Expire: vecAExp, Time: vecATime, UserBuf: []byte("abc")}, vecASigBuf},
		{"b real world", vecBKey, Params{SDKAppID: vecBApp, Identifier: vecBUser, Expire: vecAExp, Time: vecBTime}, vecBSig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Generate(tt.secret, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			// Same JSON inside; the compressed bytes depend on the zlib build.
			if gotJSON, wantJSON := tokenJSON(t, got), tokenJSON(t, tt.want); gotJSON != wantJSON {
				t.Fatalf("Generate JSON =\n%s\nwant\n%s", gotJSON, wantJSON)
			}
			c, err := Verify(got, tt.secret, tt.p.SDKAppID, tt.p.Identifier, time.Unix(tt.p.Time+3600, 0))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Claims{Version: "2.0", Identifier: tt.p.Identifier, SDKAppID: tt.p.SDKAppID,
				Expire: tt.p.Expire, Time: tt.p.Time, UserBuf: tt.p.UserBuf, HasUserBuf: tt.p.UserBuf != nil}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("claims = %+v, want %+v", c, want)
			}
		})
	}
}

func TestVerifyVectorTimes(t *testing.T) {
	const end = 1776406932 // vecBTime + 180 days
	tests := []struct {
		name    string
		token   string
		now     int64
		wantErr error
	}{
		{"a inside validity", vecASig, vecATime + 86400, nil},
		{"a userbuf inside validity", vecASigBuf, vecATime + 86400, nil},
		{"b just issued", vecBSig, vecBTime + 1, nil},
		{"b at exactly time+expire", vecBSig, end, nil},
		{"b one second later", vecBSig, end + 1, ErrExpired},
		{"a long ago expired", vecASig, vecATime + vecAExp + 1, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, app, user := vecKey, uint32(vecApp), "0"
			if tt.token == vecBSig {
				key, app, user = vecBKey, vecBApp, vecBUser
			}
			_, err := Verify(tt.token, key, app, user, time.Unix(tt.now, 0))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestOfficialGoCases mirrors tencentyun TLSSigAPI_test.go TestGenAndVerify.
func TestOfficialGoCases(t *testing.T) {
	now := time.Unix(1700000000, 0)
	plain, err := Generate("2", Params{SDKAppID: 1, Identifier: "3", Expire: 4, Time: now.Unix()})
	if err != nil {
		t.Fatal(err)
	}
	withBuf, err := Generate("2", Params{SDKAppID: 1, Identifier: "3", Expire: 4, Time: now.Unix(), UserBuf: []byte{5}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		key     string
		app     uint32
		user    string
		now     time.Time
		wantErr error
	}{
		{"valid", plain, "2", 1, "3", now, nil},
		{"valid with buf", withBuf, "2", 1, "3", now, nil},
		{"valid at the last second", plain, "2", 1, "3", now.Add(4 * time.Second), nil},
		{"expired", plain, "2", 1, "3", now.Add(time.Hour), ErrExpired},
		{"wrong appid", plain, "2", 2, "3", now, ErrSDKAppIDMismatch},
		{"wrong user", plain, "2", 1, "4", now, ErrIdentifierMismatch},
		{"wrong key", plain, "3", 1, "3", now, ErrSigMismatch},
		{"wrong key with buf", withBuf, "3", 1, "3", now, ErrSigMismatch},
		{"empty key", plain, "", 1, "3", now, ErrEmptySecret},
		// order: appid is checked before the user, the user before the key
		{"wrong everything", plain, "3", 2, "4", now.Add(time.Hour), ErrSDKAppIDMismatch},
		{"wrong user and key", plain, "3", 1, "4", now.Add(time.Hour), ErrIdentifierMismatch},
		{"wrong key and expired", plain, "3", 1, "3", now.Add(time.Hour), ErrSigMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Verify(tt.token, tt.key, tt.app, tt.user, tt.now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
			if err == nil && tt.token == withBuf && (!c.HasUserBuf || !bytes.Equal(c.UserBuf, []byte{5})) {
				t.Errorf("userbuf = %v (present %v), want [5]", c.UserBuf, c.HasUserBuf)
			}
		})
	}
}

func zlibLevel(t *testing.T, js []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(js); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestGeneratorLayouts builds tokens the way each official generator
// serialises them and checks that all verify.
func TestGeneratorLayouts(t *testing.T) {
	const (
		key = "layout-key"
		app = 1400000000
		tm  = 1700000000
		exp = 86400
	)
	now := time.Unix(tm+10, 0)
	sig := func(id string, ub *string) string { return b64(mac(key, id, app, tm, exp, ub)) }
	slashBuf := []byte{0xff, 0xff, 0xfe} // standard base64 "///+"
	slashB64 := b64(slashBuf)

	goHead := func(id string, ub []byte) []byte {
		// Go HEAD: struct order, json.Encoder (escapes < > &), trailing newline.
		type doc struct {
			Ver     string `json:"TLS.ver,omitempty"`
			ID      string `json:"TLS.identifier,omitempty"`
			App     uint64 `json:"TLS.sdkappid,omitempty"`
			Expire  int64  `json:"TLS.expire,omitempty"`
			Time    int64  `json:"TLS.time,omitempty"`
			UserBuf []byte `json:"TLS.userbuf,omitempty"`
			Sig     []byte `json:"TLS.sig,omitempty"`
		}
		var ubs *string
		if ub != nil {
			ubs = strp(b64(ub))
		}
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(doc{"2.0", id, app, exp, tm, ub, mac(key, id, app, tm, exp, ubs)}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	goOld := func(id string) []byte {
		m := map[string]any{"TLS.ver": "2.0", "TLS.identifier": id, "TLS.sdkappid": app,
			"TLS.expire": exp, "TLS.time": tm, "TLS.sig": sig(id, nil)}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	tests := []struct {
		name    string
		id      string
		json    string
		level   int // -2: our C-zlib level 6
		wantBuf []byte
		hasBuf  bool
		prefix  string
	}{
		{name: "node order", id: "alice", level: -2, prefix: "eJ",
			json: fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":"alice","TLS.sdkappid":%d,"TLS.time":%d,"TLS.expire":%d,"TLS.sig":"%s"}`, app, tm, exp, sig("alice", nil))},
		{name: "python spaces and \\u escapes", id: "张三", level: -2,
			json: fmt.Sprintf(`{"TLS.ver": "2.0", "TLS.identifier": "\u5f20\u4e09", "TLS.sdkappid": %d, "TLS.expire": %d, "TLS.time": %d, "TLS.sig": "%s"}`, app, exp, tm, sig("张三", nil))},
		{name: "python with userbuf", id: "bob", level: -2, wantBuf: []byte("abc"), hasBuf: true,
			json: fmt.Sprintf(`{"TLS.ver": "2.0", "TLS.identifier": "bob", "TLS.sdkappid": %d, "TLS.expire": %d, "TLS.time": %d, "TLS.userbuf": "YWJj", "TLS.sig": "%s"}`, app, exp, tm, sig("bob", strp("YWJj")))},
		{name: "php \\/ escaping", id: "a/b", level: -2, wantBuf: slashBuf, hasBuf: true,
			json: fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":"a\/b","TLS.sdkappid":%d,"TLS.expire":%d,"TLS.time":%d,"TLS.userbuf":"%s","TLS.sig":"%s"}`,
				app, exp, tm, strings.ReplaceAll(slashB64, "/", `\/`), strings.ReplaceAll(sig("a/b", &slashB64), "/", `\/`))},
		{name: "java hashmap order", id: "carol", level: -2, wantBuf: []byte("abc"), hasBuf: true,
			json: fmt.Sprintf(`{"TLS.expire":%d,"TLS.ver":"2.0","TLS.sdkappid":%d,"TLS.identifier":"carol","TLS.sig":"%s","TLS.userbuf":"YWJj","TLS.time":%d}`, exp, app, sig("carol", strp("YWJj")), tm)},
		{name: "c# order", id: "dave", level: -2, wantBuf: []byte("abc"), hasBuf: true,
			json: fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":"dave","TLS.sdkappid":%d,"TLS.expire":%d,"TLS.time":%d,"TLS.sig":"%s","TLS.userbuf":"YWJj"}`, app, exp, tm, sig("dave", strp("YWJj")))},
		{name: "c++ order at level 1", id: "erin", level: zlib.BestSpeed, prefix: "eAE",
			json: fmt.Sprintf(`{"TLS.ver":"2.0","TLS.sdkappid":%d,"TLS.identifier":"erin","TLS.time":%d,"TLS.expire":%d,"TLS.sig":"%s"}`, app, tm, exp, sig("erin", nil))},
		{name: "go HEAD stored blocks, trailing newline", id: "a<b&c>", level: zlib.NoCompression, prefix: "eAE",
			json: string(goHead("a<b&c>", nil))},
		{name: "go HEAD with userbuf", id: "frank", level: zlib.NoCompression, prefix: "eAE", wantBuf: []byte{5}, hasBuf: true,
			json: string(goHead("frank", []byte{5}))},
		{name: "go old sorted keys", id: "gina", level: zlib.DefaultCompression, prefix: "eJ", json: string(goOld("gina"))},
		{name: "empty userbuf is signed", id: "hank", level: -2, wantBuf: []byte{}, hasBuf: true,
			json: fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":"hank","TLS.sdkappid":%d,"TLS.expire":%d,"TLS.time":%d,"TLS.userbuf":"","TLS.sig":"%s"}`, app, exp, tm, sig("hank", strp("")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var z []byte
			if tt.level == -2 {
				z = mustCompress(t, []byte(tt.json))
			} else {
				z = zlibLevel(t, []byte(tt.json), tt.level)
			}
			tok := encodeToken(z)
			if tt.prefix != "" && !strings.HasPrefix(tok, tt.prefix) {
				t.Errorf("token %q does not start with %q", tok[:8], tt.prefix)
			}
			c, err := Verify(tok, key, app, tt.id, now)
			if err != nil {
				t.Fatalf("Verify: %v\njson: %s", err, tt.json)
			}
			if c.Identifier != tt.id || c.Time != tm || c.Expire != exp || c.Version != "2.0" {
				t.Errorf("claims = %+v", c)
			}
			if c.HasUserBuf != tt.hasBuf || !bytes.Equal(c.UserBuf, tt.wantBuf) {
				t.Errorf("userbuf = %v (present %v), want %v (present %v)", c.UserBuf, c.HasUserBuf, tt.wantBuf, tt.hasBuf)
			}
		})
	}

	t.Run("empty userbuf is not the same as none", func(t *testing.T) {
		js := fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":"hank","TLS.sdkappid":%d,"TLS.expire":%d,"TLS.time":%d,"TLS.userbuf":"","TLS.sig":"%s"}`, app, exp, tm, sig("hank", nil))
		_, err := Verify(encodeToken(mustCompress(t, []byte(js))), key, app, "hank", now)
		if !errors.Is(err, ErrSigMismatch) {
			t.Fatalf("Verify = %v, want ErrSigMismatch", err)
		}
	})
}

// TestTokenTolerance checks the transport forms a token may arrive in.
func TestTokenTolerance(t *testing.T) {
	std := strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(vecASigBuf)
	wrapped := ""
	for i := 0; i < len(vecASigBuf); i += 40 {
		wrapped += vecASigBuf[i:min(i+40, len(vecASigBuf))] + "\r\n"
	}
	tests := map[string]string{
		"trailing newline":          vecASigBuf + "\n",
		"surrounding spaces":        "  " + vecASigBuf + "\t ",
		"wrapped lines":             wrapped,
		"missing padding":           strings.TrimRight(vecASigBuf, "_"),
		"literal standard alphabet": std,
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Verify(tok, vecKey, vecApp, "0", time.Unix(vecATime, 0)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	tokenOf := func(js string) string { return encodeToken(mustCompress(t, []byte(js))) }
	sigA := "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="
	flip := []byte(vecASig)
	flip[40] ^= 0x01 // 'F' (or whatever) becomes another base64 character
	bomb := encodeToken(zlibLevel(t, append(bytes.Repeat([]byte(" "), 1<<20), "{}"...), zlib.BestCompression))
	urlSafe := base64.URLEncoding.EncodeToString(func() []byte { b, _ := decodeToken(vecASig); return b }())
	withTrailer := func() string { b, _ := decodeToken(vecASig); return encodeToken(append(b, 0, 1, 2)) }()

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"empty", "", ErrMalformed},
		{"flipped byte", string(flip), ErrMalformed},
		{"truncated", vecASig[:len(vecASig)/2], ErrMalformed},
		{"truncated by one quantum", vecASig[:len(vecASig)-4], ErrMalformed},
		{"bad base64 length", vecASig[:len(vecASig)-3], ErrMalformed},
		{"foreign characters", "eJ!!" + vecASig[4:], ErrMalformed},
		{"url-safe alphabet", urlSafe, ErrMalformed},
		{"not zlib", encodeToken([]byte("this is not a zlib stream at all")), ErrMalformed},
		{"raw deflate", encodeToken(mustCompress(t, []byte("{}"))[2:]), ErrMalformed},
		{"data after the zlib stream", withTrailer, ErrMalformed},
		{"zip bomb", bomb, ErrTooLarge},
		{"too long", strings.Repeat("A", MaxTokenLen+1), ErrTooLarge},
		{"json not an object", tokenOf(`["TLS.ver"]`), ErrMalformed},
		{"json null", tokenOf(`null`), ErrMalformed},
		{"json truncated", tokenOf(`{"TLS.ver":"2.0","TLS.identifier":"0"`), ErrMalformed},
		{"sdkappid as string", tokenOf(`{"TLS.ver":"2.0","TLS.identifier":"0","TLS.sdkappid":"1400000000","TLS.expire":15552000,"TLS.time":1569910200,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"sdkappid too big", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":4294967296,"TLS.expire":1,"TLS.time":1,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"sdkappid fractional", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":1.5,"TLS.expire":1,"TLS.time":1,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"missing sdkappid", tokenOf(`{"TLS.identifier":"0","TLS.expire":1,"TLS.time":1,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"missing sig", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":1}`), ErrMalformed},
		{"short sig", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":1,"TLS.sig":"YWJj"}`), ErrMalformed},
		{"sig not base64", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":1,"TLS.sig":"` + strings.Repeat("!", 44) + `"}`), ErrMalformed},
		{"negative time", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":-5,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"identifier number", tokenOf(`{"TLS.identifier":0,"TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":1,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"identifier null", tokenOf(`{"TLS.identifier":null,"TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":1,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"userbuf not base64", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":1,"TLS.userbuf":"%%%","TLS.sig":"` + sigA + `"}`), ErrMalformed},
		{"userbuf null", tokenOf(`{"TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":1,"TLS.time":1,"TLS.userbuf":null,"TLS.sig":"` + sigA + `"}`), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, derr := Decode(tt.token)
			_, err := Verify(tt.token, vecKey, vecApp, "0", time.Unix(vecATime, 0))
			if !errors.Is(err, tt.wantErr) || !errors.Is(derr, tt.wantErr) {
				t.Fatalf("Verify = %v, Decode = %v, want %v", err, derr, tt.wantErr)
			}
			if strings.TrimSpace(strings.TrimPrefix(err.Error(), tt.wantErr.Error())) == "" && tt.name != "empty" {
				t.Errorf("error %q carries no detail", err)
			}
		})
	}
}

// TestFlipEveryByte flips each character of a valid token: every variant
// must be rejected (or, rarely, decode to the very same claims) without panic.
func TestFlipEveryByte(t *testing.T) {
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-"
	orig, err := Verify(vecASigBuf, vecKey, vecApp, "0", time.Unix(vecATime, 0))
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for i := 0; i < len(vecASigBuf); i++ {
		b := []byte(vecASigBuf)
		if b[i] == '_' {
			continue
		}
		b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%64]
		c, err := Verify(string(b), vecKey, vecApp, "0", time.Unix(vecATime, 0))
		if err == nil {
			// Only the unused padding bits of deflate's last byte may change
			// without effect; the content must then be identical.
			accepted++
			if !reflect.DeepEqual(c, orig) {
				t.Errorf("flipping char %d verifies with different claims %+v", i, c)
			}
		}
	}
	if accepted > 2 {
		t.Errorf("%d single-character flips still verify", accepted)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		p       Params
		wantErr error
	}{
		{"empty secret", "", Params{SDKAppID: 1, Identifier: "a", Expire: 1}, ErrEmptySecret},
		{"negative expire", "k", Params{SDKAppID: 1, Identifier: "a", Expire: -1}, ErrInvalidParams},
		{"negative time", "k", Params{SDKAppID: 1, Identifier: "a", Expire: 1, Time: -1}, ErrInvalidParams},
		{"invalid utf-8", "k", Params{SDKAppID: 1, Identifier: "a\xff", Expire: 1}, ErrInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Generate(tt.secret, tt.p); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Generate = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestGenerateNowRoundTrip(t *testing.T) {
	tok, err := GenerateNow("secret", 1400000000, "user_1", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(tok, "secret", 1400000000, "user_1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Expire != 86400 || time.Since(time.Unix(c.Time, 0)) > time.Minute {
		t.Errorf("claims = %+v", c)
	}
	// Escaped identifiers and a large userbuf (beyond the exact-zlib path).
	big := bytes.Repeat([]byte("0123456789abcdef"), 1500)
	for _, id := range []string{"quote\"back\\slash", "ctl\x01\n\t", "uni\u2028ü"} {
		tok, err := Generate("s", Params{SDKAppID: 7, Identifier: id, Expire: 10, Time: 100, UserBuf: big})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Verify(tok, "s", 7, id, time.Unix(110, 0))
		if err != nil || !bytes.Equal(c.UserBuf, big) {
			t.Fatalf("%q: Verify = %v", id, err)
		}
	}
}

// TestExpiryOverflow: time+expire beyond int64 never wraps into "expired".
func TestExpiryOverflow(t *testing.T) {
	const maxInt = int64(^uint64(0) >> 1)
	tok, err := Generate("k", Params{SDKAppID: 1, Identifier: "a", Expire: maxInt, Time: maxInt - 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, "k", 1, "a", time.Unix(1<<40, 0)); err != nil {
		t.Fatalf("Verify = %v", err)
	}
}

func tokenJSON(t *testing.T, token string) string {
	t.Helper()
	raw, err := decodeToken(token)
	if err != nil {
		t.Fatalf("decode %q: %v", token, err)
	}
	js, err := inflate(raw)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return string(js)
}

func mustCompress(t testing.TB, js []byte) []byte {
	t.Helper()
	z, err := compress(js)
	if err != nil {
		t.Fatal(err)
	}
	return z
}
