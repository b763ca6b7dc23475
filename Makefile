# termcall build, test and demo targets. `make deps` installs the Debian
# packages the cgo parts need (run as root, or with sudo available).
GO      ?= go
BIN     ?= termcall
PKGS    ?= ./...
APT_PKGS = libopus-dev libvpx-dev pkg-config gcc tmux sox

.PHONY: all build deps test test-short fuzz bench vet fmt clean

all: build

build:
	$(GO) build -o $(BIN) .

deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	$(GO) mod download

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# The test command the README and CI use: race detector on, every package.
test: deps vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

clean:
	rm -f $(BIN)
