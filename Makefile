# termcall build, test and demo targets. `make deps` installs the Debian
# packages the cgo parts need and Chromium (run as root, or with sudo
# available), the nats-server the cluster tests run, and playwright-core
# (npm, in e2e/browser; Debian's npm if there is no npm) that drives
# Chromium in the browser tests.
GO      ?= go
BIN     ?= termcall
PKGS    ?= ./...
APT_PKGS = libopus-dev libvpx-dev libwebrtc-audio-processing-dev pkg-config g++ gcc tmux iptables iproute2 chromium
FUZZTIME ?= 30s
# The nats-server the cluster tests run (the version go.mod embeds).
NATS_VERSION ?= v2.15.3

.PHONY: all build deps demo test test-short fuzz bench vet clean

all: build

build:
	$(GO) build -o $(BIN) .

# A real call on this machine: embedded server, echo contact, the TUI.
demo: deps build
	./$(BIN) demo

deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	$(GO) mod download
	@command -v nats-server >/dev/null 2>&1 || test -x "$$($(GO) env GOPATH)/bin/nats-server" || { \
		echo "installing nats-server $(NATS_VERSION)"; \
		$(GO) install github.com/nats-io/nats-server/v2@$(NATS_VERSION); }
# Debian's npm only when there is none: node may come from elsewhere.
	@test -d e2e/browser/node_modules/playwright-core || { \
		command -v npm >/dev/null 2>&1 || { \
			echo "installing: npm"; \
			SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm || exit 1; }; \
		npm ci --prefix e2e/browser --no-audit --no-fund; }

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# The test command the README and CI use: race detector on, every package.
test: deps vet
	GORACE=atexit_sleep_ms=50 $(GO) test -race -count=1 -parallel 3 -timeout 15m $(PKGS)

# Speed on this machine: call setup, one-way audio latency and CPU per
# client (termcall bench), then the codec and jitter buffer benchmarks.
bench: build
	./$(BIN) bench $(BENCH_ARGS)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./audio/... ./video/...

# Each fuzz target for FUZZTIME (the seed corpora also run in `make test`).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./server/proto
	$(GO) test -run '^$$' -fuzz '^FuzzHandleFrame$$' -fuzztime $(FUZZTIME) ./server
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./config/usersig
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./config/usersig
	$(GO) test -run '^$$' -fuzz '^FuzzOpusDecode$$' -fuzztime $(FUZZTIME) ./audio/opus
	$(GO) test -run '^$$' -fuzz '^FuzzJitterBuffer$$' -fuzztime $(FUZZTIME) ./audio/jitter
	$(GO) test -run '^$$' -fuzz '^FuzzVP8Decode$$' -fuzztime $(FUZZTIME) ./video/vp8

test-short:
	$(GO) test -short -count=1 $(PKGS)

clean:
	rm -f $(BIN)
