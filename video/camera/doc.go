// Package camera captures video from a V4L2 device (Linux) as I420
// frames. Only the YUYV (4:2:2 packed) format is supported: it is what
// almost every UVC webcam offers uncompressed, and converting it needs no
// decoder. Wire it into video.OpenInput with video.WithCamera(camera.Opener).
package camera
