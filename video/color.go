package video

// BT.601 limited-range conversion in 8-bit fixed point: what VP8 encoders
// and decoders assume for I420.

// RGBToYUV converts one RGB pixel to Y, U, V.
func RGBToYUV(r, g, b uint8) (y, u, v uint8) {
	R, G, B := int(r), int(g), int(b)
	return lumaOf(R, G, B),
		clamp8(((-38*R - 74*G + 112*B + 128) >> 8) + 128),
		clamp8(((112*R - 94*G - 18*B + 128) >> 8) + 128)
}

func lumaOf(r, g, b int) uint8 {
	return clamp8(((66*r + 129*g + 25*b + 128) >> 8) + 16)
}

// YUVToRGB converts one Y, U, V sample triple to RGB.
func YUVToRGB(y, u, v uint8) (r, g, b uint8) {
	c := 298 * (int(y) - 16)
	d := int(u) - 128
	e := int(v) - 128
	return clamp8((c + 409*e + 128) >> 8),
		clamp8((c - 100*d - 208*e + 128) >> 8),
		clamp8((c + 516*d + 128) >> 8)
}

func clamp8(x int) uint8 {
	if x < 0 {
		return 0
	}
	if x > 255 {
		return 255
	}
	return uint8(x)
}
