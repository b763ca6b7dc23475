package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/config/usersig"
)

// The browser side of the end-to-end tests: Debian's Chromium, driven by
// playwright-core (e2e/browser, installed by `make deps`) through
// browser/bridge.mjs, which speaks the headless client's line protocol. A
// browser is a *client: its page's events are Expect-ed like a terminal
// client's, and Eval, Click and Fill drive it.

// browserOpts adjust the page a browser opens.
type browserOpts struct {
	path    string            // the page on the server (default "/")
	blank   bool              // path is an empty page of the server's origin (the SDK tests)
	origin  string            // with blank: the page's origin instead (http://host:port)
	fulfill map[string]string // URL path -> local file served there
}

// pageURL is the http URL of path on s.
func (s *server) pageURL(path string) string {
	return s.origin() + path
}

// origin is s's http origin, http://127.0.0.1:port.
func (s *server) origin() string {
	return "http://" + strings.TrimSuffix(strings.TrimPrefix(s.URL, "ws://"), "/ws")
}

// startBrowser opens a Chromium page on s. It ends with the test; events
// PAGE_ERROR (an uncaught exception in the page) fail it.
// browserStart bounds Chromium's start and the page's load.
const browserStart = 30 * time.Second

func (s *server) startBrowser(t *testing.T, name string, o browserOpts) *client {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("no node on PATH: %v", err)
	}
	bridge, err := filepath.Abs(filepath.Join("browser", "bridge.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("browser", "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in e2e/browser (make deps installs it): %v", err)
	}
	if o.path == "" {
		o.path = "/"
	}
	url := s.pageURL(o.path)
	if o.origin != "" {
		url = o.origin + o.path
	}
	args := []string{bridge, "--url", url}
	if o.blank {
		args = append(args, "--blank", o.path)
	}
	if o.origin != "" {
		args = append(args, "--script-origin", s.origin())
	}
	for p, f := range o.fulfill {
		args = append(args, "--fulfill", p+"="+f)
	}
	c := &client{user: "browser " + name, changed: make(chan struct{})}
	c.p = startProc(t, "browser "+name, node, &lineWriter{fn: c.addLine}, true, args...)
	c.stdin = c.p.stdin
	c.endWithTest(t, 0, func() { t.Logf("%s console:\n%s", c.user, tail(c.p.stderr.String(), 8000)) })
	t.Cleanup(func() {
		for _, ev := range c.eventsNamed("PAGE_ERROR") {
			t.Errorf("%s: uncaught error in the page: %v", c.user, ev["message"])
		}
	})
	// Starting Chromium is no claim of ours: on a loaded two-core machine
	// it has taken more than 10 s.
	c.Expect(t, "PAGE_READY", browserStart, nil)
	return c
}

// command sends one command to the bridge and returns its REPLY's value.
func (c *client) command(t *testing.T, cmd map[string]any, d time.Duration) any {
	t.Helper()
	id := c.nextID.Add(1)
	cmd["id"] = id
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	c.Send(t, string(b))
	ev := c.Expect(t, "REPLY", d, func(ev event) bool { return int64(num(ev, "id")) == id })
	if msg, ok := ev["error"].(string); ok {
		t.Fatalf("%s: %v failed: %s", c.user, cmd, msg)
	}
	return ev["value"]
}

// Eval runs js (the body of an async function) in the page and returns
// what it returns, as JSON decodes it.
func (c *client) Eval(t *testing.T, js string) any {
	t.Helper()
	return c.command(t, map[string]any{"eval": js}, waitLong)
}

// EvalErr runs js and returns the message it failed with ("" if it did not).
func (c *client) EvalErr(t *testing.T, js string) string {
	t.Helper()
	id := c.nextID.Add(1)
	b, _ := json.Marshal(map[string]any{"id": id, "eval": js})
	c.Send(t, string(b))
	ev := c.Expect(t, "REPLY", waitLong, func(ev event) bool { return int64(num(ev, "id")) == id })
	msg, _ := ev["error"].(string)
	return msg
}

// Click clicks the element sel matches.
func (c *client) Click(t *testing.T, sel string) {
	t.Helper()
	c.command(t, map[string]any{"click": sel}, waitLong)
}

// Fill types text into the input sel matches.
func (c *client) Fill(t *testing.T, sel, text string) {
	t.Helper()
	c.command(t, map[string]any{"fill": []string{sel, text}}, waitLong)
}

// Screenshot saves the page as a PNG at path.
func (c *client) Screenshot(t *testing.T, path string) {
	t.Helper()
	c.command(t, map[string]any{"screenshot": path}, waitLong)
}

// browserSig is a userSig for user, signed with the test server's key.
func browserSig(t *testing.T, user string) string {
	t.Helper()
	sig, err := usersig.GenerateNow(testSecret, 1400000000, user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// sdkPage is where an SDK test's page comes from and how it creates the SDK.
type sdkPage struct {
	origin string // the page's origin ("": the server's); the SDK is imported from the server
	server string // new TRTCCalling's server option ("": none)
	before string // JS run in the page before the SDK is imported
}

// sdkBrowser opens an empty page of s, imports the SDK from s, creates
// window.tc = new TRTCCalling({SDKAppID}) with every event forwarded under
// its TRTCCalling.EVENT name (INVITED, USER_ENTER, ...; the payload's
// fields beside "event"), logs user in and waits for SDK_READY.
func (s *server) sdkBrowser(t *testing.T, user string) *client {
	t.Helper()
	return s.sdkBrowserOn(t, user, sdkPage{})
}

// sdkBrowserOn is sdkBrowser with the page and the SDK's options of p.
func (s *server) sdkBrowserOn(t *testing.T, user string, p sdkPage) *client {
	t.Helper()
	b := s.startBrowser(t, user, browserOpts{path: "/e2e.html", blank: true, origin: p.origin})
	opts := fmt.Sprintf("{ SDKAppID: %s }", testSDKAppID)
	if p.server != "" {
		opts = fmt.Sprintf("{ SDKAppID: %s, server: %q }", testSDKAppID, p.server)
	}
	if p.before != "" {
		b.Eval(t, p.before)
	}
	b.Eval(t, fmt.Sprintf(`
		const { default: TRTCCalling } = await import(%[1]q);
		window.TRTCCalling = TRTCCalling;
		const tc = new TRTCCalling(%[2]s);
		window.tc = tc;
		const seen = new Set();
		for (const [name, value] of Object.entries(TRTCCalling.EVENT)) {
			if (seen.has(value)) continue; // CALL_END and CALLING_END share 'onCallEnd'
			seen.add(value);
			tc.on(value, (payload) => window.__termcallEmit({ ...(payload || {}), event: name }));
		}
		await tc.login({ userID: %[3]q, userSig: %[4]q });`, s.origin()+"/sdk/trtc-calling.js", opts, user, browserSig(t, user)))
	b.Expect(t, "SDK_READY", waitLong, nil)
	return b
}
