// Package render turns video frames into terminal output for a pane of
// cols x rows cells: Unicode half-blocks in truecolour (default) or xterm
// 256 colours, monochrome ASCII, and sixel graphics.
//
// Cell renderers return one string per row so a TUI can place them in its
// layout; Differ turns successive frames into cursor-addressed updates of
// the changed rows only. Escape sequences are written straight into a
// reused buffer, with SGR codes only where the colour changes. Renderers
// keep buffers between calls and are not safe for concurrent use.
package render
