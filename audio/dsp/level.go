package dsp

import "math"

func dbToAmp(db float64) float64 { return math.Pow(10, db/20) }

func clamp16(v float64) int16 {
	return int16(math.Round(max(-32768, min(32767, v))))
}
