// Package video holds termcall's raw video building blocks: the I420 Frame,
// frame sources (test pattern, Y4M file), frame sinks (PNG directory, null),
// the --video-in/--video-out flag syntax, and checkers that later tests use
// to recognise a decoded test pattern.
//
// Sources use a pull model: ReadFrame returns the next frame at once and does
// not sleep. The caller paces capture with its own ticker at Config.FPS, so
// one clock drives capture, encode and send, and tests run without waiting.
package video
