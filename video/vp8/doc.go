// Package vp8 is a thin cgo wrapper over libvpx's VP8 encoder and decoder,
// tuned for calls: realtime deadline, one thread, error resilient CBR, and
// keyframes on demand (PLI/FIR). The decoder validates every frame header
// before libvpx sees it and copies pictures out of C memory.
package vp8
